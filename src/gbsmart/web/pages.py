"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid, Unauthorised
from gbsmart.models.sessions import WebSession
from gbsmart.parties import second_factor, sessions, signin
from gbsmart.parties.errors import TooManySignIns
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import anonymous_ctx, current_web_session
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


# a signed-in browser's form carries its own session's CSRF token, so signing in again works
@router.get("/login", dependencies=[Depends(current_web_session)])
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "username": ""})


@router.post("/login", dependencies=[Depends(csrf_protect)])
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),  # noqa: A002
    ctx: Ctx = Depends(anonymous_ctx),
    web: WebSession | None = Depends(current_web_session),
) -> Response:
    address = request.client.host if request.client else None
    try:
        person = signin.sign_in(ctx, username, password, address)
    except (Unauthorised, TooManySignIns) as exc:
        # returned, not raised: the failure, any lock and its audit are committed with the refusal
        headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, TooManySignIns) else None
        return render(request, "login.html", {"next": _safe_next(next), "error": exc.message, "username": username},
                      status_code=exc.status, headers=headers)
    if web is not None:
        sessions.end(web, ctx.clock.now(), "signed in again")
    sid = sessions.start(ctx, person, request.headers.get("user-agent"), address)
    request.session.clear()
    request.session["sid"] = sid  # the cookie holds the session's random id and nothing else
    target = _safe_next(next)
    if second_factor.is_enabled(person):  # the password alone never makes the session usable
        return RedirectResponse("/login/code?" + urlencode({"next": target}), status_code=303)
    if second_factor.required_roles(ctx.settings, person):
        return RedirectResponse("/account/second-factor?" + urlencode({"next": target}), status_code=303)
    return RedirectResponse(target, status_code=303)


def _pending(web: WebSession | None) -> WebSession | None:
    """The browser's session if it has given its password and still owes its second-factor code."""
    if web is None or not second_factor.is_enabled(web.person) or web.second_factor_at is not None:
        return None
    return web


@router.get("/login/code")
def code_form(request: Request, next: str | None = None,  # noqa: A002
              web: WebSession | None = Depends(current_web_session)) -> Response:
    if _pending(web) is None:
        return RedirectResponse(_safe_next(next) if web is not None else "/login", status_code=303)
    return render(request, "login_code.html", {"next": _safe_next(next), "error": None})


@router.post("/login/code", dependencies=[Depends(csrf_protect)])
def give_code(
    request: Request,
    code: str = Form(""),
    next: str = Form("/"),  # noqa: A002
    ctx: Ctx = Depends(anonymous_ctx),
    web: WebSession | None = Depends(current_web_session),
) -> Response:
    pending = _pending(web)
    if pending is None:
        return RedirectResponse(_safe_next(next) if web is not None else "/login", status_code=303)
    try:
        second_factor.give_code(ctx, pending, code, request.client.host if request.client else None)
    except (Unauthorised, Invalid, TooManySignIns) as exc:
        # returned, not raised: the counted failure, any lock and its audit are committed with the refusal
        headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, TooManySignIns) else None
        if pending.revoked_at is not None:  # too late: sign in again
            request.session.clear()
        return render(request, "login_code.html", {"next": _safe_next(next), "error": exc.message},
                      status_code=exc.status, headers=headers)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request, ctx: Ctx = Depends(anonymous_ctx),
           web: WebSession | None = Depends(current_web_session)) -> Response:
    if web is not None:
        sessions.end(web, ctx.clock.now(), "signed out")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
