"""`gbsmart parties ...`: list Parties, people and DCC User IDs; add people.

Names, usernames and organisations are what people typed: they are printed as they are (``escape``), never read as
Rich markup, so a Party called ``[bold]x[/bold]`` shows those brackets.
"""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors
from gbsmart.parties import service
from gbsmart.parties.enums import OrganisationKind, PartyCategory, Role
from gbsmart.parties.schemas import PersonCreate

app = typer.Typer(help="SEC Parties, bodies, people and DCC User IDs.", no_args_is_help=True)


@app.command("list")
def list_parties(category: PartyCategory | None = typer.Option(None, help="Only this Party Category.")) -> None:
    """SEC Parties and other bodies, with their category and DCC User IDs."""
    with friendly_errors(), cli_ctx() as ctx:
        orgs = service.list_organisations(ctx.session, None, category.value if category else None)
        t = Table(title=f"{len(orgs)} organisations")
        for col in ("name", "kind", "Party Category", "DCC User IDs (roles)"):
            t.add_column(col)
        for o in orgs:
            users = ", ".join(f"{u.eui64} ({'/'.join(u.roles)})" for u in o.dcc_users)
            t.add_row(escape(o.name), OrganisationKind(o.kind).label,
                      PartyCategory(o.party_category).label if o.party_category else "", users)
        console.print(t)


@app.command("people")
def list_people() -> None:
    """Everyone who can sign in, with their organisation and roles."""
    with friendly_errors(), cli_ctx() as ctx:
        t = Table(title="People")
        for col in ("username", "name", "organisation", "roles"):
            t.add_column(col)
        for p in service.list_people(ctx.session):
            t.add_row(escape(p.username), escape(p.full_name), escape(p.organisation.name) if p.organisation else "",
                      ", ".join(Role(r).label for r in sorted(p.roles)))
        console.print(t)


@app.command("add-person")
def add_person(
    username: str,
    full_name: str = typer.Option(..., "--name"),
    organisation: str = typer.Option(None, "--organisation"),
    role: list[Role] = typer.Option([Role.PARTY_USER], "--role"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    acting_as: str = typer.Option(..., "--as", help="The Code Administrator making the change."),
) -> None:
    """Add a person who can sign in."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        p = service.create_person(ctx, PersonCreate(username=username, full_name=full_name,
                                                    organisation=organisation, roles=role, password=password))
        console.print(f"[green]✓[/] added {escape(p.username)} ({escape(p.full_name)})")
