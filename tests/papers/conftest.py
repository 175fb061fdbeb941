"""Papers test kit: a cast of people and committee membership (the app is the root conftest's ``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import gbsmart.models.papers  # noqa: F401 - registers the papers tables
from gbsmart.core.context import Actor, Ctx
from gbsmart.models.committees import Committee, CommitteeMember
from gbsmart.models.papers import Paper
from gbsmart.models.parties import Person
from gbsmart.papers import service
from gbsmart.papers.schemas import AppendixCreate, PaperCreate

# ------------------------------------------------------------------------ committees (the committees domain)


def add_committee_member(session: Session, code: str, person: Person) -> None:
    """Put ``person`` on committee ``code``, creating the committee if it is not there yet."""
    committee = session.scalar(select(Committee).where(Committee.code == code))
    if committee is None:
        committee = Committee(code=code, name=f"{code} committee", created_at=datetime(2020, 1, 1, tzinfo=UTC))
        session.add(committee)
        session.flush()
    session.add(CommitteeMember(committee_id=committee.id, person_id=person.id))
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
