"""Issue 8, item 7: ids out of range (huge, zero, negative) answer 404 or 422 on every route, never a 500.

The test walks the app's route table, so a new route is covered without being listed here: every path parameter
(ids, and the references and names some routes parse into ids), every integer or cursor query parameter, every
JSON body and every page form field gets the bad value.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

import gbsmart
from gbsmart.core.pagination import encode_cursor
from gbsmart.models.audit import ChangeRecord

HUGE = "99999999999999999999999"
BAD_IDS = [HUGE, "-1", "0"]
#: routes that take no id, so the bad value cannot reach them; anything else is called
SKIP = {"/logout", "/login", "/healthz", "/favicon.ico", "/"}

_TEMPLATES = Path(gbsmart.__file__).parent
#: every form field name any page template uses, so a new form field is covered too
FORM_FIELDS = sorted({m for t in _TEMPLATES.rglob("*.html") for m in re.findall(r'name="(\w+)"', t.read_text())})


def _routes(app) -> list[tuple[str, str, APIRoute]]:  # noqa: ANN001
    out = []
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if not isinstance(route, APIRoute) or rc.path in SKIP:
            continue
        out.extend((method, rc.path, route) for method in sorted(rc.methods or ()) if method != "HEAD")
    return out


def _url(path: str, route: APIRoute, bad: str) -> str:
    url = re.sub(r"\{(\w+)(:\w+)?\}", bad, path)
    query = [p.name for p in route.dependant.query_params
             if p.name == "cursor" or p.field_info.annotation in (int, int | None)]
    return url + ("?" + "&".join(f"{name}={bad}" for name in query) if query else "")


@pytest.fixture
def admin(world) -> dict[str, str]:  # noqa: ANN001
    return world.user("admin", "code_administrator")


@pytest.mark.parametrize("bad", BAD_IDS)
def test_no_route_answers_500_to_an_out_of_range_id(app, admin, bad) -> None:  # noqa: ANN001
    routes = _routes(app)
    assert len(routes) > 100, "the route table walk found too few routes"
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, route in routes:
            url = _url(path, route, bad)
            if path.startswith("/api/"):
                body = {"json": {}} if route.dependant.body_params and method != "GET" else {}
            else:
                body = {"data": dict.fromkeys(FORM_FIELDS, bad)} if method == "POST" else {}
            r = client.request(method, url, headers=admin, follow_redirects=False, **body)
            if r.status_code >= 500:
                failures.append(f"{method} {url} -> {r.status_code}")
    assert not failures, "\n".join(failures)


#: cursors gbsmart never issues: huge or text keys of every length the list routes use, and NUL
FORGED_CURSORS = [encode_cursor(values) for n in (1, 2, 4) for values in ([int(HUGE)] * n, ["abc"] * n, ["\x00"] * n)]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
def test_no_list_answers_500_to_a_forged_cursor(app, admin, cursor) -> None:  # noqa: ANN001
    cursor_routes = [(m, p) for m, p, r in _routes(app) if any(q.name == "cursor" for q in r.dependant.query_params)]
    assert len(cursor_routes) >= 5
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in cursor_routes:
            url = re.sub(r"\{(\w+)(:\w+)?\}", "x", path) + f"?cursor={cursor}"
            r = client.request(method, url, headers=admin)
            if r.status_code >= 500:
                failures.append(f"{method} {url} -> {r.status_code}")
    assert not failures, "\n".join(failures)


def test_an_out_of_range_id_names_the_field(client, admin, session) -> None:  # noqa: ANN001
    r = client.get(f"/api/v1/parties/{HUGE}", headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "path.org_id"
    assert "less than or equal to 9223372036854775807" in r.json()["error"]
    r = client.get("/api/v1/cpl/entries/0", headers=admin)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "path.entry_id"
    r = client.post(f"/api/v1/parties/{HUGE}/dcc-users", headers=admin,
                    json={"eui64": "90-B3-D5-1F-30-01-00-00", "roles": ["IS"]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "path.org_id"
    r = client.get(f"/api/v1/releases/{HUGE}", headers=admin)
    assert r.status_code == 404 and "No SEC Release" in r.json()["error"]
    assert session.scalars(select(ChangeRecord.action)).all() == []
