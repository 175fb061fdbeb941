"""The interactive API docs (/api/v1/docs) in Chromium with no internet: Swagger UI's script and styles come from
gbsmart itself, so the page renders its operations even when every request off this machine is refused."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from gbsmart.config import Settings
from gbsmart.core.db import Base, make_engine

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_the_operations_offline(tmp_path, live_server, new_page):
    db_url = f"sqlite:///{tmp_path / 'docs.db'}"
    Base.metadata.create_all(make_engine(db_url))
    url = live_server(Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key="test-secret-key-not-for-"
                                                                                          "production"))
    page = new_page()
    refused: list[str] = []

    def offline(route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", offline)
    page.goto(url + "/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("gbsmart")
    operations = page.locator(".opblock-summary-path")
    expect(operations.first).to_be_visible()
    expect(page.locator(".opblock-summary-path[data-path='/api/v1/proposals']").first).to_be_visible()
    assert operations.count() > 20
    assert refused == [], f"the docs page asked for {refused}"


def test_the_docs_page_names_only_local_assets(client):
    html = client.get("/api/v1/docs").text
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    js = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
