"""The Party administrator's page of its organisation's people and their SSI roles (/ssi/people); the Code
Administrator opens any organisation's with ?organisation=ID. Every form calls parties/people.py, as the API and
`gbsmart people ...` do."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.types import DbId
from gbsmart.parties import people, second_factor, service
from gbsmart.parties.enums import Role
from gbsmart.parties.schemas import OrganisationPersonCreate
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _org_id(ctx: Ctx, organisation: int | None) -> int:
    if organisation is not None:
        return organisation
    if ctx.actor.organisation_id is None:
        raise Invalid("Name the organisation: /ssi/people?organisation=ID (the Parties page links each).")
    return ctx.actor.organisation_id


def _context(ctx: Ctx, org_id: int) -> dict[str, Any]:
    org, rows = people.people_of(ctx, org_id)
    return {"org": org, "people": rows, "ssi_roles": [Role(r) for r in people.SSI_ROLES], "Role": Role,
            "is_ca": ctx.actor.has_role(service.CA), "has_second_factor": second_factor.is_enabled,
            "error": None, "errors": {}, "form": {}}


def _back(org_id: int, **flags: str) -> RedirectResponse:
    return RedirectResponse("/ssi/people?" + urlencode({"organisation": org_id, **flags}), status_code=303)


@router.get("/ssi/people")
def people_page(request: Request, organisation: DbId | None = None, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "ssi_people.html", _context(ctx, _org_id(ctx, organisation)))


@router.post("/ssi/people/{org_id}/add")
async def add(request: Request, org_id: DbId, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    roles = [v for k, v in (await request.form()).multi_items() if k == "roles" and isinstance(v, str)]
    try:
        fields = {k: form.get(k, "") for k in ("username", "full_name", "password")}
        person = people.add(ctx, org_id, parse(OrganisationPersonCreate, fields, email=form.get("email") or None,
                                               roles=roles or [Role.PARTY_USER.value]))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "ssi_people.html", lambda: _context(ctx, org_id), form=form)
    return _back(org_id, added=person.username)


@router.post("/ssi/people/{org_id}/{username}/{action}")
async def change(request: Request, org_id: DbId, username: str, action: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        if action == "grant":
            people.grant(ctx, org_id, username, form.get("role", ""))
        elif action == "revoke":
            people.revoke(ctx, org_id, username, form.get("role", ""))
        elif action == "deactivate":
            people.deactivate(ctx, org_id, username)
        elif action == "reactivate":
            people.reactivate(ctx, org_id, username)
        elif action == "reset-second-factor":
            second_factor.reset(ctx, service.person_by_username(ctx.session, username))
        else:
            raise Invalid(f"{action!r} is not something this page does to a person.")
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "ssi_people.html", lambda: _context(ctx, org_id), page_found=True)
    return _back(org_id, changed=username)
