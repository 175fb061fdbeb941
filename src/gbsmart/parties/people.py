"""An organisation's own people and their SSI roles, managed by its Party administrator (issue 15, DP108): list,
add, deactivate and reactivate, grant and revoke the SSI roles. The Code Administrator may do it for any
organisation. One service for the API (/api/v1/organisations/{id}/people), the page (/ssi/people) and the CLI
(`gbsmart people ...`); every change is audited (docs/ssi-access.md).
"""

from __future__ import annotations

from sqlalchemy import select

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.db import insert_or_conflict
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.core.security import hash_password
from gbsmart.models.parties import Organisation, Person, PersonRole
from gbsmart.parties import sessions
from gbsmart.parties.enums import Role
from gbsmart.parties.schemas import OrganisationPersonCreate
from gbsmart.parties.service import CA, get_organisation

#: the roles a Party administrator gives and takes inside its organisation; never the Code Administrator's, the
#: DCC's, the Panel's, a committee's or the Authority's
SSI_ROLES = (Role.PARTY_USER.value, Role.SENIOR_RESPONSIBLE_OFFICER.value, Role.AUTHORISED_RESPONSIBLE_OFFICER.value,
             Role.PARTY_ADMINISTRATOR.value)
ADMIN = Role.PARTY_ADMINISTRATOR.value


def may_manage(ctx: Ctx, organisation_id: int) -> bool:
    if ctx.actor.has_role(CA, "system"):
        return True
    return ctx.actor.has_role(ADMIN) and ctx.actor.organisation_id == organisation_id


def _organisation(ctx: Ctx, organisation_id: int) -> Organisation:
    """The organisation, if the actor manages its people; else Forbidden naming who may."""
    if not may_manage(ctx, organisation_id):
        raise Forbidden("Only the organisation's own Party administrator (or the Code Administrator) manages its "
                        "people and their SSI roles: ask yours.")
    return get_organisation(ctx.session, organisation_id)


def _member(ctx: Ctx, org: Organisation, username: str) -> Person:
    person = ctx.session.scalar(select(Person).where(Person.username == username,
                                                     Person.organisation_id == org.id))
    if person is None:  # the same words whether the username exists elsewhere or not at all
        raise NotFound(f"No person {username!r} in {org.name}: the list of its people shows their usernames.")
    return person


def _ssi_role(role: str) -> str:
    if role not in SSI_ROLES:
        raise Invalid(f"{role!r} is not an SSI role a Party administrator gives: give one of {', '.join(SSI_ROLES)} "
                      "(other roles are the Code Administrator's, with `gbsmart parties add-person`).",
                      detail=[{"field": "role", "message": f"one of {', '.join(SSI_ROLES)}"}])
    return role


def _admins(ctx: Ctx, org: Organisation) -> list[Person]:
    return list(ctx.session.scalars(select(Person).join(PersonRole).where(
        Person.organisation_id == org.id, Person.is_active.is_(True), PersonRole.role == ADMIN)))


def _keep_an_administrator(ctx: Ctx, org: Organisation, person: Person) -> None:
    admins = _admins(ctx, org)
    if person in admins and len(admins) == 1:
        raise Conflict(f"{person.username} is {org.name}'s last Party administrator: make someone else Party "
                       "administrator first.")


def people_of(ctx: Ctx, organisation_id: int) -> tuple[Organisation, list[Person]]:
    org = _organisation(ctx, organisation_id)
    rows = ctx.session.scalars(select(Person).where(Person.organisation_id == org.id).order_by(Person.username))
    return org, list(rows)


def add(ctx: Ctx, organisation_id: int, data: OrganisationPersonCreate) -> Person:
    """A new person of the organisation, with an initial password and SSI roles (party user by default)."""
    org = _organisation(ctx, organisation_id)
    roles = list(dict.fromkeys(_ssi_role(r) for r in data.roles)) or [Role.PARTY_USER.value]
    taken = Conflict(f"The username {data.username!r} is taken: choose another.")
    if ctx.session.scalar(select(Person.id).where(Person.username == data.username)):
        raise taken
    person = Person(username=data.username, full_name=data.full_name, email=data.email, organisation_id=org.id,
                    password_hash=hash_password(data.password), created_at=ctx.clock.now(),
                    role_rows=[PersonRole(role=r) for r in roles])
    insert_or_conflict(ctx.session, person, taken)
    record_change(ctx, "person.create", "person", person.id, None,
                  {"username": person.username, "organisation": org.name, "roles": sorted(roles)})
    return person


def grant(ctx: Ctx, organisation_id: int, username: str, role: str) -> Person:
    org = _organisation(ctx, organisation_id)
    person = _member(ctx, org, username)
    role = _ssi_role(role)
    if role not in person.roles:
        before = sorted(person.roles)
        person.role_rows.append(PersonRole(role=role))
        ctx.session.flush()
        record_change(ctx, "person.grant_role", "person", person.id, {"roles": before},
                      {"roles": sorted(person.roles), "granted": role, "organisation": org.name})
    return person


def revoke(ctx: Ctx, organisation_id: int, username: str, role: str) -> Person:
    org = _organisation(ctx, organisation_id)
    person = _member(ctx, org, username)
    role = _ssi_role(role)
    if role in person.roles:
        if role == ADMIN:
            _keep_an_administrator(ctx, org, person)
        before = sorted(person.roles)
        person.role_rows = [r for r in person.role_rows if r.role != role]
        ctx.session.flush()
        record_change(ctx, "person.revoke_role", "person", person.id, {"roles": before},
                      {"roles": sorted(person.roles), "revoked": role, "organisation": org.name})
    return person


def deactivate(ctx: Ctx, organisation_id: int, username: str) -> Person:
    """The person can no longer sign in or use a token; their portal sessions end at once."""
    org = _organisation(ctx, organisation_id)
    person = _member(ctx, org, username)
    if person.is_active:
        _keep_an_administrator(ctx, org, person)
        person.is_active = False
        ended = sessions.end_all(ctx, person, f"deactivated by {ctx.actor.username}")
        record_change(ctx, "person.deactivate", "person", person.id, {"is_active": True},
                      {"is_active": False, "sessions_ended": ended, "organisation": org.name})
    return person


def reactivate(ctx: Ctx, organisation_id: int, username: str) -> Person:
    org = _organisation(ctx, organisation_id)
    person = _member(ctx, org, username)
    if not person.is_active:
        person.is_active = True
        record_change(ctx, "person.reactivate", "person", person.id, {"is_active": False},
                      {"is_active": True, "organisation": org.name})
    return person
