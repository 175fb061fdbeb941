"""`gbsmart sessions ...`: list live portal sessions and end them at once."""

from __future__ import annotations

import typer
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, fail, friendly_errors
from gbsmart.core.types import MAX_DB_ID
from gbsmart.parties import sessions
from gbsmart.parties.service import person_by_username
from gbsmart.parties.users_cli import ACTING_AS, plural

app = typer.Typer(help="Portal sessions: who is signed in, and ending a session at once.", no_args_is_help=True)


@app.command("list")
def list_sessions(user: str | None = typer.Option(None, "--user", help="Only this username's sessions.")) -> None:
    """Live portal sessions, oldest first."""
    with friendly_errors(), cli_ctx() as ctx:
        rows = sessions.live_sessions(ctx, user)
        t = Table(title=plural(len(rows), "portal session"))
        for col in ("id", "username", "signed in", "last seen", "expires", "address", "browser"):
            t.add_column(col)
        for r in rows:
            t.add_row(str(r.id), r.person.username, *(f"{at:%Y-%m-%d %H:%M}" for at in
                                                      (r.created_at, r.last_seen_at, r.expires_at)),
                      r.client_address or "", r.user_agent or "")
        console.print(t)


@app.command("revoke")
def revoke(
    user: str | None = typer.Option(None, "--user", help="End every session of this username."),
    session_id: int | None = typer.Option(None, "--id", min=1, max=MAX_DB_ID,
                                          help="End this one session (see `gbsmart sessions list`)."),
    acting_as: str | None = ACTING_AS,
) -> None:
    """End portal sessions at once: a copied cookie stops working on its next request."""
    if (user is None) == (session_id is None):
        fail("Name --user USERNAME or --id N.")
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        if user is not None:
            ended = sessions.revoke_person(ctx, person_by_username(ctx.session, user))
        else:
            sessions.revoke(ctx, session_id)
            ended = 1
    console.print(f"[green]✓[/] revoked {plural(ended, 'portal session')}")
