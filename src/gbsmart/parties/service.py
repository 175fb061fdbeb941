"""Use cases for Parties, people and DCC User IDs."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.db import insert_or_conflict
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.core.security import hash_password
from gbsmart.models.parties import DccUser, DccUserRole, Organisation, Person, PersonRole
from gbsmart.parties.enums import OrganisationKind
from gbsmart.parties.schemas import DccUserCreate, OrganisationCreate, PersonCreate

CA = "code_administrator"


def _require_ca(ctx: Ctx) -> None:
    if not ctx.actor.has_role(CA, "system"):
        raise Forbidden("Only the Code Administrator may change Parties and people.")


def list_organisations(session: Session, kind: str | None = None, category: str | None = None) -> list[Organisation]:
    stmt = select(Organisation).options(selectinload(Organisation.dcc_users)).order_by(Organisation.name)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if category:
        stmt = stmt.where(Organisation.party_category == category)
    return list(session.scalars(stmt))


def get_organisation(session: Session, org_id: int) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"No organisation with id {org_id}.")
    return org


def no_such_organisation(name: str) -> str:
    """The one answer to naming an organisation that is not there, at every door."""
    return f"No organisation called {name!r}; `gbsmart parties list` (or GET /api/v1/parties) lists them."


def find_organisation(session: Session, name: str | None) -> Organisation | None:
    """The organisation a person means by ``name``, or None: the one look-up every domain uses.

    The rule: surrounding spaces are ignored and case never matters; the full name is tried first, then the short
    name. A short name two or more organisations share names none of them (give the full name).
    """
    key = (name or "").strip().lower()
    if not key:
        return None
    org = session.scalar(select(Organisation).where(func.lower(Organisation.name) == key))
    if org is None:
        by_short = list(session.scalars(select(Organisation).where(func.lower(Organisation.short_name) == key)
                                        .limit(2)))
        org = by_short[0] if len(by_short) == 1 else None
    return org


def organisation_by_name(session: Session, name: str) -> Organisation:
    """``find_organisation``, or NotFound with the one message for an unknown organisation."""
    org = find_organisation(session, name)
    if org is None:
        raise NotFound(no_such_organisation(name))
    return org


def create_organisation(ctx: Ctx, data: OrganisationCreate, source: str | None = None) -> Organisation:
    _require_ca(ctx)
    if data.kind == OrganisationKind.SEC_PARTY and data.party_category is None:
        raise Invalid("A SEC Party needs its Party Category.",
                      detail=[{"field": "party_category", "message": "required for a SEC Party"}])
    if data.kind != OrganisationKind.SEC_PARTY and data.party_category is not None:
        raise Invalid("Only SEC Parties have a Party Category.",
                      detail=[{"field": "party_category", "message": "leave empty for this kind"}])
    exists = Conflict(f"An organisation called {data.name!r} already exists.")
    if ctx.session.scalar(select(Organisation.id).where(func.lower(Organisation.name) == data.name.lower())):
        raise exists
    org = Organisation(name=data.name, short_name=data.short_name, kind=data.kind.value,
                       party_category=data.party_category.value if data.party_category else None,
                       source=source, created_at=ctx.clock.now())
    insert_or_conflict(ctx.session, org, exists)
    record_change(ctx, "organisation.create", "organisation", org.id, None,
                  {"name": org.name, "kind": org.kind, "party_category": org.party_category})
    return org


def add_dcc_user(ctx: Ctx, org: Organisation, data: DccUserCreate) -> DccUser:
    _require_ca(ctx)
    held = Conflict(f"User ID {data.eui64} is already held.")
    if ctx.session.scalar(select(DccUser.id).where(DccUser.eui64 == data.eui64)):
        raise held
    du = DccUser(organisation_id=org.id, eui64=data.eui64, role_rows=[DccUserRole(role=r.value) for r in data.roles])
    insert_or_conflict(ctx.session, du, held)
    record_change(ctx, "dcc_user.create", "organisation", org.id, None,
                  {"eui64": du.eui64, "roles": [r.value for r in data.roles]})
    return du


def create_person(ctx: Ctx, data: PersonCreate) -> Person:
    _require_ca(ctx)
    taken = Conflict(f"The username {data.username!r} is taken.")
    if ctx.session.scalar(select(Person.id).where(Person.username == data.username)):
        raise taken
    org = organisation_by_name(ctx.session, data.organisation) if data.organisation else None
    person = Person(
        username=data.username, full_name=data.full_name, email=data.email,
        organisation_id=org.id if org else None,
        password_hash=hash_password(data.password) if data.password else None,
        created_at=ctx.clock.now(), role_rows=[PersonRole(role=r.value) for r in dict.fromkeys(data.roles)],
    )
    insert_or_conflict(ctx.session, person, taken)
    record_change(ctx, "person.create", "person", person.id, None,
                  {"username": person.username, "organisation": org.name if org else None,
                   "roles": sorted(person.roles)})
    return person


def list_people(session: Session) -> list[Person]:
    """Everyone who can sign in, by username, with their organisation."""
    return list(session.scalars(select(Person).options(selectinload(Person.organisation)).order_by(Person.username)))


def person_by_username(session: Session, username: str) -> Person:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise NotFound(f"No user {username!r}. `gbsmart parties people` shows who exists.")
    return person
