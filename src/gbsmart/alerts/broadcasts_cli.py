"""`gbsmart alerts broadcast add|end|list`: the DCC Service Alerts broadcast every portal page shows (docs/alerts.md,
"The portal: alerts dashboard and broadcasts"). The rules are ``alerts.broadcasts``'s, as in the API and pages."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from gbsmart.alerts.enums import BroadcastSeverity
from gbsmart.core.cli_support import DbIdArgument, cli_ctx, console, friendly_errors

broadcast_app = typer.Typer(help="DCC Service Alerts broadcasts: the banner on every portal page.",
                            no_args_is_help=True)

_AS = typer.Option(None, "--as", help="Act as this person (checked: DCC or Code Administrator); default: the DCC's "
                                      "operator.")


@broadcast_app.command("add")
def add(
    title: str = typer.Argument(..., help="One line, e.g. 'CSP North: delayed alerts'."),
    body: str = typer.Argument(..., help="What is happening and what Users should do."),
    severity: BroadcastSeverity = typer.Option(BroadcastSeverity.INFO, help="info, warning or critical."),
    starts_at: str | None = typer.Option(None, "--starts", help="ISO 8601 with a time zone (default: now)."),
    ends_at: str | None = typer.Option(None, "--ends", help="ISO 8601 with a time zone (default: until ended)."),
    acting_as: str | None = _AS,
) -> None:
    """Publish a broadcast: it shows on every portal page (refreshed every minute) until it ends."""
    from gbsmart.alerts import broadcasts

    with friendly_errors():
        data = broadcasts.BroadcastCreate.model_validate(
            {"title": title, "body": body, "severity": severity, "starts_at": starts_at, "ends_at": ends_at})
        with cli_ctx(acting_as) as ctx:
            row = broadcasts.create(ctx, data)
            console.print(f"[green]✓[/] broadcast {row.id} ({row.severity}) from {row.starts_at:%Y-%m-%d %H:%M} UTC: "
                          f"{row.title}")


@broadcast_app.command("end")
def end(broadcast_id: DbIdArgument, acting_as: str | None = _AS) -> None:
    """End a broadcast now: it leaves every page at the next refresh."""
    from gbsmart.alerts import broadcasts

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        row = broadcasts.end(ctx, broadcast_id)
        console.print(f"[green]✓[/] broadcast {row.id} ended at {row.ends_at:%Y-%m-%d %H:%M} UTC")


def _when(value: datetime | None, default: str = "") -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else default


@broadcast_app.command("list")
def list_(include_ended: bool = typer.Option(False, "--ended", help="Also the latest ended ones.")) -> None:
    """The broadcasts in force and scheduled (and, with --ended, the latest ended)."""
    from gbsmart.alerts import broadcasts

    with friendly_errors(), cli_ctx() as ctx:
        found = broadcasts.listing(ctx)
        groups = [("in force", found.in_force), ("scheduled", found.scheduled)]
        if include_ended:
            groups.append(("ended", found.ended))
        table = Table(title=f"{len(found.in_force)} broadcast(s) in force")
        for col in ("#", "state", "severity", "title", "from", "until", "by"):
            table.add_column(col, overflow="fold")
        for state, rows in groups:
            for b in rows:
                table.add_row(str(b.id), state, b.severity, b.title, _when(b.starts_at),
                              _when(b.ends_at, "until ended"), b.created_by)
        console.print(table)
