"""`gbsmart gateway endpoint set|remove|list` and `gbsmart gateway responses`: where device responses go."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors

endpoint_app = typer.Typer(help="Users' response endpoints: where the DCC POSTs asynchronous device responses.",
                           no_args_is_help=True)


@endpoint_app.command("set")
def set_(
    user_id: str = typer.Argument(..., help="The DCC User ID (EUI-64) whose responses go to URL."),
    url: str = typer.Argument(..., help="http(s) URL the DCC POSTs each signed response to (application/xml)."),
) -> None:
    """Register a User's response endpoint (a running gateway picks it up within gateway_refresh_seconds)."""
    from gbsmart.simulator.service import set_endpoint

    with friendly_errors(), cli_ctx() as ctx:
        endpoint = set_endpoint(ctx.session, user_id, url, ctx.clock.now())
        console.print(f"[green]✓[/] responses to {endpoint.user_id} go to {escape(endpoint.url)}")


@endpoint_app.command("remove")
def remove(user_id: str = typer.Argument(..., help="The DCC User ID (EUI-64).")) -> None:
    """Stop POSTing a User's responses; they are kept until an endpoint is set again."""
    from gbsmart.simulator.service import remove_endpoint

    with friendly_errors(), cli_ctx() as ctx:
        remove_endpoint(ctx.session, user_id)
        console.print(f"[green]✓[/] no endpoint for {user_id}: its responses are kept")


@endpoint_app.command("list")
def list_() -> None:
    """List the registered response endpoints."""
    from gbsmart.simulator.service import endpoints

    with friendly_errors(), cli_ctx() as ctx:
        rows = endpoints(ctx.session)
        table = Table(title=f"{len(rows)} response endpoint(s)")
        for col in ("User ID", "URL", "since"):
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(row.user_id, escape(row.url), f"{row.updated_at:%Y-%m-%d %H:%M:%S}")
        console.print(table)


def responses(
    user_id: str | None = typer.Option(None, "--user", help="Only this DCC User ID's responses."),
    limit: int = typer.Option(100, min=1, max=100_000, help="Most responses listed (oldest first)."),
) -> None:
    """List the device responses kept because the User's endpoint has not taken them yet."""
    from gbsmart.core import codes
    from gbsmart.simulator.service import kept_responses, response_counts

    with friendly_errors(), cli_ctx() as ctx:
        rows = kept_responses(ctx.session, user_id, limit=limit)
        counts = response_counts(ctx.session)
        table = Table(title=f"{counts['kept']} kept, {counts['delivered']} delivered")
        for col in ("ResponseID", "code", "completed", "attempts", "next attempt", "last error"):
            table.add_column(col, overflow="fold")
        for r in rows:
            title = codes.title(r.code, "duis_response")  # the code's title from core/codes.toml
            table.add_row(r.response_id, f"{r.code} · {title}" if title else r.code,
                          f"{r.completed_at:%Y-%m-%d %H:%M:%S}", str(r.attempts),
                          f"{r.next_attempt_at:%H:%M:%S}" if r.next_attempt_at else "—", escape(r.last_error))
        console.print(table)
