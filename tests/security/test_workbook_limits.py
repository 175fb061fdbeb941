"""Issue 8, item 2: a CPL workbook must not freeze the server, fill its memory or flood the response.

Each test replays an attack through a public door (the API, the /cpl page form, `gbsmart cpl import`) with hostile
workbooks built here, and checks the refusal names the limit, the figure found and the setting, and that nothing
was stored. Limits are set low through Settings so the files stay small, except the shared-string bomb, which is
a real 200 MB part in a zip of about 200 KB.
"""

from __future__ import annotations

import io
import random
import re
import threading
import tracemalloc
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

import gbsmart.models.cpl  # noqa: F401 - registers the CPL tables before the test database is created
from gbsmart.config import get_settings
from gbsmart.cpl.cli import app as cpl_cli
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.cpl import CplEntry, Submission
from tests.conftest import TEST_PASSWORD

API = "/api/v1/cpl/import"
PAGE = "/cpl/import"
HEADER = ["Manufacturer", "Model", "Hardware Version", "Firmware Version", "Physical Device Type", "CPA Expiry Date"]
BOMB_BYTES = 200 * 1024 * 1024


def new_entries(rows: int, *, bad: bool = False) -> bytes:
    """A workbook whose New Entry sheet has ``rows`` rows (each with a bad CPA expiry date if ``bad``)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("New Entry")
    ws.append(HEADER)
    for i in range(rows):
        ws.append(["Demo Meters Ltd", f"DM-{i}", "A1", "1.0", "Gas Smart Meter", "not a date" if bad else None])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rewrite(content: bytes, changes: dict) -> bytes:
    """The same zip with some parts' bytes passed through a function."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, changes.get(info.filename, lambda d: d)(data))
    return out.getvalue()


def shared_string_bomb(size: int = BOMB_BYTES) -> bytes:
    """A real workbook (a New Entry sheet) with a shared-string table holding one ``size``-byte string: a zip of a
    few hundred KB declaring, truthfully, a part of ``size`` bytes."""
    sst = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    book = rewrite(new_entries(1), {
        "[Content_Types].xml": lambda xml: xml.replace(
            b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{sst}"/></Types>'.encode()),
        "xl/_rels/workbook.xml.rels": lambda xml: xml.replace(
            b"</Relationships>", f'<Relationship Id="rIdBomb" Type="{rel}" Target="sharedStrings.xml"/>'
                                 "</Relationships>".encode())})
    out = io.BytesIO(book)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as dst:
        info = zipfile.ZipInfo("xl/sharedStrings.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=True) as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
                       b'uniqueCount="1"><si><t>')
            chunk = b"A" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                part.write(chunk)
            part.write(b"</t></si></sst>")
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return shared_string_bomb()


def noise(n: int) -> bytes:
    """``n`` incompressible bytes: only the size of the upload matters."""
    return random.Random(n).randbytes(n)


def stored(session) -> tuple[int, int, int]:
    session.expire_all()
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Submission, CplEntry, ChangeRecord))


@pytest.fixture
def maker(world) -> dict[str, str]:
    """A manufacturer's user: anyone signed in may import a workbook's New Entry rows."""
    return world.user("maker", "party_user", org=world.org("Demo Meters Ltd", category="other"))


def post(client, path: str, content: bytes, headers: dict[str, str], **extra):
    return client.post(path, files={"file": ("cpl.xlsx", content)}, headers=headers, **extra)


def page_text(r) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", r.text).replace("&#39;", "'").split())


# ---------------------------------------------------------------- upload size: 413


@pytest.mark.parametrize("path", [API, PAGE])
def test_a_workbook_over_the_size_limit_is_refused_with_413(client, settings, session, maker, path):
    settings.cpl_import_max_bytes = 20_000
    before = stored(session)
    r = post(client, path, noise(30_000), maker)  # within the allowance for the form: refused by its own size
    assert r.status_code == 413
    message = (r.json()["error"] if path == API else page_text(r))
    assert ("The workbook is too large: 30,000 bytes; the limit is 20,000 bytes "
            "(set GBSMART_CPL_IMPORT_MAX_BYTES to change it). Nothing was imported.") in message
    if path == PAGE:
        assert "Import a CPL workbook" in r.text  # the CPL page again, with the message
    assert stored(session) == before


@pytest.mark.parametrize("path", [API, PAGE])
def test_an_upload_over_the_size_limit_is_refused_before_its_body_is_read(client, settings, session, maker, path):
    settings.cpl_import_max_bytes = 20_000
    before = stored(session)
    r = post(client, path, noise(400_000), maker)
    assert r.status_code == 413
    message = (r.json()["error"] if path == API else page_text(r))
    assert re.search(r"The workbook is too large: an upload of 400,\d{3} bytes; the limit is 20,000 bytes "
                     r"\(set GBSMART_CPL_IMPORT_MAX_BYTES to change it\)\. Nothing was imported\.", message), message
    assert stored(session) == before


def test_a_streamed_upload_is_cut_off_at_the_limit(client, settings, session, maker):
    """No Content-Length (chunked): the body is counted as it arrives and refused once past the limit."""
    settings.cpl_import_max_bytes = 20_000
    before = stored(session)
    request = httpx.Request("POST", "http://testserver", files={"file": ("cpl.xlsx", noise(400_000))})
    payload = request.read()
    chunks = (payload[i:i + 16_384] for i in range(0, len(payload), 16_384))
    r = client.post(API, content=chunks, headers={**maker, "Content-Type": request.headers["content-type"]})
    assert r.status_code == 413
    assert re.search(r"The workbook is too large: an upload of more than [\d,]+ bytes; the limit is 20,000 bytes "
                     r"\(set GBSMART_CPL_IMPORT_MAX_BYTES", r.json()["error"]), r.json()
    assert stored(session) == before


def test_a_browser_session_upload_over_the_limit_is_refused_before_the_form_is_parsed(client, settings, session,
                                                                                      world):
    """A signed-in browser posts the form with its CSRF token: the body is capped before the token is looked for."""
    world.person("browser", "party_user")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "browser", "password": TEST_PASSWORD, "csrf_token": token},
                follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/cpl").text).group(1)
    settings.cpl_import_max_bytes = 20_000
    before = stored(session)
    r = client.post(PAGE, data={"csrf_token": token}, files={"file": ("cpl.xlsx", noise(400_000))})
    assert r.status_code == 413
    assert "the limit is 20,000 bytes (set GBSMART_CPL_IMPORT_MAX_BYTES to change it)" in page_text(r)
    assert stored(session) == before


# ---------------------------------------------------------------- the server stays responsive


def test_the_server_answers_healthz_while_a_large_workbook_is_imported(live_server, app, maker):
    """A real server: /healthz is asked once a large (allowed) upload has been sent, and answers before the
    import ends. Before the fix the import ran on the event loop and /healthz waited for it."""
    url = live_server(app=app)
    request = httpx.Request("POST", f"{url}{API}", files={"file": ("cpl.xlsx", new_entries(6_000, bad=True))})
    payload, content_type = request.read(), request.headers["content-type"]
    sent, done = threading.Event(), threading.Event()
    result: dict[str, httpx.Response] = {}

    def body() -> Iterator[bytes]:  # the multipart body, flagging once its last byte has been written
        yield payload
        sent.set()

    def upload() -> None:
        with httpx.Client(timeout=120) as c:
            result["import"] = c.post(f"{url}{API}", content=body(), headers={**maker, "Content-Type": content_type})
        done.set()

    thread = threading.Thread(target=upload)
    thread.start()
    assert sent.wait(60)
    health = httpx.get(f"{url}/healthz", timeout=60)
    answered_during_import = not done.is_set()
    thread.join(120)
    assert health.status_code == 200
    assert result["import"].status_code == 422  # every row is bad: parsed in full, then refused
    assert answered_during_import, "/healthz waited for the import to finish: the import blocks the event loop"


# ---------------------------------------------------------------- rows and errors: 422


@pytest.mark.parametrize("path", [API, PAGE])
def test_a_workbook_over_the_row_limit_is_refused_without_reading_the_rest(client, settings, session, maker, path):
    settings.cpl_import_max_rows = 50
    before = stored(session)
    r = post(client, path, new_entries(2_000), maker)
    assert r.status_code == 422
    message = r.json()["error"] if path == API else page_text(r)
    # "more than 50": reading stopped at row 52 (the header is row 1), not at the 2,001st
    assert ("The workbook has more than 50 rows (the New Entry sheet passes the limit at row 52); the limit is "
            "50 rows (set GBSMART_CPL_IMPORT_MAX_ROWS to change it). Nothing was imported.") in message
    assert stored(session) == before


@pytest.mark.parametrize("path", [API, PAGE])
def test_bad_rows_are_listed_up_to_the_error_limit_with_the_total(client, settings, session, maker, path):
    settings.cpl_import_max_errors = 5
    before = stored(session)
    r = post(client, path, new_entries(3_000, bad=True), maker)
    assert r.status_code == 422
    summary = ("The workbook has 3000 bad rows; nothing was imported. The first 5 of 3000 errors are listed "
               "(set GBSMART_CPL_IMPORT_MAX_ERRORS to list more).")
    if path == API:
        body = r.json()
        assert body["error"] == summary
        assert body["errors_total"] == 3000
        assert [(d["sheet"], d["row"], d["rule"]) for d in body["detail"]] == [
            ("New Entry", n, "cell-format") for n in range(2, 7)]
        assert len(r.content) < 5_000
    else:
        text = page_text(r)
        assert summary in text and "… and 2995 more." in text
        assert len(re.findall(r"<tr><td>New Entry</td>", r.text)) == 5
    assert stored(session) == before


# ---------------------------------------------------------------- zip bombs: 422 before openpyxl reads a part


@pytest.mark.parametrize("path", [API, PAGE])
def test_a_shared_string_bomb_is_refused_before_it_is_unpacked(client, session, maker, bomb, path):
    assert len(bomb) < 1024 * 1024  # small enough to pass the upload limit: the parts are what is large
    before = stored(session)
    tracemalloc.start()
    try:
        r = post(client, path, bomb, maker)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"{peak:,} bytes allocated: the shared strings were unpacked"
    assert r.status_code == 422
    message = r.json()["error"] if path == API else page_text(r)
    assert re.search(r"The workbook unpacks to 209,7\d\d,\d{3} bytes \(xl/sharedStrings\.xml alone is "
                     r"209,7\d\d,\d{3}\); the limit is 52,428,800 bytes \(set "
                     r"GBSMART_CPL_IMPORT_MAX_UNCOMPRESSED_BYTES to change it\)\. Nothing was imported\.", message), \
        message
    assert stored(session) == before


def test_a_part_that_unpacks_far_beyond_its_size_is_refused(client, settings, session, maker):
    """Within the uncompressed limit, but a thousand times its packed size: the compression ratio gives it away."""
    small_bomb = shared_string_bomb(8 * 1024 * 1024)
    before = stored(session)
    r = post(client, API, small_bomb, maker)
    assert r.status_code == 422
    assert re.search(r"The workbook unpacks to \d+ times its size \([\d,]+ bytes from [\d,]+\); the limit is 100 "
                     r"times \(set GBSMART_CPL_IMPORT_MAX_COMPRESSION_RATIO to change it\)\. Nothing was imported\.",
                     r.json()["error"]), r.json()
    assert stored(session) == before


# ---------------------------------------------------------------- the CLI door applies the same limits


@pytest.fixture
def cli(cli_env, maker, monkeypatch):
    def run(*args: str, **env: str) -> Result:  # ``env``: settings for this command only
        with monkeypatch.context() as m:
            for name, value in env.items():
                m.setenv(name, value)
            get_settings.cache_clear()
            result = CliRunner().invoke(cpl_cli, [str(a) for a in args], catch_exceptions=False, terminal_width=200)
        get_settings.cache_clear()
        result.text = " ".join(result.output.split())
        return result

    return run


def test_the_cli_refuses_the_same_workbooks(cli, cli_env, session, bomb):
    before = stored(session)
    (big := cli_env / "big.xlsx").write_bytes(noise(30_000))
    r = cli("import", big, "--as", "maker", GBSMART_CPL_IMPORT_MAX_BYTES="20000")
    assert r.exit_code == 1
    assert "error (413): The workbook is too large: 30,000 bytes; the limit is 20,000 bytes" in r.text
    (bomb_file := cli_env / "bomb.xlsx").write_bytes(bomb)
    r = cli("import", bomb_file, "--as", "maker")
    assert r.exit_code == 1 and "GBSMART_CPL_IMPORT_MAX_UNCOMPRESSED_BYTES" in r.text
    (rows := cli_env / "rows.xlsx").write_bytes(new_entries(200))
    r = cli("import", rows, "--as", "maker", GBSMART_CPL_IMPORT_MAX_ROWS="50")
    assert r.exit_code == 1 and "the limit is 50 rows (set GBSMART_CPL_IMPORT_MAX_ROWS" in r.text
    (bad := cli_env / "bad.xlsx").write_bytes(new_entries(300, bad=True))
    r = cli("import", bad, "--as", "maker", GBSMART_CPL_IMPORT_MAX_ERRORS="5")
    assert r.exit_code == 1 and "The first 5 of 300 errors are listed" in r.text and "… and 295 more." in r.text
    assert r.text.count("New Entry row") == 5
    assert stored(session) == before

