"""Account security in the portal: turn the second factor on (a secret as QR code, confirmed by a code) or off
(with a current code). Open to a person who must enrol before anything else (``enrolling_ctx``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import AppError
from gbsmart.models.parties import Person
from gbsmart.parties import second_factor
from gbsmart.parties.errors import TooManySignIns
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import enrolling_ctx
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])


def _safe_next(target: str | None) -> str:
    if not target or urlparse(target).scheme or urlparse(target).netloc or not target.startswith("/") \
            or target.startswith("//"):
        return "/"
    return target


def _person(ctx: Ctx) -> Person:
    person = ctx.session.get(Person, ctx.actor.person_id)
    assert person is not None
    return person


def _context(ctx: Ctx, person: Person, next_: str, *, fresh: bool = False) -> dict[str, Any]:
    enabled = second_factor.is_enabled(person)
    return {"enabled": enabled, "enrolment": None if enabled else second_factor.enrolment(ctx, person, fresh=fresh),
            "required": second_factor.required_roles(ctx.settings, person),
            "role_names": second_factor.role_names, "next": _safe_next(next_), "error": None}


def _refused(request: Request, ctx: Ctx, person: Person, exc: AppError, next_: str) -> Response:
    # rendered, not raised: a wrong code counts in the sign-in throttle, and that count is committed
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, TooManySignIns) else None
    values = _context(ctx, person, next_)
    values["error"] = exc.message
    return render(request, "second_factor.html", values, status_code=exc.status, headers=headers)


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.get("/account/second-factor")
def page(request: Request, next: str | None = None, ctx: Ctx = Depends(enrolling_ctx)) -> Response:  # noqa: A002
    return render(request, "second_factor.html", _context(ctx, _person(ctx), next or "/"))


@router.post("/account/second-factor/new")
def new_secret(request: Request, next: str = Form("/"), ctx: Ctx = Depends(enrolling_ctx)) -> Response:  # noqa: A002
    return render(request, "second_factor.html", _context(ctx, _person(ctx), next, fresh=True))


@router.post("/account/second-factor/confirm")
def confirm(request: Request, code: str = Form(""), next: str = Form("/"),  # noqa: A002
            ctx: Ctx = Depends(enrolling_ctx)) -> Response:
    person = _person(ctx)
    try:
        second_factor.confirm(ctx, person, code, _address(request), getattr(request.state, "web_session", None))
    except AppError as exc:
        return _refused(request, ctx, person, exc, next)
    target = _safe_next(next)
    return RedirectResponse(target if target != "/" else "/account/second-factor?on=1", status_code=303)


@router.post("/account/second-factor/disable")
def disable(request: Request, code: str = Form(""), ctx: Ctx = Depends(enrolling_ctx)) -> Response:
    person = _person(ctx)
    try:
        second_factor.disable(ctx, person, code, _address(request))
    except AppError as exc:
        return _refused(request, ctx, person, exc, "/")
    return RedirectResponse("/account/second-factor?off=1", status_code=303)
