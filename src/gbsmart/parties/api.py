"""JSON API for Parties and people: /api/v1/parties, /api/v1/people."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId
from gbsmart.models.parties import Organisation, Person
from gbsmart.parties import schemas, service
from gbsmart.parties.enums import OrganisationKind, PartyCategory
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["parties"])


def org_read(o: Organisation) -> schemas.OrganisationRead:
    return schemas.OrganisationRead(
        id=o.id, name=o.name, short_name=o.short_name, kind=o.kind, kind_label=OrganisationKind(o.kind).label,
        party_category=o.party_category,
        party_category_label=PartyCategory(o.party_category).label if o.party_category else None,
        dcc_users=[schemas.DccUserRead(eui64=u.eui64, roles=u.roles) for u in o.dcc_users], source=o.source,
    )


@router.get("/parties", response_model=list[schemas.OrganisationRead], summary="SEC Parties and other bodies")
def list_parties(
    ctx: Ctx = Depends(get_ctx),
    kind: OrganisationKind | None = Query(None),
    category: PartyCategory | None = Query(None),
) -> list[schemas.OrganisationRead]:
    orgs = service.list_organisations(ctx.session, kind.value if kind else None, category.value if category else None)
    return [org_read(o) for o in orgs]


@router.post("/parties", response_model=schemas.OrganisationRead, status_code=201, summary="Add a Party or body")
def create_party(data: schemas.OrganisationCreate, ctx: Ctx = Depends(get_ctx)) -> schemas.OrganisationRead:
    return org_read(service.create_organisation(ctx, data))


@router.get("/parties/{org_id}", response_model=schemas.OrganisationRead)
def get_party(org_id: DbId, ctx: Ctx = Depends(get_ctx)) -> schemas.OrganisationRead:
    return org_read(service.get_organisation(ctx.session, org_id))


@router.post("/parties/{org_id}/dcc-users", response_model=schemas.DccUserRead, status_code=201,
             summary="Register a DCC User ID (EUI-64) and its User Roles")
def add_dcc_user(org_id: DbId, data: schemas.DccUserCreate, ctx: Ctx = Depends(get_ctx)) -> schemas.DccUserRead:
    du = service.add_dcc_user(ctx, service.get_organisation(ctx.session, org_id), data)
    return schemas.DccUserRead(eui64=du.eui64, roles=du.roles)


def person_read(p: Person) -> schemas.PersonRead:
    return schemas.PersonRead(id=p.id, username=p.username, full_name=p.full_name,
                              organisation=p.organisation.name if p.organisation else None, roles=sorted(p.roles))


@router.get("/people/me", response_model=schemas.PersonRead, summary="Who am I")
def me(ctx: Ctx = Depends(get_ctx)) -> schemas.PersonRead:
    return person_read(service.person_by_username(ctx.session, ctx.actor.username))


@router.post("/people", response_model=schemas.PersonRead, status_code=201, summary="Add a person (Code Administrator)")
def create_person(data: schemas.PersonCreate, ctx: Ctx = Depends(get_ctx)) -> schemas.PersonRead:
    return person_read(service.create_person(ctx, data))
