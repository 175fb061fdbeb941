"""Portal pages of the DCC message path: a User's DUIS requests and responses (search by RequestID, device, SRV,
code, state and day), one message with its times against its Target Response Time and the plain-English reason
of a refusal, and the TRT summary per class. What a reader sees is ``gateway.messages``'s rule, as in the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.types import DbId
from gbsmart.gateway import messages
from gbsmart.gateway.enums import MessageState, TrtClass
from gbsmart.gateway.matrix import request_matrix
from gbsmart.gateway.rules import response_time, sees_every_user
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

FIELDS = ("request_id", "device", "originator", "srv", "code", "state", "trt_class", "from", "to")


def _day(name: str, value: str | None) -> date | None:
    if not (value or "").strip():
        return None
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise Invalid(f"{name}: write a date as YYYY-MM-DD", detail=[{"field": name, "message": "not a date"}]) \
            from None


def _filters(q: dict[str, str]) -> messages.MessageFilters:
    start, end = _day("from", q.get("from")), _day("to", q.get("to"))
    return messages.make_filters(
        request_id=q.get("request_id"), device=q.get("device"), originator=q.get("originator"), srv=q.get("srv"),
        code=q.get("code"), state=q.get("state"), trt_class=q.get("trt_class"),
        received_from=datetime.combine(start, time(), UTC) if start else None,
        received_to=datetime.combine(end + timedelta(days=1), time(), UTC) if end else None)  # "to" is inclusive


def _trt_rows(ctx: Ctx, f: messages.MessageFilters) -> list[dict[str, Any]]:
    return [{"row": r, "seconds": getattr(ctx.settings, f"trt_{r.trt_class.value}_seconds")}
            for r in messages.trt_summary(ctx, f)]


@router.get("/messages")
def search(request: Request, ctx: Ctx = Depends(get_ctx), cursor: str | None = None) -> Response:
    """The reader's messages, newest first, with the search form and the TRT summary of what matches."""
    q = {k: (request.query_params.get(k) or "").strip() for k in FIELDS}
    error, page, f = None, None, messages.MessageFilters()
    try:
        f = _filters(q)
        page = messages.search(ctx, f, cursor)
    except Invalid as exc:
        error = exc.message
    params = {k: v for k, v in q.items() if v}
    rows = [{"m": m, "outcome": messages.outcome(ctx, m)} for m in page.items] if page else []
    return render(request, "gateway_messages.html", {
        "q": q, "error": error, "rows": rows, "trt": _trt_rows(ctx, f) if error is None else [],
        "States": MessageState, "Classes": TrtClass, "everyone": sees_every_user(ctx.actor.roles),
        "own_ids": messages.originators_of(ctx.session, ctx.actor.organisation_id),
        "next_url": f"/messages?{urlencode({**params, 'cursor': page.next_cursor})}"
        if page and page.next_cursor else None,
    }, status_code=422 if error else 200)


@router.get("/messages/{message_id}")
def detail(message_id: DbId, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """One message: what was sent, the answer and its plain-English reason, its times against its TRT."""
    m = messages.get(ctx, message_id)
    variant = request_matrix().get(m.srv)
    responded = response_time(m.trt_class, m.state, m.answered_at, m.completed_at)
    trt = getattr(ctx.settings, f"trt_{m.trt_class}_seconds") if m.trt_class else None
    taken = (responded - m.received_at).total_seconds() if responded else None
    return render(request, "gateway_message.html", {
        "m": m, "variant": variant, "state": MessageState(m.state), "outcome": messages.outcome(ctx, m),
        "trt_class": TrtClass(m.trt_class) if m.trt_class else None, "trt_seconds": trt, "responded": responded,
        "taken": taken,
    })
