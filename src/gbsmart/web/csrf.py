"""CSRF protection for cookie-authenticated requests: a per-session token in forms and htmx headers.

A signed-in browser's token lives in its server-side session (``web_sessions.csrf_token``); before sign-in
the login form's token is kept in the cookie itself (``csrf``), which then holds nothing else.
"""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from gbsmart.core.errors import Forbidden
from gbsmart.core.security import same
from gbsmart.models.sessions import WebSession
from gbsmart.web.deps import SAFE_METHODS, current_web_session


async def csrf_protect(request: Request, web: WebSession | None = Depends(current_web_session)) -> None:
    """Refuse an unsafe request whose CSRF token does not match the session's (bearer requests are exempt)."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    expected = web.csrf_token if web is not None else request.session.get("csrf")
    supplied: str | UploadFile | None = request.headers.get("x-csrf-token")
    if not supplied:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            supplied = (await request.form()).get("csrf_token")
    if not same(expected, supplied if isinstance(supplied, str) else None):
        raise Forbidden("The form has expired or did not come from gbsmart (CSRF check failed). Reload and retry.")
