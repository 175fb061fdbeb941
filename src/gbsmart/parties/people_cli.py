"""`gbsmart people ...`: an organisation's people and their SSI roles, as its Party administrator (``--as``) or
this machine's operator; the same service as /ssi/people and /api/v1/organisations/{id}/people."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors
from gbsmart.parties import people, second_factor
from gbsmart.parties.schemas import OrganisationPersonCreate
from gbsmart.parties.service import organisation_by_name

app = typer.Typer(help="An organisation's people and their SSI roles (its Party administrator).",
                  no_args_is_help=True)

ORGANISATION = typer.Argument(..., help="The organisation: its name or short name.")
AS = typer.Option(None, "--as", help="The Party administrator (or Code Administrator) making the change; "
                                     "default: this machine's CLI.")
ROLE_HELP = "One of " + ", ".join(people.SSI_ROLES) + "."


@app.command("list")
def list_people(organisation: str = ORGANISATION, acting_as: str | None = AS) -> None:
    """The organisation's people, their SSI roles and whether their second factor is on."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        org, rows = people.people_of(ctx, organisation_by_name(ctx.session, organisation).id)
        t = Table(title=f"People of {escape(org.name)}")
        for col in ("username", "name", "active", "roles", "second factor"):
            t.add_column(col)
        for p in rows:
            t.add_row(escape(p.username), escape(p.full_name), "yes" if p.is_active else "no",
                      ", ".join(sorted(p.roles)), "on" if second_factor.is_enabled(p) else "off")
        console.print(t)


@app.command("add")
def add(
    organisation: str = ORGANISATION,
    username: str = typer.Argument(..., help="The new person's username (a-z, 0-9, . _ -)."),
    full_name: str = typer.Option(..., "--name", help="Their full name."),
    email: str | None = typer.Option(None, "--email"),
    role: list[str] = typer.Option(["party_user"], "--role", help=ROLE_HELP),
    from_stdin: bool = typer.Option(False, "--password-stdin", help="Read the initial password from one line."),
    acting_as: str | None = AS,
) -> None:
    """Add a person to the organisation with an initial password (asked for, never on the command line)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        org = organisation_by_name(ctx.session, organisation)
        password = (sys.stdin.readline().rstrip("\r\n") if from_stdin
                    else typer.prompt("Initial password", hide_input=True, confirmation_prompt=True))
        p = people.add(ctx, org.id, OrganisationPersonCreate(username=username, full_name=full_name, email=email,
                                                             password=password, roles=role))
    console.print(f"[green]✓[/] added {escape(p.username)} to {escape(org.name)}: {', '.join(sorted(p.roles))}")


@app.command("grant")
def grant(organisation: str = ORGANISATION, username: str = typer.Argument(...),
          role: str = typer.Argument(..., help=ROLE_HELP), acting_as: str | None = AS) -> None:
    """Give USERNAME an SSI role."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        p = people.grant(ctx, organisation_by_name(ctx.session, organisation).id, username, role)
    console.print(f"[green]✓[/] {escape(p.username)}: {', '.join(sorted(p.roles))}")


@app.command("revoke")
def revoke(organisation: str = ORGANISATION, username: str = typer.Argument(...),
           role: str = typer.Argument(..., help=ROLE_HELP), acting_as: str | None = AS) -> None:
    """Take an SSI role from USERNAME (never the organisation's last Party administrator)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        p = people.revoke(ctx, organisation_by_name(ctx.session, organisation).id, username, role)
    console.print(f"[green]✓[/] {escape(p.username)}: {', '.join(sorted(p.roles)) or 'no roles'}")


@app.command("deactivate")
def deactivate(organisation: str = ORGANISATION, username: str = typer.Argument(...),
               acting_as: str | None = AS) -> None:
    """Stop USERNAME signing in; their portal sessions end at once."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        people.deactivate(ctx, organisation_by_name(ctx.session, organisation).id, username)
    console.print(f"[green]✓[/] {escape(username)} deactivated")


@app.command("reactivate")
def reactivate(organisation: str = ORGANISATION, username: str = typer.Argument(...),
               acting_as: str | None = AS) -> None:
    """Let USERNAME sign in again."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        people.reactivate(ctx, organisation_by_name(ctx.session, organisation).id, username)
    console.print(f"[green]✓[/] {escape(username)} reactivated")
