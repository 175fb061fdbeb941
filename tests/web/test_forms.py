"""The page-form kit: field messages from either kind of refusal, and one roll-back-and-re-render."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.templating import Jinja2Templates
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select

from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import make_sessionmaker
from gbsmart.core.errors import Conflict, Invalid, NotFound
from gbsmart.models.parties import Organisation
from gbsmart.web.forms import FORM_FAILURES, field_errors, parse, read_form, rerender


class Thing(BaseModel):
    name: str = Field(min_length=5)
    count: int
    parts: list[int] = []


def test_validation_errors_become_plain_field_messages() -> None:
    with pytest.raises(ValidationError) as caught:
        parse(Thing, {"name": "ab", "parts": ["x"]})
    errors = field_errors(caught.value)
    assert errors["name"] == "must be at least 5 characters"
    assert errors["count"] == "is required"
    assert errors["parts.0"] == "must be a whole number"
    assert errors["parts"] == "must be a whole number"  # the top-level name marks a nested field too


def test_service_refusals_naming_fields_become_field_messages() -> None:
    exc = Invalid("Two things are wrong", detail=[{"field": "body.name", "message": "is taken"},
                                                  {"field": "count", "message": "is too big"},
                                                  {"field": "count", "message": "is odd"}])
    assert field_errors(exc) == {"name": "is taken", "count": "is too big is odd"}
    assert field_errors(Conflict("no detail")) == {}


def test_parse_lets_values_override_the_form() -> None:
    assert parse(Thing, {"name": "a name", "count": "3"}, parts=[1]).parts == [1]


@pytest.fixture
def form_app(tmp_path, engine, clock, settings) -> FastAPI:
    (tmp_path / "t.html").write_text("{{ error }}|{% for k, v in errors.items() %}{{ k }}={{ v }};{% endfor %}|"
                                     "{{ form.get('name', '') }}|{{ orgs }}")
    app = FastAPI()
    app.state.templates = Jinja2Templates(directory=str(tmp_path))
    factory = make_sessionmaker(engine)

    @app.post("/things")
    async def make_thing(request: Request) -> Response:
        session = factory()
        ctx = Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings)
        form = await read_form(request)
        try:
            session.add(Organisation(name=form.get("name", "?"), kind="sec_party", created_at=clock.now()))
            session.flush()  # written, then refused: the refusal must take this row away again
            thing = parse(Thing, form)
            if thing.count > 9:
                raise Invalid("Too many", detail=[{"field": "count", "message": "must be 9 or fewer"}])
            if thing.count == 4:
                raise NotFound("No such thing")
            if thing.count == 5:
                raise Conflict("Already there")
            if thing.count == 6:  # a refusal kept as evidence: shown like any other, but nothing is rolled back
                refused = Invalid("Refused, and kept", detail=[{"field": "count", "message": "six is refused"}])
                response = rerender(request, ctx, refused, "t.html", {"orgs": "kept"}, form=form, keep=True)
                session.commit()  # the boundary commits what the page returned
                session.close()
                return response
        except FORM_FAILURES as exc:
            try:
                return rerender(request, ctx, exc, "t.html",
                                lambda: {"orgs": session.scalar(select(func.count()).select_from(Organisation))},
                                form=form)
            finally:
                session.close()
        session.commit()
        session.close()
        return Response("made")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return Response("not found page", status_code=404)

    return app


def test_rerender_rolls_back_and_shows_field_messages(form_app, session) -> None:
    with TestClient(form_app) as c:
        r = c.post("/things", data={"name": "Acme Energy", "count": "12"})
        assert r.status_code == 422
        assert r.text == "Nothing was saved: Too many|count=must be 9 or fewer;|Acme Energy|0"
        r = c.post("/things", data={"name": "abc", "count": "x"})
        assert r.status_code == 422
        assert "name=must be at least 5 characters;" in r.text and "count=must be a whole number;" in r.text
        assert r.text.startswith("Nothing was saved: please correct the fields marked below.")
        r = c.post("/things", data={"name": "Acme Energy", "count": "5"})
        assert r.status_code == 409 and r.text.startswith("Nothing was saved: Already there|")
        r = c.post("/things", data={"name": "Acme Energy", "count": "4"})
        assert (r.status_code, r.text) == (404, "not found page")  # not a form problem: the error handlers draw it
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
        assert c.post("/things", data={"name": "Acme Energy", "count": "2"}).text == "made"
    assert session.scalar(select(func.count()).select_from(Organisation)) == 1


def test_rerender_can_keep_a_refusal_recorded_as_evidence(form_app, session) -> None:
    with TestClient(form_app) as c:
        r = c.post("/things", data={"name": "Kept Energy", "count": "6"})
        assert r.status_code == 422
        assert r.text == "Refused, and kept|count=six is refused;|Kept Energy|kept"  # not "Nothing was saved"
    assert session.scalar(select(Organisation.name)) == "Kept Energy"


def test_a_field_prefix_and_a_reference_in_the_form_that_names_nothing(tmp_path, engine, clock, settings) -> None:
    """Two forms on one page may both have a ``title``: the prefix names the one that was refused. A 404 after the
    page's own object was found is about the form's input: a 422 on the form."""
    (tmp_path / "p.html").write_text("{{ error }}|{% for k, v in errors.items() %}{{ k }}={{ v }};{% endfor %}")
    app = FastAPI()
    app.state.templates = Jinja2Templates(directory=str(tmp_path))
    factory = make_sessionmaker(engine)

    @app.post("/page")
    async def post(request: Request) -> Response:
        with factory() as session:
            ctx = Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings)
            form = await read_form(request)
            try:
                parse(Thing, form)
            except FORM_FAILURES as exc:
                return rerender(request, ctx, exc, "p.html", {}, form=form, field_prefix="appendix.")
            return Response("made")

    @app.post("/meeting")
    async def minute(request: Request) -> Response:
        """The page's meeting was found; the form then names a person who does not exist."""
        with factory() as session:
            ctx = Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings)
            try:
                raise NotFound("No person nobody.")
            except FORM_FAILURES as exc:
                return rerender(request, ctx, exc, "p.html", {}, page_found=True)

    with TestClient(app) as c:
        r = c.post("/page", data={"name": "abc", "count": "1"})
        assert r.status_code == 422
        assert r.text == ("Nothing was saved: please correct the fields marked below."
                          "|appendix.name=must be at least 5 characters;")
        r = c.post("/meeting")
        assert (r.status_code, r.text) == (422, "Nothing was saved: No person nobody.|")
