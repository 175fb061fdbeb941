"""Issue 8, item 10: NUL, ESC and other control characters are refused in text fields (422, the field named).

A proposal title with U+0000 and ESC used to be stored (or, on PostgreSQL, fail with a 500) and was written raw into
register.csv. The last test walks every input schema of the app, so a new text field is covered without being
listed here.
"""

from __future__ import annotations

import importlib
import pkgutil
import typing
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from typer.testing import CliRunner

import gbsmart
from gbsmart.app import create_app
from gbsmart.cli import app as cli_app
from gbsmart.config import Settings
from gbsmart.models.change import Proposal
from tests.security.routes import fill_path, request_body, routes

BAD_TITLE = "Meter\x00 reads\x1b[31m wrong"
PROBLEM = "A problem statement long enough to be accepted by the schema."


def _proposals(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Proposal))


@pytest.fixture
def party(world) -> dict[str, str]:
    return world.user("pat", "party_user", org=world.org("Small Supplier Ltd", category="small_supplier"))


def test_api_refuses_a_title_with_nul_and_esc(client, party, session) -> None:
    r = client.post("/api/v1/proposals", headers=party, json={"title": BAD_TITLE, "problem_statement": PROBLEM})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "body.title"
    assert "must not contain control characters (found U+0000 at position 6)" in r.json()["error"]
    assert _proposals(session) == 0


def test_api_refuses_esc_alone(client, party, session) -> None:
    r = client.post("/api/v1/proposals", headers=party,
                    json={"title": "Colour \x1b[31mred", "problem_statement": PROBLEM})
    assert r.status_code == 422 and "U+001B at position 8" in r.json()["error"]
    assert _proposals(session) == 0


def test_page_form_refuses_a_title_with_nul_and_esc(client, party, session) -> None:
    r = client.post("/proposals/new", headers=party, data={"title": BAD_TITLE, "problem_statement": PROBLEM})
    assert r.status_code == 422
    assert "must not contain control characters" in r.text
    assert _proposals(session) == 0


def test_cli_refuses_a_title_with_nul_and_esc(cli_env, world, session) -> None:
    world.person("pat", "party_user", org=world.org("Small Supplier Ltd", category="small_supplier"))
    r = CliRunner().invoke(cli_app, ["change", "raise", "--as", "pat", "--title", "Meter reads\x1b[31m wrong",
                                     "--problem", PROBLEM])
    assert r.exit_code == 1
    assert "title" in r.output and "must not contain control characters (found U+001B" in r.output
    assert _proposals(session) == 0


def test_multi_line_text_keeps_newlines_and_tabs(client, party, session) -> None:
    problem = "First line of the problem.\nSecond line,\tindented.\r\nThird line."
    r = client.post("/api/v1/proposals", headers=party,
                    json={"title": "Meters read wrong", "problem_statement": problem})
    assert r.status_code == 201, r.text
    assert session.scalar(select(Proposal.problem_statement)) == problem
    r = client.post("/api/v1/proposals", headers=party,
                    json={"title": "One line\nor two", "problem_statement": problem})
    assert r.status_code == 422 and "U+000A" in r.json()["error"]
    assert _proposals(session) == 1


# ---------------------------------------------------------------- every input schema, every text field


def _models_in(annotation) -> typing.Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def _has_str(annotation) -> bool:
    return annotation is str or any(_has_str(a) for a in typing.get_args(annotation))


def _is_list(annotation) -> bool:
    return typing.get_origin(annotation) is list or any(_is_list(a) for a in typing.get_args(annotation))


def _input_fields() -> list[tuple[type[BaseModel], str]]:
    """Every str field of every schema class that is not only a response (those carry stored data back)."""
    schema_modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(gbsmart.__path__, "gbsmart.")
                      if m.name.endswith(".schemas")]
    classes = {obj for mod in schema_modules for obj in vars(mod).values()
               if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == mod.__name__}
    app = create_app(Settings(secret_key="x"))
    responses, bodies = set(), set()
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if isinstance(route, APIRoute):
            responses.update(_models_in(route.response_model))
            for param in route.dependant.body_params:
                bodies.update(_models_in(param.field_info.annotation))
    inputs = (classes - responses) | bodies
    return sorted(((cls, name) for cls in inputs for name, f in cls.model_fields.items() if _has_str(f.annotation)),
                  key=lambda cf: (cf[0].__module__, cf[0].__name__, cf[1]))


INPUT_FIELDS = _input_fields()


def test_the_walk_finds_the_input_schemas() -> None:
    names = {f"{cls.__name__}.{field}" for cls, field in INPUT_FIELDS}
    assert {"DraftProposalCreate.title", "SubmissionCreate.release_notes", "AgendaItemCreate.discussion",
            "PaperCreate.recipients", "RegistrationCreate.mpxn"} <= names
    assert not any(name.startswith(("ProposalRead.", "EntryRead.")) for name in names)


@pytest.mark.parametrize(("model", "field"), INPUT_FIELDS, ids=[f"{c.__name__}.{f}" for c, f in INPUT_FIELDS])
def test_every_input_text_field_refuses_nul(model: type[BaseModel], field: str) -> None:
    value = "ab\x00cd"
    annotation = model.model_fields[field].annotation
    with pytest.raises(ValidationError) as refused:
        model.model_validate({field: [value] if _is_list(annotation) else value})
    errors = [e for e in refused.value.errors() if e["loc"] and e["loc"][0] == field]
    assert errors, f"{model.__name__}.{field} accepted a NUL"


# ---------------------------------------------------------------- path, query and form parameters of every route


@pytest.mark.parametrize("bad", ["\x00", "a\x1bb"])
def test_no_route_answers_500_to_control_characters(app, world, bad) -> None:
    """PostgreSQL refuses NUL in a query's parameters: every path parameter, text query parameter and page form
    field gets one."""
    admin = world.user("admin", "code_administrator")
    failures = []
    quoted = quote(bad)
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, route in routes(app):
            url = fill_path(path, quoted)
            texts = [p.name for p in route.dependant.query_params if _has_str(p.field_info.annotation)]
            url += "?" + "&".join(f"{name}={quoted}" for name in texts) if texts else ""
            r = client.request(method, url, headers=admin, follow_redirects=False,
                               **request_body(method, path, route, bad))
            if r.status_code >= 500:
                failures.append(f"{method} {url} -> {r.status_code}")
    assert not failures, "\n".join(failures)


def test_control_characters_in_a_path_or_query_name_the_parameter(client, party) -> None:
    r = client.get("/api/v1/proposals/DP%00001", headers=party)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "path.reference"
    assert "must not contain control characters (found U+0000 at position 3)" in r.json()["error"]
    r = client.get("/api/v1/proposals?q=meter%1B", headers=party)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "query.q"
