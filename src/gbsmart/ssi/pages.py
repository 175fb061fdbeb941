"""Portal pages of the Self-Service Interface: a DCC User's home (``/ssi``, and ``/`` for a DCC User's people once
the feature is on for them), its DCC Service Alerts fragment that the home refreshes every minute, and the DCC's
feature switches (``/ssi/features``). Everything is decided in ``ssi.home`` and ``ssi.features``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.alerts.enums import BroadcastSeverity
from gbsmart.core import codes
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.ssi import features, home
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.forms import read_form
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
STANDING = {"target met": "green", "below target": "orange", "below minimum": "red", "no data": "grey"}
STATE_COLOURS = {"answered": "green", "acknowledged": "blue", "completed": "blue", "delivered": "green",
                 "undelivered": "orange", "released": "blue", "refused": "red", "quarantined": "orange",
                 "deleted": "grey"}


def _organisation_param(request: Request) -> int | None:
    raw = (request.query_params.get("organisation") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise Invalid("organisation: give an organisation's number",
                      detail=[{"field": "organisation", "message": "an organisation's number"}])
    return int(raw)


def home_context(ctx: Ctx, request: Request) -> dict[str, Any]:
    g = home.glance(ctx, _organisation_param(request))
    now = ctx.clock.now()
    return {"g": g, "now": now, "age": lambda at: home.age_text(at, now), "standing": STANDING,
            "state_colours": STATE_COLOURS, "choices": home.organisations_with_users(ctx),
            "Severities": BroadcastSeverity, "audit_on": features.is_enabled(ctx, "audit_search"),
            "explain": lambda code: codes.title(code, "duis_response")}


@router.get("/ssi")
def ssi_home(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "ssi_home.html", home_context(ctx, request), headers={"Cache-Control": "no-store"})


@router.get("/ssi/broadcasts")
def ssi_broadcasts(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The home's DCC Service Alerts list, which the home asks for again every minute (htmx)."""
    features.require_feature(ctx, home.FEATURE)
    from gbsmart.alerts import broadcasts

    return render(request, "ssi_broadcasts.html", {"rows": broadcasts.current(ctx.session, ctx.clock.now()),
                                                   "Severities": BroadcastSeverity, "now": ctx.clock.now()},
                  headers={"Cache-Control": "no-store"})


def _features_context(ctx: Ctx) -> dict[str, Any]:
    from sqlalchemy import select

    from gbsmart.models.parties import Organisation
    from gbsmart.parties.enums import OrganisationKind

    parties = list(ctx.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.kind == OrganisationKind.SEC_PARTY.value).order_by(Organisation.name)))
    return {"states": features.states(ctx), "history": features.history(ctx), "parties": parties, "error": None}


@router.get("/ssi/features")
def features_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "ssi_features.html", _features_context(ctx), headers={"Cache-Control": "no-store"})


@router.post("/ssi/features")
async def features_change(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    name, who, action = form.get("feature", ""), form.get("party", "").strip(), form.get("action", "")
    try:
        if action not in ("enable", "disable"):
            raise Invalid("Choose to switch the feature on or off",
                          detail=[{"field": "action", "message": "on or off"}])
        if who != "all" and not who.isdigit():
            raise Invalid("Choose a Party, or all Parties", detail=[{"field": "party", "message": "choose one"}])
        org = None if who == "all" else int(who)
        change = features.enable if action == "enable" else features.disable
        changed = change(ctx, name, org, for_all=org is None)
    except Invalid as exc:
        return render(request, "ssi_features.html", {**_features_context(ctx), "error": exc.message},
                      status_code=422)
    return RedirectResponse(f"/ssi/features?done={'changed' if changed else 'unchanged'}", status_code=303)
