"""`gbsmart alerts backlog` and `gbsmart alerts expired`: the northbound cache as the table has it (any process).

``register(app)`` puts both commands on an existing `gbsmart alerts` Typer app; ``app`` is one with just them."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors


def backlog(user_id: str | None = typer.Option(None, "--user", help="Only this DCC User ID.")) -> None:
    """Per User and priority class: messages waiting, the oldest, delivered in the last minute, expired."""
    from gbsmart.alerts.northbound import backlog_report
    from gbsmart.alerts.traffic import load_traffic

    with friendly_errors(), cli_ctx() as ctx:
        traffic = load_traffic(ctx.settings)
        rows = backlog_report(ctx.session, ctx.clock.now(), traffic, user_id=user_id)
        waiting = sum(r.waiting for r in rows)
        table = Table(title=f"northbound backlog: {waiting} waiting for {len({r.user_id for r in rows})} User(s); "
                            f"classes highest first: {', '.join(traffic.classes)}")
        for col in ("User ID", "class", "waiting", "oldest waiting", "delivered last minute", "expired"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(r.user_id, r.priority, str(r.waiting),
                          f"{r.oldest:%Y-%m-%d %H:%M:%S}" if r.oldest else "—", str(r.delivered_last_minute),
                          f"[red]{r.expired}[/]" if r.expired else "0")
        console.print(table)


def expired(
    user_id: str | None = typer.Option(None, "--user", help="Only this DCC User ID's messages."),
    limit: int = typer.Option(100, min=1, max=100_000, help="Most messages listed (newest expiry first)."),
) -> None:
    """List the messages that expired before their User's endpoint took them (kept, never deleted)."""
    from gbsmart.alerts.northbound import expired_messages

    with friendly_errors(), cli_ctx() as ctx:
        total, rows = expired_messages(ctx.session, user_id=user_id, limit=limit)
        table = Table(title=f"{total} message(s) expired undelivered")
        for col in ("message ID", "User ID", "kind", "class", "code", "created", "expired", "attempts",
                    "last error"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(escape(r.message_id), r.user_id, r.kind, r.priority, r.code,
                          f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                          f"{r.expired_at:%Y-%m-%d %H:%M:%S}" if r.expired_at else "—", str(r.attempts),
                          escape(r.last_error))
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("backlog")(backlog)
    app.command("expired")(expired)


app = typer.Typer(help="Alerts and the northbound cache (messages on their way to Users).", no_args_is_help=True)
register(app)
