"""Issue 8, item 7: ids out of range (huge, zero, negative) answer 404 or 422 on every route, never a 500.

The test walks the app's route table, so a new route is covered without being listed here: every path parameter
(ids, and the references and names some routes parse into ids), every integer or cursor query parameter, every
JSON body and every page form field gets the bad value.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.cli import app as cli_app
from gbsmart.core.pagination import encode_cursor
from gbsmart.models.audit import ChangeRecord
from tests.security.routes import fill_path, request_body, routes

HUGE = "99999999999999999999999"
BAD_IDS = [HUGE, "-1", "0"]
def _url(path: str, route: APIRoute, bad: str) -> str:
    url = fill_path(path, bad)
    query = [p.name for p in route.dependant.query_params
             if p.name == "cursor" or p.field_info.annotation in (int, int | None)]
    return url + ("?" + "&".join(f"{name}={bad}" for name in query) if query else "")


@pytest.fixture
def admin(world) -> dict[str, str]:
    return world.user("admin", "code_administrator")


@pytest.mark.parametrize("bad", BAD_IDS)
def test_no_route_answers_500_to_an_out_of_range_id(app, admin, bad) -> None:
    table = routes(app)
    assert len(table) > 100, "the route table walk found too few routes"
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, route in table:
            r = client.request(method, _url(path, route, bad), headers=admin, follow_redirects=False,
                               **request_body(method, path, route, bad))
            if r.status_code >= 500:
                failures.append(f"{method} {r.url} -> {r.status_code}")
    assert not failures, "\n".join(failures)


#: cursors gbsmart never issues: huge or text keys of every length the list routes use, and NUL
FORGED_CURSORS = [encode_cursor(values) for n in (1, 2, 4) for values in ([int(HUGE)] * n, ["abc"] * n, ["\x00"] * n)]


@pytest.mark.parametrize("cursor", FORGED_CURSORS)
def test_no_list_answers_500_to_a_forged_cursor(app, admin, cursor) -> None:
    cursor_routes = [(m, p) for m, p, r in routes(app) if any(q.name == "cursor" for q in r.dependant.query_params)]
    assert len(cursor_routes) >= 5
    failures = []
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path in cursor_routes:
            url = fill_path(path, "x") + f"?cursor={cursor}"
            r = client.request(method, url, headers=admin)
            if r.status_code >= 500:
                failures.append(f"{method} {url} -> {r.status_code}")
    assert not failures, "\n".join(failures)


def test_an_out_of_range_id_names_the_field(client, admin, session) -> None:
    r = client.get(f"/api/v1/parties/{HUGE}", headers=admin)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "path.org_id"
    assert "must be 9223372036854775807 or less" in r.json()["error"]  # plain words (core.errors)
    r = client.get("/api/v1/cpl/entries/0", headers=admin)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "path.entry_id"
    r = client.post(f"/api/v1/parties/{HUGE}/dcc-users", headers=admin,
                    json={"eui64": "90-B3-D5-1F-30-01-00-00", "roles": ["IS"]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "path.org_id"
    r = client.get(f"/api/v1/releases/{HUGE}", headers=admin)
    assert r.status_code == 404 and "No SEC Release" in r.json()["error"]
    assert session.scalars(select(ChangeRecord.action)).all() == []


@pytest.mark.parametrize("command", [["cpl", "show"], ["cpl", "approve", "--as", "admin"]])
@pytest.mark.parametrize("bad", BAD_IDS)
def test_cli_refuses_an_out_of_range_id(cli_env, world, command, bad) -> None:
    """A usage error (exit 2) naming the argument, not a traceback."""
    world.person("admin", "code_administrator")
    r = CliRunner().invoke(cli_app, [*command, "--", bad])
    assert r.exit_code == 2, (r.output, r.exception)
    assert "Invalid value" in r.output and "_id" in r.output
