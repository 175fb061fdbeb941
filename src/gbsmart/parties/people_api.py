"""JSON API of an organisation's people and their SSI roles (its Party administrator; the Code Administrator for
any): /api/v1/organisations/{id}/people ..., and the Code Administrator's reset of a person's second factor."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId
from gbsmart.models.parties import Person
from gbsmart.parties import people, second_factor, service
from gbsmart.parties.schemas import OrganisationPersonCreate, OrganisationPersonRead, RoleChange, SessionsRevoked
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["parties"])


def person_read(p: Person) -> OrganisationPersonRead:
    return OrganisationPersonRead(username=p.username, full_name=p.full_name, email=p.email, active=p.is_active,
                                  roles=sorted(p.roles), second_factor=second_factor.is_enabled(p))


@router.get("/organisations/{org_id}/people", summary="An organisation's people (its Party administrator)")
def list_people(org_id: DbId, ctx: Ctx = Depends(get_ctx)) -> list[OrganisationPersonRead]:
    _, rows = people.people_of(ctx, org_id)
    return [person_read(p) for p in rows]


@router.post("/organisations/{org_id}/people", status_code=201, summary="Add a person to the organisation")
def add_person(org_id: DbId, data: OrganisationPersonCreate, ctx: Ctx = Depends(get_ctx)) -> OrganisationPersonRead:
    return person_read(people.add(ctx, org_id, data))


@router.post("/organisations/{org_id}/people/{username}/roles", summary="Grant an SSI role")
def grant_role(org_id: DbId, username: str, data: RoleChange, ctx: Ctx = Depends(get_ctx)) -> OrganisationPersonRead:
    return person_read(people.grant(ctx, org_id, username, data.role))


@router.delete("/organisations/{org_id}/people/{username}/roles/{role}", summary="Revoke an SSI role")
def revoke_role(org_id: DbId, username: str, role: str, ctx: Ctx = Depends(get_ctx)) -> OrganisationPersonRead:
    return person_read(people.revoke(ctx, org_id, username, role))


@router.post("/organisations/{org_id}/people/{username}/deactivate", summary="Stop a person signing in")
def deactivate(org_id: DbId, username: str, ctx: Ctx = Depends(get_ctx)) -> OrganisationPersonRead:
    return person_read(people.deactivate(ctx, org_id, username))


@router.post("/organisations/{org_id}/people/{username}/reactivate", summary="Let a person sign in again")
def reactivate(org_id: DbId, username: str, ctx: Ctx = Depends(get_ctx)) -> OrganisationPersonRead:
    return person_read(people.reactivate(ctx, org_id, username))


@router.post("/people/{username}/second-factor/reset", response_model=SessionsRevoked,
             summary="Clear a person's second factor, ending their portal sessions (Code Administrator)")
def reset_second_factor(username: str, ctx: Ctx = Depends(get_ctx)) -> SessionsRevoked:
    person = service.person_by_username(ctx.session, username)
    return SessionsRevoked(username=person.username, revoked=second_factor.reset(ctx, person))
