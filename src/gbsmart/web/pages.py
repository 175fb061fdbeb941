"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Unauthorised
from gbsmart.models.sessions import WebSession
from gbsmart.parties import sessions, signin
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
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request, ctx: Ctx = Depends(anonymous_ctx),
           web: WebSession | None = Depends(current_web_session)) -> Response:
    if web is not None:
        sessions.end(web, ctx.clock.now(), "signed out")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
