"""`gbsmart ssi home` and `gbsmart ssi features ...`: a DCC User's service at a glance and the feature switches, as
a named person (``--as``) or, for the switches, as the DCC's operator (no ``--as``). Same service as the portal."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors
from gbsmart.ssi import features, home

features_app = typer.Typer(help="Switch Self-Service Interface features on per Party (early access) or for all.",
                           no_args_is_help=True)


def home_cmd(acting_as: str = typer.Option(..., "--as", help="The username acting (see `gbsmart parties people`)."),
             organisation: int = typer.Option(None, help="staff only: one organisation's number"),
             as_json: bool = typer.Option(False, "--json", help="print the JSON the API answers")) -> None:
    """USER's organisation's service today: requests, quarantine, alerts, backlog, incidents, CPMs, Service Alerts."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        g = home.glance(ctx, organisation)
        now = ctx.clock.now()
        if as_json:
            console.print_json(json.dumps(home.as_dict(g, now)))
            return
        who = g.organisation.name if g.organisation else "every DCC User"
        t = Table(title=f"{escape(who)}: today since {g.day_start:%d %b %Y %H:%M} UTC", show_header=False)
        t.add_column("what")
        t.add_column("figure", justify="right")
        t.add_row("requests", f"{g.requests_today:,} ({g.accepted_today:,} taken, {g.refused_today:,} refused)")
        for code, n in g.refused_by_code:
            t.add_row(f"  refused {code}", f"{n:,}")
        t.add_row("quarantined requests held", f"{g.quarantined_held:,}")
        t.add_row("alerts for you today", f"{g.alerts_received_today:,} ({g.alerts_delivered_today:,} delivered)")
        t.add_row("waiting in the northbound cache", f"{g.waiting:,}")
        t.add_row("device responses not yet delivered", f"{g.responses_undelivered:,}")
        t.add_row("open incidents", str(g.incidents_open))
        console.print(t)
        if g.incidents:
            it = Table(title="Open incidents, least time left first")
            for col in ("incident", "category", "status", "time left"):
                it.add_column(col)
            for r in g.incidents:
                it.add_row(r.incident.reference, str(r.incident.category), r.incident.status, r.left_text)
            console.print(it)
        ct = Table(title=f"Code Performance Measures, {g.month:%B %Y} so far")
        for col in ("measure", "this month", "met / counted", "standing"):
            ct.add_column(col)
        for f in g.figures:
            ct.add_row(f.level.code, f.share_text, f"{f.met:,} / {f.counted:,}", f.standing)
        console.print(ct)
        for b in g.broadcasts:
            console.print(f"[bold]Service Alert[/bold] ({escape(b.severity)}): {escape(b.title)}: {escape(b.body)}")


@features_app.command("list")
def features_list(acting_as: str = typer.Option(None, "--as", help="a DCC or Code Administrator username; "
                                                "default: the DCC's operator")) -> None:
    """Every feature and whom it is on for."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        t = Table(title="Self-Service Interface features")
        for col in ("feature", "title", "on for"):
            t.add_column(col, overflow="fold")
        for s in features.states(ctx):
            on = ["all Parties"] if s.for_all else []
            on += [name for _, name in s.parties]
            t.add_row(s.feature.name, s.feature.title, escape(", ".join(on) or "nobody yet"))
        console.print(t)


def _change(action: str, name: str, organisation: int | None, for_all: bool, acting_as: str | None) -> None:
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        change = features.enable if action == "enable" else features.disable
        changed = change(ctx, name, organisation, for_all=for_all)
        whom = "all Parties" if for_all else f"organisation {organisation}"
        verb = "on" if action == "enable" else "off"
        console.print(f"{name} switched {verb} for {whom}" if changed else f"{name} already was {verb} for {whom}")


ORG = typer.Option(None, "--party", help="the organisation's number (see `gbsmart parties list`)")
ALL = typer.Option(False, "--all", help="for every Party")
AS = typer.Option(None, "--as", help="a DCC or Code Administrator username; default: the DCC's operator")


@features_app.command("enable")
def features_enable(name: str, organisation: int = ORG, for_all: bool = ALL, acting_as: str = AS) -> None:
    """Switch feature NAME on for one Party (--party N) or for all (--all)."""
    _change("enable", name, organisation, for_all, acting_as)


@features_app.command("disable")
def features_disable(name: str, organisation: int = ORG, for_all: bool = ALL, acting_as: str = AS) -> None:
    """Switch feature NAME off for one Party (--party N), or take away the switch for all (--all)."""
    _change("disable", name, organisation, for_all, acting_as)


def register(app: typer.Typer) -> None:
    """Add ``home`` and ``features`` to the ``gbsmart ssi`` command group."""
    app.command("home")(home_cmd)
    app.add_typer(features_app, name="features")
