"""The app's route table for the tests that send every route a bad value: new routes and form fields are covered."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

import gbsmart

#: routes with nothing for a bad value to reach (signing in and out, health)
SKIP = {"/logout", "/login", "/healthz", "/favicon.ico", "/"}

#: every form field name any page template uses
FORM_FIELDS = sorted({m for t in Path(gbsmart.__file__).parent.rglob("*.html")
                      for m in re.findall(r'name="(\w+)"', t.read_text())})


def routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) for every API and page route but SKIP's."""
    out = []
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if not isinstance(route, APIRoute) or rc.path in SKIP:
            continue
        out.extend((method, rc.path, route) for method in sorted(rc.methods or ()) if method != "HEAD")
    return out


def fill_path(path: str, value: str) -> str:
    """The path with ``value`` in every parameter: /api/v1/parties/{org_id} -> /api/v1/parties/<value>."""
    return re.sub(r"\{(\w+)(:\w+)?\}", value, path)


def request_body(method: str, path: str, route: APIRoute, value: str) -> dict:
    """An empty JSON body for an API route that takes one; every template form field set to ``value`` for a page."""
    if method == "GET":
        return {}
    if path.startswith("/api/"):
        return {"json": {}} if route.dependant.body_params else {}
    return {"data": dict.fromkeys(FORM_FIELDS, value)}
