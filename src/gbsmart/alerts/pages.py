"""Portal pages over alerts: the alerts dashboard (``/alerts``: volumes by code and CSP region over time as a
server-drawn SVG chart, deadline compliance with the breaches and their causes, throttling state, each User's
northbound backlog, delivery rate and expired messages), the power outages (``/alerts/outages``), the DCC Service
Alerts broadcasts (``/alerts/broadcasts``) and the banner fragment every page asks for every minute
(``/alerts/banner``). What a reader sees is ``alerts.queries``'s rule and who may broadcast ``alerts.broadcasts``'s,
as in the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from gbsmart.alerts import broadcasts, northbound, queries
from gbsmart.alerts.enums import BroadcastSeverity, OutageScope, OutageState, OutboundKind
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.types import DbId
from gbsmart.models.parties import Person
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_ctx, get_session, optional_person
from gbsmart.web.forms import FORM_FAILURES, parse, read_form, rerender
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])

#: series colours of the volume chart, in order (CSS variables of gbsmart.css)
PALETTE = ("blue", "orange", "purple", "green", "cyan", "red", "yellow", "teal", "grey")
CHART_W, CHART_H, LEFT, BOTTOM, TOP = 1000, 240, 56, 28, 12
MAX_SERIES = 8
#: htmx's status for "stop polling" (https://htmx.org/attributes/hx-trigger/, polling)
HTMX_STOP_POLLING = 286


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    colour: str
    title: str


def chart(v: queries.Volumes) -> dict[str, Any]:
    """Stacked bars of alerts per bucket, one colour per code (the largest codes; the rest as "other")."""
    shown = v.codes[:MAX_SERIES - 1] if len(v.codes) > MAX_SERIES else v.codes
    series = [(c, PALETTE[i % len(PALETTE)]) for i, c in enumerate(shown)]
    if len(v.codes) > len(shown):
        series.append(("other", "grey"))
    buckets = v.window.buckets
    peak = max(v.peak, 1)
    plot_w, plot_h = CHART_W - LEFT - 8, CHART_H - TOP - BOTTOM
    step = plot_w / max(len(buckets), 1)
    rects: list[Rect] = []
    labels: list[dict[str, Any]] = []
    every = max(1, len(buckets) // 8)
    for i, (at, counts) in enumerate(zip(buckets, v.by_bucket, strict=True)):
        x, base = LEFT + i * step + 1, float(CHART_H - BOTTOM)
        for code, colour in series:
            n = counts.get(code, 0) if code != "other" else sum(
                n for c, n in counts.items() if c not in shown)
            if n <= 0:
                continue
            h = plot_h * n / peak
            base -= h
            rects.append(Rect(round(x, 1), round(base, 1), round(step - 2, 1), round(h, 1), colour,
                              f"{at:%d %b %H:%M}: {n:,} × {code}"))
        if i % every == 0:
            labels.append({"x": round(x, 1), "text": f"{at:%H:%M}" if v.window.bucket.days == 0 else f"{at:%d %b}"})
    ticks = [{"y": round(CHART_H - BOTTOM - plot_h * f, 1), "value": round(peak * f)} for f in (0, 0.5, 1)]
    return {"width": CHART_W, "height": CHART_H, "rects": rects, "labels": labels, "ticks": ticks,
            "series": series, "left": LEFT, "bottom": CHART_H - BOTTOM}


def _dashboard_context(ctx: Ctx, request: Request) -> dict[str, Any]:
    q = {k: (request.query_params.get(k) or "").strip() for k in ("range", "region", "code")}
    w = queries.window(ctx.clock.now(), q["range"] or None)
    s = queries.summary(ctx, w, region=q["region"] or None, code=q["code"] or None)
    return {"s": s, "q": {**q, "range": w.name}, "chart": chart(s.volumes), "ranges": list(queries.RANGES),
            "Kinds": OutboundKind, "States": OutageState, "now": ctx.clock.now(), "error": None,
            "own_users": queries.own_user_ids(ctx),
            "acknowledged": request.query_params.get("acknowledged")}


@router.get("/alerts")
def dashboard(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The alerts dashboard for the chosen range (1h, 6h, 24h, 7d), scoped to what the reader may see."""
    try:
        context = _dashboard_context(ctx, request)
    except Invalid as exc:
        w = queries.window(ctx.clock.now())
        s = queries.summary(ctx, w)
        return render(request, "alerts.html", {
            "s": s, "q": {"range": w.name, "region": "", "code": ""}, "chart": chart(s.volumes),
            "ranges": list(queries.RANGES), "Kinds": OutboundKind, "States": OutageState, "now": ctx.clock.now(),
            "error": exc.message, "own_users": queries.own_user_ids(ctx), "acknowledged": None},
            status_code=422)
    return render(request, "alerts.html", context)


@router.post("/alerts/expired/acknowledge")
async def expired_acknowledge(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    """A User's own people mark its expired messages seen (the expiry reported to the User)."""
    form = await read_form(request)
    try:
        n = northbound.acknowledge_expired(ctx, str(form.get("user_id") or ""))
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "alerts.html", lambda: _dashboard_context(ctx, request), form=form)
    return RedirectResponse(f"/alerts?{urlencode({'acknowledged': n})}#expired", status_code=303)


@router.get("/alerts/outages")
def outages_page(request: Request, ctx: Ctx = Depends(get_ctx), state: str | None = None,
                 cursor: str | None = None) -> Response:
    """Power outages, newest loss first, with their AD1 and restoration against their deadlines."""
    page = queries.outages(ctx, state=state or None, cursor=cursor)
    return render(request, "alerts_outages.html", {
        "rows": page.items, "state": state or "", "States": OutageState, "Scopes": OutageScope,
        "now": ctx.clock.now(),
        "next_url": f"/alerts/outages?{urlencode({'state': state or '', 'cursor': page.next_cursor})}"
        if page.next_cursor else None})


def _broadcasts_context(ctx: Ctx) -> dict[str, Any]:
    return {"listing": broadcasts.listing(ctx), "can_broadcast": broadcasts.may_broadcast(ctx.actor),
            "Severities": BroadcastSeverity, "error": None, "errors": {}, "form": {}}


@router.get("/alerts/broadcasts")
def broadcasts_page(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    return render(request, "alerts_broadcasts.html", _broadcasts_context(ctx))


@router.post("/alerts/broadcasts")
async def broadcast_add(request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    form = await read_form(request)
    try:
        data = parse(broadcasts.BroadcastCreate, form, starts_at=form.get("starts_at") or None,
                     ends_at=form.get("ends_at") or None)
        row = broadcasts.create(ctx, data)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "alerts_broadcasts.html", lambda: _broadcasts_context(ctx), form=form)
    return RedirectResponse(f"/alerts/broadcasts?published={row.id}", status_code=303)


@router.post("/alerts/broadcasts/{broadcast_id}/end")
def broadcast_end(broadcast_id: DbId, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    try:
        broadcasts.end(ctx, broadcast_id)
    except FORM_FAILURES as exc:
        return rerender(request, ctx, exc, "alerts_broadcasts.html", lambda: _broadcasts_context(ctx))
    return RedirectResponse(f"/alerts/broadcasts?ended={broadcast_id}", status_code=303)


@router.get("/alerts/banner")
def banner(request: Request, session: Session = Depends(get_session, scope="function"),
           person: Person | None = Depends(optional_person)) -> Response:
    """The fragment base.html swaps in on every page, and again every ``alerts_broadcast_refresh_seconds``.

    Signed out (the session ended while the page was open), it answers 286 with nothing: htmx stops asking, and the
    sign-in page is never swapped into the banner; the next page's request signs in again."""
    if person is None or not person.is_active:
        return Response(status_code=HTMX_STOP_POLLING, headers={"Cache-Control": "no-store"})
    request.state.person = person
    rows = broadcasts.current(session, request.app.state.clock.now())
    return render(request, "broadcast_banner.html", {"rows": rows, "Severities": BroadcastSeverity},
                  headers={"Cache-Control": "no-store"})
