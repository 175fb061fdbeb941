"""Papers are paged by key and exported as a stream: API, page, CLI and CSV, on both databases.

The papers are many (more than one page, and more than one export batch) and of every classification, so a
reader who may see only some of them shows whether the classification filter is applied in SQL: every page
but the last is full, and of visible papers only.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from gbsmart.core.pagination import CURSOR_NOT_OURS
from gbsmart.models.papers import Paper, RedAccessRecord
from gbsmart.papers import service
from gbsmart.papers.cli import app as papers_cli
from gbsmart.papers.enums import AccessChannel, Classification, PaperStatus
from gbsmart.papers.service import PaperFilters

LEVELS = ["white", "green", "amber", "red"]
MANY = service.EXPORT_BATCH + 30  # more than one export batch, so more than one page of any size


@pytest.fixture
def many(cast, session) -> dict[str, set[str]]:
    """``MANY`` issued papers by Rebecca, of the four classifications in turn, several sharing each date, plus a
    few drafts; written straight into the database (set-up, not under test). Returns the issued papers'
    references by level, the drafts' under "draft" and the RED drafts' also under "red draft"."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    by_level: dict[str, set[str]] = {level: set() for level in [*LEVELS, "draft", "red draft"]}
    rows = []
    for n in range(MANY + 6):
        draft = n >= MANY
        level = LEVELS[n % 4]
        reference = f"P_{n:04d}"
        by_level["draft" if draft else level].add(reference)
        if draft and level == "red":
            by_level["red draft"].add(reference)
        rows.append(Paper(
            reference=reference, title=f"Paper number {n}", purpose="", action="for_information",
            author_id=cast.people["rebecca"].id, author_name="Rebecca", author_organisation="SECAS",
            paper_date=date(2026, 1, 1) + timedelta(days=n // 7), committee_code=None, body="",
            status=(PaperStatus.DRAFT if draft else PaperStatus.ISSUED).value, classification=level,
            created_by_id=cast.people["secas"].id, created_at=now, updated_at=now, issued_at=None if draft else now,
        ))
    session.add_all(rows)
    session.commit()
    return by_level


def newest_first(session, references: set[str]) -> list[str]:
    rows = session.execute(select(Paper.reference, Paper.paper_date).where(Paper.reference.in_(references))).all()
    return [r for r, _ in sorted(rows, key=lambda row: (-row[1].toordinal(), row[0]))]


def walk_api(client, headers, **params) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        r = client.get("/api/v1/papers", params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append([p["reference"] for p in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not move on"


def test_the_api_walks_every_paper_in_full_pages(client, cast, many, session):
    # a Code Administrator sees drafts too, and AMBER, but not the RED of papers not on their committees
    visible = set().union(*many.values()) - many["red"] - many["red draft"]
    pages = walk_api(client, cast.headers["secas"], limit=40)
    assert all(len(p) == 40 for p in pages[:-1]) and 1 <= len(pages[-1]) <= 40
    assert [r for p in pages for r in p] == newest_first(session, visible)
    default = client.get("/api/v1/papers", headers=cast.headers["secas"]).json()
    assert len(default["items"]) == service.PAGE_SIZE and default["next_cursor"]


@pytest.mark.parametrize(("who", "levels"), [("wendy", ["white", "green"]), ("guest", ["white"])])
def test_a_reader_who_may_see_some_gets_full_pages_of_only_those(client, cast, many, session, who, levels):
    visible = set().union(*(many[level] for level in levels))
    pages = walk_api(client, cast.headers[who], limit=25)
    assert all(len(p) == 25 for p in pages[:-1])
    assert [r for p in pages for r in p] == newest_first(session, visible)
    # filtered and searched lists page the same way
    green = walk_api(client, cast.headers[who], limit=25, classification="green", q="Paper number")
    assert [r for p in green for r in p] == newest_first(session, visible & many["green"])


def test_no_paper_the_reader_may_not_see_is_loaded(cast, many, session):
    """The service's page comes from SQL already filtered: it loads visible papers only, and a full page of them."""
    page = service.list_papers(cast.ctx("wendy"), PaperFilters(), AccessChannel.API, None, 30)
    assert len(page.items) == 30 and page.next_cursor
    loaded = {o.reference for o in session.identity_map.values() if isinstance(o, Paper)}
    assert loaded and loaded <= many["white"] | many["green"]


def test_a_red_reader_s_pages_log_only_what_was_on_them(client, cast, many, session):
    """Rebecca wrote every paper, so she holds RED for all; each page logs the RED papers shown on it."""
    h = cast.headers["rebecca"]
    first = client.get("/api/v1/papers", params={"limit": 20}, headers=h).json()
    shown_red = {p["reference"] for p in first["items"] if p["classification"] == "red"}
    logged = set(session.scalars(select(RedAccessRecord.paper_reference).where(RedAccessRecord.username == "rebecca")))
    assert shown_red and logged == shown_red


def test_a_bad_cursor_is_a_clear_422_everywhere(client, cast, many, cli_env):
    h = cast.headers["wendy"]
    for bad in ("not-a-cursor", "WyJ4Il0", "WyIyMDI2LTAxLTAxIl0"):  # garbage; ["x"]; a date without a reference
        r = client.get("/api/v1/papers", params={"cursor": bad}, headers=h)
        assert r.status_code == 422 and r.json()["error"] == CURSOR_NOT_OURS, (bad, r.text)
    page = client.get("/papers", params={"cursor": "not-a-cursor"}, headers=h)
    assert page.status_code == 422 and CURSOR_NOT_OURS in unescape(page.text)
    r = CliRunner().invoke(papers_cli, ["list", "--as", "wendy", "--cursor", "not-a-cursor"], terminal_width=200)
    assert r.exit_code == 1 and "422" in r.output and "start again from the first page" in r.output
    assert client.get("/api/v1/papers", params={"limit": 501}, headers=h).status_code == 422


def test_the_page_walks_every_visible_paper_by_its_next_link(client, cast, many, session):
    h = cast.headers["wendy"]
    url, seen, pages = "/papers?committee=", [], 0
    while url:
        r = client.get(url, headers=h)
        assert r.status_code == 200, r.text
        on_page = re.findall(r'<td><a href="/papers/(P_\d+)">', r.text)
        pages += 1
        nxt = re.search(r'<a href="([^"]+)" rel="next">Next page', r.text)
        assert len(on_page) == service.PAGE_SIZE or nxt is None
        if pages > 1:
            assert "First page" in r.text
        seen += on_page
        url = unescape(nxt.group(1)) if nxt else None
        assert pages < 50
    assert pages > 2 and seen == newest_first(session, many["white"] | many["green"])
    # the filters ride along with the cursor
    r = client.get("/papers", params={"classification": "white"}, headers=h)
    nxt = unescape(re.search(r'<a href="([^"]+)" rel="next">', r.text).group(1))
    assert "classification=white" in nxt
    assert set(re.findall(r'<td><a href="/papers/(P_\d+)">', client.get(nxt, headers=h).text)) <= many["white"]


def test_the_cli_walks_every_visible_paper_by_its_printed_cursor(cli_env, cast, many, session):
    runner, seen, args, pages = CliRunner(), [], ["list", "--as", "wendy", "--limit", "60"], 0
    while True:
        r = runner.invoke(papers_cli, args, catch_exceptions=False, terminal_width=200)
        assert r.exit_code == 0, r.output
        pages += 1
        seen += re.findall(r"\b(P_\d{4})\b", r.output)
        found = re.search(r"next page: --cursor (\S+)", r.output)
        if not found:
            break
        args = ["list", "--as", "wendy", "--limit", "60", "--cursor", found.group(1)]
        assert pages < 20
    assert pages > 1 and "(last page)" in r.output
    assert seen == newest_first(session, many["white"] | many["green"])


def test_the_csv_export_streams_every_visible_row_and_nothing_else(client, cast, many, session):
    for who, expected in (("wendy", many["white"] | many["green"]), ("rebecca", set().union(*many.values()))):
        with client.stream("GET", "/api/v1/papers/export.csv", headers=cast.headers[who]) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            assert "content-length" not in r.headers
            chunks = [c for c in r.iter_raw() if c]
        # the headings, then one chunk per batch read: the body was sent as it was read, not built whole
        assert len(chunks) == 1 + -(-len(expected) // service.EXPORT_BATCH)
        rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
        assert [r["reference"] for r in rows] == newest_first(session, expected)
    assert len(chunks) >= 3  # Rebecca's export took more than one batch


def test_the_export_records_red_access_for_every_red_row_it_sends(client, cast, many, session):
    text = client.get("/api/v1/papers/export.csv", headers=cast.headers["rebecca"]).text
    rows = csv.DictReader(io.StringIO(text))
    sent = {r["reference"] for r in rows if r["classification"] == Classification.RED.label}
    logged = session.execute(select(RedAccessRecord.paper_reference, RedAccessRecord.channel)
                             .where(RedAccessRecord.username == "rebecca")).all()
    assert sent == many["red"] | many["red draft"] and len(sent) > service.EXPORT_BATCH // 4
    assert {ref for ref, _ in logged} == sent and {ch for _, ch in logged} == {AccessChannel.EXPORT.value}
    assert session.scalar(select(func.count()).select_from(RedAccessRecord)) == len(sent)


def test_an_export_with_a_bad_filter_is_a_422_before_it_starts(client, cast, many):
    r = client.get("/api/v1/papers/export.csv", params={"classification": "purple"}, headers=cast.headers["wendy"])
    assert r.status_code == 422 and "Unknown filter value" in r.json()["error"]
