"""Browser tests: headless Debian Chromium driven by Playwright, and a live gbsmart server to point it at.

Fixtures:

* ``chromium_path`` (session) - the Chromium executable: ``$GBSMART_CHROMIUM``, ``/usr/bin/chromium`` or
  ``chromium`` on PATH.  Playwright's own browser downloads are never used.
* ``browser`` (session) - a headless ``playwright.sync_api.Browser``.
* ``page`` (function) - a ``Page`` in a fresh browser context (30 s default timeout; 15 s for ``expect``); when the test
  fails, a screenshot and the page's HTML are saved under ``test-artifacts/``.
* ``new_page`` (function) - factory for more pages, each in its own context (e.g. two users at once):
  ``new_page(**context_kwargs) -> Page``; same timeout and failure screenshots.
* ``live_server`` (function) - factory: ``live_server(settings, clock=None) -> base_url`` serves
  ``gbsmart.app.create_app(settings=settings, clock=clock)`` with uvicorn on a free 127.0.0.1 port in a
  background thread, returns once ``GET /healthz`` answers 200, and stops the server after the test.
  Extra keyword arguments go to ``create_app`` (e.g. ``engine=``); ``app=`` serves a ready-made ASGI app
  instead (it must answer ``GET /healthz`` with 200).
* ``portal_db`` (function) - a portal's own SQLite file with every table: ``.settings`` (for ``live_server``),
  ``.engine``, ``.session`` (closed and disposed after the test).

Tests using ``browser``/``page``/``new_page`` get the ``browser`` marker automatically.  This plugin
does not use pytest-playwright; run pytest with ``-p no:playwright`` (scripts/test does).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ENV_CHROMIUM = "GBSMART_CHROMIUM"
ENV_SKIP = "GBSMART_TEST_SKIP_BROWSER"
ENV_ARTIFACTS = "GBSMART_TEST_ARTIFACTS"
#: generous, because it is only ever waited out when something is wrong: a CI run with both workers busy saw a
#: sign-in's navigation take over 10 s (a password hash, then the page, on a loaded 2-core machine)
DEFAULT_TIMEOUT_MS = 30_000
#: ``expect(...)`` assertions retry until this (Playwright's own default is 5 s)
EXPECT_TIMEOUT_MS = 15_000

#: Debian's Chromium in a container with no network but the loopback: no sandbox (we run as root),
#: no GPU, and none of the background traffic it would otherwise retry endlessly.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

_BROWSER_FIXTURES = {"browser", "page", "new_page"}
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


# -- Chromium and Playwright ----------------------------------------------------------------------------


def find_chromium() -> str | None:
    configured = os.environ.get(ENV_CHROMIUM)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        where = os.environ.get(ENV_CHROMIUM) or "/usr/bin/chromium or `chromium` on PATH"
        if os.environ.get(ENV_SKIP) == "1":
            pytest.skip(f"no Chromium at {where} and {ENV_SKIP}=1")
        pytest.fail(
            f"No Chromium found ({where}). Run `scripts/test`, which installs it "
            f"(Debian: apt-get install chromium), or set {ENV_CHROMIUM} to a Chromium executable, "
            f"or {ENV_SKIP}=1 to skip the browser tests.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        pytest.fail(f"Could not launch Chromium at {chromium_path}:\n{exc}", pytrace=False)
    try:
        yield chromium
    finally:
        try:
            chromium.close()
        finally:
            playwright.stop()


def _artifacts_dir(config: pytest.Config) -> Path:
    return Path(os.environ.get(ENV_ARTIFACTS) or config.rootpath / "test-artifacts")


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(rep.failed for rep in reports.values())


def _save_failure_artifacts(request: pytest.FixtureRequest, pages: list[Page]) -> None:
    out = _artifacts_dir(request.config)
    out.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid).strip("_")[:180]
    for n, pg in enumerate(pages):
        if pg.is_closed():
            continue
        name = stem if n == 0 else f"{stem}.{n}"
        try:
            pg.screenshot(path=str(out / f"{name}.png"), full_page=True, timeout=5_000)
            (out / f"{name}.html").write_text(pg.content(), encoding="utf-8")
        except Exception as exc:  # noqa: BLE001 - never mask the test's own failure
            (out / f"{name}.error.txt").write_text(f"could not capture page: {exc}\n")


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    contexts: list = []
    pages: list[Page] = []

    def make(**context_kwargs: Any) -> Page:
        context_kwargs.setdefault("locale", "en-GB")
        context_kwargs.setdefault("timezone_id", "Europe/London")
        context_kwargs.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**context_kwargs)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        pg = context.new_page()
        pages.append(pg)
        return pg

    yield make
    try:
        if _failed(request.node):
            _save_failure_artifacts(request, pages)
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


# -- live gbsmart server ----------------------------------------------------------------------------------


class LiveServer:
    """uvicorn serving ``app`` on a free 127.0.0.1 port in a daemon thread: ``start()``, ``url``, ``stop()``."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3)
        self.server = uvicorn.Server(config)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, name=f"live-server-{self.port}", daemon=True)

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self.error = exc

    def start(self, timeout: float = 90) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        last = "server thread did not start"
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError(f"live server exited during startup: {self.error!r}")
            if self.server.started:
                try:
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=10) as resp:
                        if resp.status == 200:
                            return
                        last = f"/healthz answered {resp.status}"
                except (urllib.error.URLError, OSError) as exc:
                    last = f"/healthz: {exc}"
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"live server at {self.url} not ready after {timeout}s ({last})")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """Factory: ``live_server(settings, clock=None) -> "http://127.0.0.1:<port>"``; stopped after the test."""
    servers: list[LiveServer] = []

    def start(settings: Any = None, clock: Any = None, *, app: Any = None, **create_app_kwargs: Any) -> str:
        if app is None:
            from gbsmart.app import create_app

            app = create_app(settings=settings, clock=clock, **create_app_kwargs)
        server = LiveServer(app)
        servers.append(server)
        try:
            server.start()
        except RuntimeError as exc:
            pytest.fail(str(exc), pytrace=False)
        return server.url

    yield start
    for server in reversed(servers):
        server.stop()


class PortalDb:
    """A portal's own database file, its settings and a session on it."""

    def __init__(self, tmp_path: Path) -> None:
        from gbsmart.config import Settings
        from gbsmart.core.db import Base, make_engine, make_sessionmaker

        url = f"sqlite:///{tmp_path / 'portal.db'}"
        self.settings = Settings(data_dir=tmp_path / "var", database_url=url,
                                 secret_key="test-secret-key-not-for-production")
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)
        self.session = make_sessionmaker(self.engine)()


@pytest.fixture
def portal_db(tmp_path: Path) -> Iterator[PortalDb]:
    db = PortalDb(tmp_path)
    yield db
    db.session.close()
    db.engine.dispose()


# -- markers ------------------------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real headless Chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
