"""Portal pages for Parties and bodies."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId
from gbsmart.parties import people, service
from gbsmart.parties.enums import OrganisationKind, PartyCategory, Role
from gbsmart.web.deps import get_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/parties")
def parties(request: Request, ctx: Ctx = Depends(get_ctx), category: str | None = None) -> Response:
    orgs = service.list_organisations(ctx.session, None, category or None)
    by_category: dict[str, int] = {}
    for o in orgs:
        if o.party_category:
            by_category[o.party_category] = by_category.get(o.party_category, 0) + 1
    return render(request, "parties.html", {"orgs": orgs, "Kind": OrganisationKind, "Category": PartyCategory,
                                            "by_category": by_category, "category": category})


@router.get("/parties/{org_id}")
def party(request: Request, org_id: DbId, ctx: Ctx = Depends(get_ctx)) -> Response:
    org = service.get_organisation(ctx.session, org_id)
    return render(request, "party.html", {"o": org, "Kind": OrganisationKind, "Category": PartyCategory,
                                          "Role": Role, "can_manage": people.may_manage(ctx, org.id)})
