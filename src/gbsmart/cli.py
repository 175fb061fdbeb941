"""The `gbsmart` command: serve, db, demo, token, and each domain's commands."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.table import Table

from gbsmart.config import get_settings
from gbsmart.core.cli_support import cli_ctx, console, fail, friendly_errors

app = typer.Typer(
    name="gbsmart",
    help="gbsmart: the GB Smart Energy Code and the DCC's services, in software.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    # plain Click help: Typer's Rich help labels every flag (--help, --install-completion, --reload) `<bool>`
    # as if it took a value; the plain formatter, inherited by every sub-command, lists flags as flags
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve the portal and the JSON API."""
    import uvicorn

    settings = get_settings()
    console.print(f"gbsmart on [bold]http://{host}:{port}[/]  (API docs: http://{host}:{port}/api/v1/docs)")
    console.print(f"database: {settings.resolved_database_url()}")
    if settings.session_cookie_secure:
        console.print("[dim]portal cookies are Secure: sign in through https, or set "
                      "GBSMART_SESSION_COOKIE_SECURE=false for plain http on this machine[/]")
    uvicorn.run("gbsmart.app:create_app", factory=True, host=host, port=port, reload=reload, log_level="info")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the database schema to the latest revision."""
    from gbsmart.core.migrate import upgrade

    settings = get_settings()
    upgrade(settings, revision)
    console.print(f"[green]✓[/] database at {revision}: {settings.resolved_database_url()}")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models have changes that no migration covers."""
    from gbsmart.core.migrate import check

    check(get_settings())
    console.print("[green]✓[/] models and migrations agree")


@app.command()
def demo() -> None:
    """Load the demo dataset from the seed papers (running it twice changes nothing)."""
    from gbsmart.demo.loader import DEMO_PASSWORD, load_demo

    with friendly_errors(), cli_ctx() as ctx:
        report = load_demo(ctx, progress=True)
    table = Table(title="Demo data", show_lines=False)
    table.add_column("what")
    table.add_column("added", justify="right")
    table.add_column("already there", justify="right")
    for what, (added, kept) in report.counts.items():
        table.add_row(what, str(added), str(kept))
    console.print(table)
    users = Table(title=f"Demo sign-ins (password for all: {DEMO_PASSWORD})")
    users.add_column("username")
    users.add_column("role")
    users.add_column("organisation")
    for u in report.users:
        users.add_row(u["username"], u["role"], u["organisation"])
    console.print(users)


@app.command()
def token(
    username: str = typer.Argument(..., help="Whose token."),
    days: int = typer.Option(None, help="Days until it expires (default from settings)."),
    name: str = typer.Option("cli", help="A label for the token."),
) -> None:
    """Print a new API bearer token for USERNAME (only a digest is stored)."""
    from gbsmart.core.security import new_token, token_digest
    from gbsmart.models.parties import ApiToken
    from gbsmart.parties.service import person_by_username

    with friendly_errors(), cli_ctx() as ctx:
        person = person_by_username(ctx.session, username)
        if not person.is_active:
            fail(f"{username} is disabled.")
        from gbsmart.parties.second_factor import require_enrolled

        require_enrolled(ctx.settings, person, "an API token is made for them")
        raw = new_token()
        ttl = days if days is not None else ctx.settings.token_ttl_days
        ctx.session.add(ApiToken(person_id=person.id, token_hash=token_digest(raw), name=name,
                                 created_at=ctx.clock.now(), expires_at=ctx.clock.now() + timedelta(days=ttl)))
    typer.echo(raw)


def _mount_domains() -> None:
    from gbsmart.alerts.cli import app as alerts_app  # issue 11: alerts, outages, broadcasts, the backlog
    from gbsmart.assessments.cli import app as assessments_app  # issue 14: User Security Assessments
    from gbsmart.change.cli import app as change_app
    from gbsmart.committees.cli import app as committees_app
    from gbsmart.cpl.cli import app as cpl_app
    from gbsmart.gateway.cli import app as gateway_app
    from gbsmart.papers.cli import app as papers_app
    from gbsmart.parties.cli import app as parties_app
    from gbsmart.parties.people_cli import app as people_app  # issue 15: a Party administrator's people
    from gbsmart.parties.sessions_cli import app as sessions_app
    from gbsmart.parties.users_cli import app as users_app
    from gbsmart.pki.cli import app as pki_app
    from gbsmart.service.cli import app as service_app  # issue 13: incidents and their SLAs
    from gbsmart.smi.cli import app as smi_app
    from gbsmart.smi.extract_cli import app as cpl_extract_app
    from gbsmart.ssi.cli import app as ssi_app  # issue 15: the Self-Service Interface

    app.add_typer(parties_app, name="parties")
    app.add_typer(users_app, name="users")
    app.add_typer(people_app, name="people")
    app.add_typer(sessions_app, name="sessions")
    app.add_typer(change_app, name="change")
    app.add_typer(committees_app, name="committees")
    app.add_typer(papers_app, name="papers")
    app.add_typer(cpl_app, name="cpl")
    app.add_typer(cpl_extract_app, name="cpl-extract")
    app.add_typer(pki_app, name="pki")
    app.add_typer(smi_app, name="smi")
    app.add_typer(gateway_app, name="gateway")
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(service_app, name="service")
    app.add_typer(assessments_app, name="assessments")
    app.add_typer(ssi_app, name="ssi")


_mount_domains()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
