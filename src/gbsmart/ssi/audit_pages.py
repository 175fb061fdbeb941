"""Portal pages of the service audit trail and the codes catalogue: ``/ssi/audit`` (the filters as a GET form, so a
search is a URL to share; the rows at once, never an aggregate screen first; Next; Download CSV), one alert
(``/ssi/audit/alerts/{id}``) and the codes in plain English (``/ssi/codes``). The rules are ``ssi.audit``'s."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from gbsmart.core import codes
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.types import DbId
from gbsmart.ssi import audit
from gbsmart.ssi.enums import AuditKind
from gbsmart.ssi.features import require_feature
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

FIELDS = ("request_id", "device", "mpxn", "srv", "code", "kind", "from", "to")


def _errors(exc: Invalid) -> dict[str, str]:
    detail = exc.detail if isinstance(exc.detail, list) else []
    return {str(d["field"]): str(d.get("message", "")) for d in detail if isinstance(d, dict) and "field" in d}


@router.get("/ssi/audit")
def search(request: Request, ctx: Ctx = Depends(get_ctx), cursor: str | None = None) -> Response:
    """The search form and, as soon as there is a search (or none: the last 31 days), the rows."""
    require_feature(ctx, audit.FEATURE)
    q = {k: (request.query_params.get(k) or "").strip() for k in FIELDS}
    error, errors, page = None, {}, None
    try:
        f = audit.make_filters(ctx.clock.now(), request_id=q["request_id"], device=q["device"], mpxn=q["mpxn"],
                               srv=q["srv"], code=q["code"], kind=q["kind"],
                               time_from=audit.parse_time("from", q["from"]),
                               time_to=audit.parse_time("to", q["to"], end=True))
        page = audit.search(ctx, f, cursor)
    except Invalid as exc:
        error, errors = exc.message, _errors(exc)
    params = {k: v for k, v in q.items() if v}
    context: dict[str, Any] = {
        "q": q, "error": error, "errors": errors, "page": page, "Kinds": AuditKind,
        "range_days": audit.DEFAULT_RANGE.days, "cap": audit.SUMMARY_CAP, "first_page": not cursor,
        "next_url": f"/ssi/audit?{urlencode({**params, 'cursor': page.next_cursor})}"
        if page and page.next_cursor else None,
        "first_url": f"/ssi/audit?{urlencode(params)}" if cursor else None,
        "csv_url": f"/api/v1/ssi/audit.csv?{urlencode(params)}",
    }
    return render(request, "ssi_audit.html", context, status_code=422 if error else 200)


@router.get("/ssi/audit/alerts/{message_id}")
def alert_detail(message_id: DbId, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """One alert sent to a User: what it was, its code in plain English, and whether it reached the User."""
    row, message = audit.alert(ctx, message_id)
    return render(request, "ssi_audit_alert.html", {"row": row, "m": message})


@router.get("/ssi/codes")
def codes_page(request: Request, ctx: Ctx = Depends(get_ctx), kind: str | None = None) -> Response:
    """Every code the SSI shows, by kind, with what it means and what to do."""
    chosen = kind if kind in codes.KINDS else None
    return render(request, "ssi_codes.html", {"entries": codes.entries(chosen), "kinds": codes.KINDS,
                                              "kind": chosen})
