"""Jinja2 set-up and a ``render`` helper that gives every page the signed-in person and a CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from gbsmart.core import codes
from gbsmart.core.security import new_csrf_token
from gbsmart.models.sessions import WebSession

TEMPLATE_DIRS = [Path(__file__).parent / "templates"]


def make_templates() -> Jinja2Templates:
    dirs = list(TEMPLATE_DIRS)
    # each domain keeps its page templates beside its pages.py
    root = Path(__file__).parent.parent
    dirs += sorted(p for p in root.glob("*/templates") if p.parent.name != "web")
    templates = Jinja2Templates(directory=[str(d) for d in dirs])
    templates.env.globals["csrf_token"] = csrf_token
    templates.env.filters["d"] = _fmt_date
    templates.env.filters["dt"] = _fmt_datetime
    templates.env.globals["explain_code"] = codes.explain  # a code's title and plain English (core/codes.toml)
    return templates


def csrf_token(request: Request) -> str:
    """The signed-in session's token, or (before sign-in) one kept in the cookie for the login form."""
    web: WebSession | None = getattr(request.state, "web_session", None)
    if web is not None:
        return web.csrf_token
    token = request.session.get("csrf")
    if not token:
        token = new_csrf_token()
        request.session["csrf"] = token
    return token


def _fmt_date(value: Any) -> str:
    return value.strftime("%d %b %Y") if value else ""


def _fmt_datetime(value: Any) -> str:
    return value.strftime("%d %b %Y %H:%M UTC") if value else ""


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    ctx = {"person": getattr(request.state, "person", None)}
    ctx.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
