"""CSRF protection for cookie-authenticated requests: a per-session token in forms and htmx headers."""

from __future__ import annotations

from fastapi import Request

from gbsmart.core.errors import Forbidden
from gbsmart.core.security import same

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def csrf_protect(request: Request) -> None:
    """Refuse an unsafe request whose CSRF token does not match the session's (bearer requests are exempt)."""
    if request.method in SAFE_METHODS:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    expected = request.session.get("csrf")
    supplied = request.headers.get("x-csrf-token")
    if not supplied:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            supplied = (await request.form()).get("csrf_token")
    if not same(expected, supplied if isinstance(supplied, str) else None):
        raise Forbidden("The form has expired or did not come from gbsmart (CSRF check failed). Reload and retry.")
