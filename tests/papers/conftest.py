"""Papers test kit: a cast of people and committee membership (the app is the root conftest's ``create_app``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, inspect, select, text
from sqlalchemy.orm import Session

import gbsmart.models.papers  # noqa: F401 - registers the papers tables

with contextlib.suppress(ImportError):  # the committees domain, when in the tree: membership in its real tables
    import gbsmart.models.committees  # noqa: F401
from gbsmart.core.context import Actor, Ctx
from gbsmart.models.papers import Paper
from gbsmart.models.parties import Person
from gbsmart.papers import service
from gbsmart.papers.schemas import AppendixCreate, PaperCreate

# ------------------------------------------------------------------------ committees (the committees domain)


def _placeholder(col: Any) -> Any:
    try:
        kind = col.type.python_type
    except NotImplementedError:
        return "x"
    return {str: "test", int: 0, bool: False, float: 0.0, date: date(2020, 1, 1),
            datetime: datetime(2020, 1, 1, tzinfo=UTC)}.get(kind, "x")


def _insert(session: Session, table: Table, values: dict[str, Any]) -> int:
    for col in table.columns:
        if col.name in values or col.primary_key or col.nullable or col.server_default is not None:
            continue
        if col.default is not None and getattr(col.default, "is_scalar", False):
            values[col.name] = col.default.arg
            continue
        values[col.name] = _placeholder(col)
    result = session.execute(table.insert().values(**values))
    return result.inserted_primary_key[0]


def add_committee_member(session: Session, code: str, person: Person) -> None:
    """Put ``person`` on committee ``code``, creating minimal committee tables if the committees domain has none."""
    bind = session.connection()
    pk = "SERIAL PRIMARY KEY" if bind.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    insp = inspect(bind)
    if not insp.has_table("committees"):
        session.execute(text(f"CREATE TABLE committees (id {pk}, code VARCHAR(30) NOT NULL, name VARCHAR(200))"))
    if not insp.has_table("committee_members"):
        session.execute(text(f"CREATE TABLE committee_members (id {pk}, committee_id INTEGER NOT NULL, "
                             "person_id INTEGER NOT NULL)"))
    md = MetaData()
    committees = Table("committees", md, autoload_with=bind)
    members = Table("committee_members", md, autoload_with=bind)
    committee_id = session.scalar(select(committees.c.id).where(committees.c.code == code))
    if committee_id is None:
        extra = {"name": f"{code} committee"} if "name" in committees.c else {}
        committee_id = _insert(session, committees, {"code": code, **extra})
    _insert(session, members, {"committee_id": committee_id, "person_id": person.id})
    session.commit()


# ------------------------------------------------------------------------------------------------ the cast


@dataclass
class Cast:
    """People of a small SEC, their API headers, and helpers to make papers as one of them."""

    session: Session
    clock: Any
    settings: Any
    people: dict[str, Person] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def ctx(self, username: str) -> Ctx:
        return Ctx(session=self.session, actor=Actor.of(self.people[username]), clock=self.clock,
                   settings=self.settings)

    def paper(self, reference: str, classification: str = "green", *, by: str = "secas", issue: bool = True,
              appendices: list[dict] | None = None, **fields: Any) -> Paper:
        """A paper made through the service (set-up, not under test), committed."""
        ctx = self.ctx(by)
        fields.setdefault("title", f"Paper {reference}")
        fields.setdefault("body", f"The body of {reference}.")
        paper = service.create_paper(ctx, PaperCreate(reference=reference, classification=classification, **fields))
        author_ctx = self.ctx(fields["author"]) if fields.get("author") else ctx
        for a in appendices or []:
            service.add_appendix(author_ctx, reference, AppendixCreate(**a))
        if issue:
            service.issue(author_ctx, reference)
        self.session.commit()
        return paper


@pytest.fixture
def cast(world, session, clock, settings) -> Cast:
    secas_org = world.org("SECAS", kind="secas")
    big = world.org("Big Energy plc", category="large_supplier")
    tiny = world.org("Tiny Gas Co", category="small_supplier")
    wires = world.org("Wires North", category="electricity_network")
    c = Cast(session=session, clock=clock, settings=settings)
    spec = {
        "secas": (("code_administrator",), secas_org),    # Code Administrator, not a recipient of anything
        "rebecca": ((), secas_org),                       # SECAS author of papers
        "rita": (("party_user",), big),                   # a named recipient
        "bob": (("party_user",), big),                    # Rita's colleague, not named
        "cara": (("party_user",), tiny),                  # an SSC member
        "tom": (("party_user",), tiny),                   # Cara's colleague (AMBER need-to-know)
        "wendy": (("party_user",), wires),                # any SEC Party (GREEN)
        "guest": ((), None),                              # signed in, no SEC body (WHITE only)
    }
    for username, (roles, org) in spec.items():
        person = world.person(username, *roles, org=org)
        c.people[username] = person
        c.headers[username] = world.token(person)
    add_committee_member(session, "SSC", c.people["cara"])
    return c
