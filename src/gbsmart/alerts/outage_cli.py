"""`gbsmart alerts outages` and `gbsmart alerts breaches`: the power outage rule's state and the deadlines missed
(docs/alerts.md, "Power outages and deadlines")."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.alerts.enums import OutageState
from gbsmart.core.cli_support import cli_ctx, console, fail, friendly_errors
from gbsmart.core.clock import utc

app = typer.Typer(help="Alerts: power outages and their AD1s, deadline breaches.", no_args_is_help=True)


def _when(at: datetime | None) -> str:
    moment = utc(at)
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


@app.command("outages")
def outages(
    state: str | None = typer.Option(None, help="Only this state: " + ", ".join(s.value for s in OutageState)),
    hub: str | None = typer.Option(None, "--hub", help="Only this Communications Hub (Device ID)."),
    limit: int = typer.Option(50, min=1, max=100_000, help="Most power losses listed (latest first)."),
) -> None:
    """List Communications Hubs' power losses: state, scope, when lost, when the AD1 was due and delivered."""
    from gbsmart.alerts.outage import is_late, recent_outages

    chosen = None
    if state is not None:
        try:
            chosen = OutageState(state.strip().lower())
        except ValueError:
            fail(f"--state {state!r} is not a state: use one of {', '.join(s.value for s in OutageState)}")
    with friendly_errors(), cli_ctx() as ctx:
        rows = recent_outages(ctx.session, state=chosen, hub=hub, limit=limit)
        table = Table(title=f"{len(rows)} power loss(es), latest first")
        for col in ("hub", "MPAN", "distributor", "state", "scope", "lost", "AD1 due", "AD1 delivered", "late?"):
            table.add_column(col, overflow="fold")
        for r in rows:
            late = is_late(r)
            table.add_row(r.comms_hub_id, r.mpxn or "—", r.distributor or "—", OutageState(r.state).label,
                          r.scope or "—", _when(r.lost_at),
                          _when(r.ad1_due_at) if r.state != OutageState.RESTORED_EARLY.value else "—",
                          _when(r.ad1_delivered_at),
                          "—" if late is None else ("[red]late[/]" if late else "[green]in time[/]"))
        console.print(table)


@app.command("breaches")
def breaches(
    user_id: str | None = typer.Option(None, "--user", help="Only this DCC User ID's."),
    limit: int = typer.Option(50, min=1, max=100_000, help="Most breaches listed (latest first)."),
) -> None:
    """List the alert deadlines missed, with why (no distributor, no endpoint, endpoint down, capacity ...)."""
    from gbsmart.alerts.outage import recent_breaches

    with friendly_errors(), cli_ctx() as ctx:
        rows = recent_breaches(ctx.session, user_id=user_id, limit=limit)
        table = Table(title=f"{len(rows)} deadline breach(es), latest first")
        for col in ("what", "subject", "User", "due", "delivered", "cause"):
            table.add_column(col, overflow="fold")
        for b in rows:
            table.add_row(b.what, b.subject, b.user_id or "—", _when(b.due_at), _when(b.delivered_at),
                          escape(b.cause))
        console.print(table)


def register(target: typer.Typer) -> None:
    """Add ``outages`` and ``breaches`` to another ``gbsmart alerts`` app (when the issue 11 groups are one)."""
    target.command("outages")(outages)
    target.command("breaches")(breaches)
