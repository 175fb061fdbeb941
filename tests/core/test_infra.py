"""The test infrastructure itself: both databases, the throwaway PostgreSQL cluster, Chromium, the live server."""

from __future__ import annotations

import json
import urllib.request

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select, text

# Harmless once tests/conftest.py lists it too; a plugin is only ever registered once.
pytest_plugins = ["tests.plugins.browser"]


def test_db_url_round_trip(db_url, request):
    """A table can be created, written and read on every selected database, and it is the right one."""
    expected = request.node.callspec.params["db_url"]
    engine = create_engine(db_url)
    try:
        assert engine.dialect.name == expected
        meta = MetaData()
        things = Table("infra_things", meta, Column("id", Integer, primary_key=True), Column("name", String(50)))
        meta.create_all(engine)
        with engine.begin() as conn:
            conn.execute(things.insert(), [{"id": 1, "name": "meter"}, {"id": 2, "name": "hub"}])
        with engine.connect() as conn:
            assert conn.execute(select(things.c.name).order_by(things.c.id)).scalars().all() == ["meter", "hub"]
    finally:
        engine.dispose()


def test_each_test_gets_an_empty_database(db_url):
    """Nothing leaks between tests: the table made by the test above is not here."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
            else:
                names = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
                names = names.all()
        assert names == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_server_makes_distinct_databases(postgresql_server):
    first, second = postgresql_server.new_database(), postgresql_server.new_database()
    assert first != second
    assert first.startswith(f"postgresql+psycopg://postgres@127.0.0.1:{postgresql_server.port}/")
    assert postgresql_server.host == "127.0.0.1" and postgresql_server.user == "postgres"
    engine = create_engine(first)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW fsync")).scalar() == "off"
            assert conn.execute(text("SELECT current_setting('server_version_num')::int")).scalar() >= 150000
    finally:
        engine.dispose()
    for url in (first, second):
        postgresql_server.drop_database(url)


@pytest.mark.browser
def test_chromium_renders_a_page(page, tmp_path):
    html = tmp_path / "hello.html"
    html.write_text(
        "<!doctype html><html><head><title>gbsmart infra</title></head>"
        "<body><h1 id='greeting'>Hello, meter</h1>"
        "<script>document.getElementById('greeting').dataset.ready = 'yes';</script></body></html>",
        encoding="utf-8",
    )
    page.goto(html.as_uri())
    assert page.title() == "gbsmart infra"
    assert page.locator("#greeting").inner_text() == "Hello, meter"
    assert page.locator("#greeting").get_attribute("data-ready") == "yes"  # JavaScript ran


def _tiny_app():
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return "<!doctype html><title>live</title><p id='who'>served by uvicorn</p>"

    return app


def test_live_server_starts_and_stops():
    """The server behind live_server runs an app on a free loopback port and really stops."""
    from tests.plugins.browser import LiveServer

    server = LiveServer(_tiny_app())
    server.start()
    try:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=5) as resp:
            assert resp.status == 200 and json.loads(resp.read()) == {"status": "ok"}
    finally:
        server.stop()
    assert not server.thread.is_alive()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.url}/healthz", timeout=2)


@pytest.mark.browser
def test_chromium_drives_a_live_server(live_server, page):
    base_url = live_server(app=_tiny_app())
    assert base_url.startswith("http://127.0.0.1:")
    page.goto(base_url + "/")
    assert page.title() == "live"
    assert page.locator("#who").inner_text() == "served by uvicorn"
