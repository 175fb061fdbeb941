"""The Modification Register, impact matrix and release landscape: queries, CSV/XLSX exports, API and pages."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from gbsmart.change import register, register_api, register_pages
from gbsmart.change.register import IMPACT_AREAS, REGISTER_COLUMNS, REGISTER_HEADINGS
from gbsmart.change.service import ProposalFilters
from gbsmart.core.errors import Invalid, NotFound
from gbsmart.models.change import Proposal, ProposalImpact, Release

SEED_004_HEADINGS = [
    "Modification", "Title", "Proposer", "Date raised", "PA", "Summary", "Latest progress",
    "Change Board determination", "Date of decision", "Authority determination", "Date of determination",
    "Implementation date", "State", "Path", "Release",
]  # fmt: skip
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
AREA_COUNT = sum(len(areas) for areas in IMPACT_AREAS.values())


# ---------------------------------------------------------------- a small register


def _proposal(clock, reference: str, title: str, state: str, raised: date, **fields) -> Proposal:
    impacts = [ProposalImpact(group=g, area=a) for g, a in fields.pop("impacts", [])]
    return Proposal(
        reference=reference,
        title=title,
        state=state,
        date_raised=raised,
        created_at=clock.now(),
        updated_at=clock.now(),
        impacts=impacts,
        **fields,
    )


@pytest.fixture
def releases(session) -> dict[str, Release]:
    rels = {
        "nov18": Release(name="November 2018 Release", release_date=date(2018, 11, 1), kind="scheduled"),
        "adhoc": Release(name="Ad-hoc Release", release_date=date(2018, 8, 22), kind="ad_hoc", expected=True),
        "r2": Release(name="Release 2.0", release_date=date(2018, 9, 30), kind="scheduled"),
        "feb19": Release(name="February 2019 Release", release_date=date(2019, 2, 28), kind="scheduled"),
    }
    session.add_all(rels.values())
    session.flush()
    return rels


@pytest.fixture
def dataset(session, clock, releases) -> dict[str, Proposal]:
    """Three modifications from seed 004 and one Draft Proposal, with register columns and impacts."""
    ps = {
        "SECMP0041": _proposal(
            clock,
            "SECMP0041",
            "Amending the Change Board decision making rules for Modification Proposals",
            "approved",
            date(2017, 9, 14),
            proposer_name="SECAS",
            path="path_2",
            pa_status="PA 2",
            summary="Seeks to allow Parties to vote on Modification Proposal decisions.",
            latest_progress="The Authority approved SECMP0041; targeted for the November 2018 Release.",
            change_board_determination="Approved",
            change_board_date=date(2018, 5, 23),
            authority_determination="Approved",
            authority_date=date(2018, 6, 29),
            implementation_date=date(2018, 11, 1),
            release=releases["nov18"],
            release_status="Targeted",
            impacts=[("parties", "Suppliers"), ("parties", "DCC"), ("sec", "Section D - Modification Process")],
        ),
        "SECMP0044": _proposal(
            clock,
            "SECMP0044",
            "User Security Assessment of a Shared Resource",
            "change_board",
            date(2017, 11, 2),
            proposer_name="E.ON",
            path="path_3",
            summary="A Shared Resource Provider is assessed once.",
            latest_progress="With the Change Board.",
            release=releases["adhoc"],
            impacts=[
                ("parties", "Other"),
                ("sec", "Section G"),  # the short form still finds its row
                ("subsidiary", "Appendix E - DCC User Gateway Services Schedule"),
                ("subsidiary", "Appendix AH - Self Service Interface Design Specification"),
            ],
        ),
        "SECMP0006": _proposal(
            clock,
            "SECMP0006",
            "Specifying the number of digits for device display",
            "implemented",
            date(2016, 3, 1),
            proposer_name="IEE",
            path="path_2",
            pa_status="PA 2",
            summary="Number of digits for device display.",
            latest_progress="Implemented in Release 2.0.",
            release=releases["r2"],
            release_status="Implemented",
            implementation_date=date(2018, 9, 30),
            impacts=[("parties", "Suppliers")],
        ),
        "DP110": _proposal(
            clock,
            "DP110",
            "Northbound cache for DCC Users",
            "development",
            date(2020, 1, 10),
            dp_reference="DP110",
            proposer_name="British Gas",
            summary="Keep responses while a User is down.",
            latest_progress="Draft Proposal raised; in the Development Stage.",
        ),
    }
    session.add_all(ps.values())
    session.commit()
    return ps


def _rows(session, **filters) -> list[dict]:
    return list(register.register_rows(session, ProposalFilters(**filters)))


# ---------------------------------------------------------------- the register


def test_register_columns_are_seed_004s_in_order():
    assert REGISTER_HEADINGS == SEED_004_HEADINGS
    assert {c.key for c in REGISTER_COLUMNS if c.kind == "date"} == {
        "date_raised",
        "change_board_date",
        "authority_date",
        "implementation_date",
    }


def test_register_rows_carry_every_column(session, dataset):
    rows = _rows(session)
    assert [r["reference"] for r in rows] == ["DP110", "SECMP0006", "SECMP0041", "SECMP0044"]
    mp41 = rows[2]
    assert {c.key for c in REGISTER_COLUMNS} <= mp41.keys()
    assert mp41 == {
        "reference": "SECMP0041",
        "title": "Amending the Change Board decision making rules for Modification Proposals",
        "proposer": "SECAS", "date_raised": date(2017, 9, 14), "pa_status": "PA 2",
        "summary": "Seeks to allow Parties to vote on Modification Proposal decisions.",
        "latest_progress": "The Authority approved SECMP0041; targeted for the November 2018 Release.",
        "change_board_determination": "Approved", "change_board_date": date(2018, 5, 23),
        "authority_determination": "Approved", "authority_date": date(2018, 6, 29),
        "implementation_date": date(2018, 11, 1), "state": "Approved",
        "path": "Path 2: Authority Determination", "release": "November 2018 Release",
        "state_code": "approved", "path_code": "path_2",
    }  # fmt: skip
    draft = rows[0]
    assert draft["path"] is None and draft["release"] is None and draft["change_board_date"] is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"stage": "draft"}, ["DP110"]),
        ({"stage": "closed"}, ["SECMP0006"]),
        ({"stage": "modification"}, ["SECMP0041", "SECMP0044"]),
        ({"path": "none"}, ["DP110"]),
        ({"path": "path_2"}, ["SECMP0006", "SECMP0041"]),
        ({"release": "november 2018 release"}, ["SECMP0041"]),
        ({"proposer": "e.on"}, ["SECMP0044"]),
        ({"q": "shared resource"}, ["SECMP0044"]),
        ({"q": "secmp00", "path": "path_2", "stage": "open"}, ["SECMP0041"]),
    ],
)
def test_register_filters_are_the_proposal_filters(session, dataset, filters, expected):
    assert [r["reference"] for r in _rows(session, **filters)] == expected


def test_bad_filter_is_refused_before_any_row_is_read(session, dataset):
    with pytest.raises(Invalid) as err:
        register.register_rows(session, ProposalFilters(stage="nonsense"))  # not even iterated
    assert err.value.detail[0]["field"] == "stage"
    with pytest.raises(Invalid) as err:
        register.register_rows(session, ProposalFilters(path="path_9"))
    assert err.value.detail[0]["field"] == "path"


# ---------------------------------------------------------------- CSV


def _csv_value(value) -> str:
    return "" if value is None else value.isoformat() if isinstance(value, date) else str(value)


def test_csv_parses_back_to_the_same_rows(session, dataset):
    rows = _rows(session)
    text = "".join(register.to_csv(iter(rows)))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == SEED_004_HEADINGS
    assert parsed == [{c.heading: _csv_value(r[c.key]) for c in REGISTER_COLUMNS} for r in rows]


def test_csv_is_streamed_in_chunks_with_one_header(session, clock):
    session.add_all(
        _proposal(clock, f"MP{n:03d}", f"Change {n}", "refinement", date(2020, 1, 1), proposer_name="SECAS")
        for n in range(1, 451)
    )
    session.commit()
    chunks = list(register.to_csv(register.register_rows(session, ProposalFilters())))
    assert len(chunks) == 3  # 200 + 200 + 50 rows
    parsed = list(csv.reader(io.StringIO("".join(chunks))))
    assert parsed[0] == SEED_004_HEADINGS and len(parsed) == 451
    assert parsed[1][0] == "MP001" and parsed[-1][0] == "MP450"


def test_csv_neutralises_spreadsheet_formulas():
    row = {"reference": "DP999", "title": '=HYPERLINK("http://evil.example","x")', "proposer": "@SUM(A1)"}
    parsed = list(csv.DictReader(io.StringIO("".join(register.to_csv([row])))))[0]
    assert parsed["Title"] == '\'=HYPERLINK("http://evil.example","x")' and parsed["Proposer"] == "'@SUM(A1)"


# ---------------------------------------------------------------- XLSX


def _workbook(session):
    rows = _rows(session)
    matrix = register.impact_matrix(session, None)
    content = register.to_xlsx(rows, matrix, register.release_landscape(session))
    return rows, load_workbook(io.BytesIO(content))


def test_xlsx_register_sheet(session, dataset):
    rows, book = _workbook(session)
    assert book.sheetnames == ["Modification Register", "Impact Matrix", "Release Landscape"]
    ws = book["Modification Register"]
    header = [c.value for c in ws[1]]
    assert header == SEED_004_HEADINGS
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:O{len(rows) + 1}"
    assert ws.column_dimensions["B"].width == 40 and ws.column_dimensions["F"].width == 60
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [v[0] for v in values] == ["DP110", "SECMP0006", "SECMP0041", "SECMP0044"]
    mp41 = dict(zip(header, ws[4], strict=True))
    assert mp41["Title"].value == rows[2]["title"] and mp41["Release"].value == "November 2018 Release"
    for heading, expected in [
        ("Date raised", date(2017, 9, 14)),
        ("Date of decision", date(2018, 5, 23)),
        ("Date of determination", date(2018, 6, 29)),
        ("Implementation date", date(2018, 11, 1)),
    ]:
        cell = mp41[heading]
        assert cell.is_date and isinstance(cell.value, datetime) and cell.value.date() == expected
        assert cell.number_format == register.DATE_FORMAT
    assert mp41["Summary"].alignment.wrap_text and mp41["Latest progress"].alignment.wrap_text


def test_xlsx_impact_matrix_and_landscape_sheets(session, dataset):
    _, book = _workbook(session)
    ws = book["Impact Matrix"]
    assert [c.value for c in ws[1]] == ["Area of impact", "DP110", "SECMP0006", "SECMP0041", "SECMP0044"]
    cells = {row[0].value: [c.value for c in row[1:]] for row in ws.iter_rows(min_row=2)}
    assert {"Parties", "SEC", "Subsidiary Documents"} <= cells.keys()
    assert ws["A2"].value == "Parties" and ws["A2"].font.b
    assert cells["Suppliers"] == [None, "X", "X", None]
    assert cells["Section G - Security"] == [None, None, None, "X"]
    assert cells["Section B - Accession"] == [None, None, None, None]
    assert cells["Appendix AH - Self Service Interface Design Specification"] == [None, None, None, "X"]
    assert ws.max_row == 1 + 3 + AREA_COUNT + 1

    ws = book["Release Landscape"]
    assert [c.value for c in ws[1]] == register.LANDSCAPE_HEADINGS
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert [(r[0], r[4], r[6]) for r in body] == [
        ("Ad-hoc Release", "SECMP0044", "Targeted"),
        ("Release 2.0", "SECMP0006", "Implemented"),
        ("November 2018 Release", "SECMP0041", "Targeted"),
        ("February 2019 Release", None, None),
    ]
    assert body[0][1] == datetime(2018, 8, 22) and body[0][3] == "Yes"


def test_xlsx_keeps_formula_like_text_as_text():
    row = {"reference": "DP999", "title": "=1+1", "date_raised": date(2020, 1, 1)}
    content = register.to_xlsx([row], ([], []), [])
    ws = load_workbook(io.BytesIO(content))["Modification Register"]
    assert ws["B2"].value == "=1+1" and ws["B2"].data_type == "s"


# ---------------------------------------------------------------- impact matrix and release landscape


def test_impact_matrix_lists_every_area_in_seed_order(session, dataset):
    columns, rows = register.impact_matrix(session)
    assert columns == ["DP110", "SECMP0006", "SECMP0041", "SECMP0044"]
    assert len(rows) == AREA_COUNT + 1  # plus Appendix AH, ticked but not printed in seed 004
    areas = [(group, area) for group, area, _ in rows]
    expected = [(g, a) for g, names in IMPACT_AREAS.items() for a in names]
    assert areas[:5] == expected[:5] and areas[5:29] == expected[5:29] and areas[29:37] == expected[29:37]
    assert areas[0] == ("parties", "Suppliers") and areas[5] == ("sec", "Section A - Definitions and Interpretation")
    assert areas[28] == ("sec", "Schedule 7 - Specimen Enabling Services Agreement")
    assert areas[36] == ("subsidiary", "Appendix H - CH Handover Support Materials")
    assert areas[37] == ("subsidiary", "Appendix AH - Self Service Interface Design Specification")
    ticked = {(area, columns[i]) for _, area, ticks in rows for i, t in enumerate(ticks) if t}
    assert ticked == {
        ("Suppliers", "SECMP0041"), ("DCC", "SECMP0041"), ("Section D - Modification Process", "SECMP0041"),
        ("Other", "SECMP0044"), ("Section G - Security", "SECMP0044"),
        ("Appendix E - DCC User Gateway Services Schedule", "SECMP0044"),
        ("Appendix AH - Self Service Interface Design Specification", "SECMP0044"), ("Suppliers", "SECMP0006"),
    }  # fmt: skip


def test_impact_matrix_for_chosen_references(session, dataset):
    columns, rows = register.impact_matrix(session, ["secmp0041", "DP110"])
    assert columns == ["DP110", "SECMP0041"]
    assert len(rows) == AREA_COUNT
    assert dict((a, t) for _, a, t in rows)["Suppliers"] == [False, True]
    with pytest.raises(NotFound, match="MP404"):
        register.impact_matrix(session, ["SECMP0041", "MP404"])


def test_impact_matrix_with_no_proposals_still_has_every_area(session):
    columns, rows = register.impact_matrix(session)
    assert columns == [] and len(rows) == AREA_COUNT and all(t == [] for _, _, t in rows)


def test_release_landscape_in_date_order_with_statuses(session, dataset):
    landscape = register.release_landscape(session)
    assert [(r.name, [(p.reference, s) for p, s in entries]) for r, entries in landscape] == [
        ("Ad-hoc Release", [("SECMP0044", "Targeted")]),  # no stored status: derived from its state
        ("Release 2.0", [("SECMP0006", "Implemented")]),
        ("November 2018 Release", [("SECMP0041", "Targeted")]),
        ("February 2019 Release", []),
    ]
    assert register.status_colour("Approved (31 Oct 18)") == "green"
    assert register.status_colour("Targeted") == "blue" and register.status_colour("Sent back") == "grey"


def test_release_by_id_or_name(session, dataset, releases):
    release, entries = register.release_entry(session, str(releases["r2"].id))
    assert release.name == "Release 2.0" and [p.reference for p, _ in entries] == ["SECMP0006"]
    assert register.release_entry(session, "release 2.0")[0].id == releases["r2"].id
    with pytest.raises(NotFound, match="Known releases: Ad-hoc Release; Release 2.0"):
        register.release_entry(session, "June 2031 Release")


# ---------------------------------------------------------------- API and pages


@pytest.fixture
def reg_client(app):
    """The app with the register routers mounted (until create_app mounts them itself)."""
    paths = {getattr(r, "path", None) for r in app.routes}
    if "/api/v1/register" not in paths:
        app.include_router(register_api.router, prefix="/api/v1")
    if "/register" not in paths:
        app.include_router(register_pages.router)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def auth(world) -> dict[str, str]:
    return world.user("secas", "code_administrator")


def test_api_register_json(reg_client, auth, dataset):
    resp = reg_client.get("/api/v1/register", headers=auth)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [r["reference"] for r in body] == ["DP110", "SECMP0006", "SECMP0041", "SECMP0044"]
    assert body[2]["implementation_date"] == "2018-11-01" and body[2]["state_code"] == "approved"
    resp = reg_client.get("/api/v1/register", params={"stage": "draft"}, headers=auth)
    assert [r["reference"] for r in resp.json()] == ["DP110"]


def test_api_register_bad_filter_is_a_field_level_422(reg_client, auth, dataset):
    for url in ("/api/v1/register", "/api/v1/register.csv", "/api/v1/register.xlsx"):
        resp = reg_client.get(url, params={"stage": "nonsense"}, headers=auth)
        assert resp.status_code == 422, url
        assert resp.json()["detail"][0]["field"] == "stage"


def test_api_register_csv_download(reg_client, auth, dataset):
    resp = reg_client.get("/api/v1/register.csv", params={"release": "November 2018 Release"}, headers=auth)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert resp.headers["content-disposition"] == 'attachment; filename="sec-modification-register.csv"'
    parsed = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["Modification"] for r in parsed] == ["SECMP0041"]
    assert parsed[0]["Date of determination"] == "2018-06-29"


def test_api_register_xlsx_download(reg_client, auth, dataset):
    resp = reg_client.get("/api/v1/register.xlsx", params={"path": "path_2"}, headers=auth)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == XLSX_TYPE
    assert resp.headers["content-disposition"] == 'attachment; filename="sec-modification-register.xlsx"'
    book = load_workbook(io.BytesIO(resp.content))
    refs = [r[0].value for r in book["Modification Register"].iter_rows(min_row=2)]
    assert refs == ["SECMP0006", "SECMP0041"]
    assert [c.value for c in book["Impact Matrix"][1]] == ["Area of impact", "SECMP0006", "SECMP0041"]
    assert book["Release Landscape"].max_row == 5


def test_api_impact_matrix(reg_client, auth, dataset):
    body = reg_client.get("/api/v1/impact-matrix", headers=auth).json()
    assert body["columns"] == ["DP110", "SECMP0006", "SECMP0041", "SECMP0044"]
    assert len(body["rows"]) == AREA_COUNT + 1
    dcc = next(r for r in body["rows"] if r["area"] == "DCC")
    assert dcc == {
        "group": "parties",
        "group_label": "Parties",
        "area": "DCC",
        "ticks": [False, False, True, False],
        "ticked": ["SECMP0041"],
    }
    chosen = reg_client.get("/api/v1/impact-matrix?ref=SECMP0044,SECMP0041", headers=auth).json()
    assert chosen["columns"] == ["SECMP0041", "SECMP0044"]
    resp = reg_client.get("/api/v1/impact-matrix", params={"ref": "MP404"}, headers=auth)
    assert resp.status_code == 404 and "MP404" in resp.json()["error"]


def test_api_releases(reg_client, auth, dataset, releases):
    body = reg_client.get("/api/v1/releases", headers=auth).json()
    assert [r["name"] for r in body] == [
        "Ad-hoc Release",
        "Release 2.0",
        "November 2018 Release",
        "February 2019 Release",
    ]
    assert body[0]["expected"] is True and body[0]["kind"] == "ad_hoc" and body[0]["count"] == 1
    assert body[2]["modifications"] == [
        {
            "reference": "SECMP0041",
            "state": "approved",
            "status": "Targeted",
            "title": "Amending the Change Board decision making rules for Modification Proposals",
        }
    ]
    one = reg_client.get(f"/api/v1/releases/{releases['nov18'].id}", headers=auth).json()
    assert one["name"] == "November 2018 Release" and one["release_date"] == "2018-11-01"
    assert reg_client.get("/api/v1/releases/Release 2.0", headers=auth).json()["count"] == 1
    resp = reg_client.get("/api/v1/releases/June 2031 Release", headers=auth)
    assert resp.status_code == 404
    assert "No SEC Release 'June 2031 Release'" in resp.json()["error"]
    assert "GET /api/v1/releases" in resp.json()["error"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/register",
        "/api/v1/register.csv",
        "/api/v1/register.xlsx",
        "/api/v1/impact-matrix",
        "/api/v1/releases",
        "/api/v1/releases/1",
    ],
)
def test_api_needs_a_token(reg_client, url):
    resp = reg_client.get(url)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("url", ["/register", "/impact-matrix", "/releases", "/releases/1"])
def test_pages_send_the_signed_out_to_login(reg_client, url):
    resp = reg_client.get(url, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/login")


def test_register_page(reg_client, auth, dataset):
    resp = reg_client.get("/register", params={"stage": "modification", "proposer": ""}, headers=auth)
    assert resp.status_code == 200
    html = resp.text
    assert 'id="register-table"' in html and "SECMP0041" in html and "DP110" not in html
    assert 'href="/api/v1/register.csv?stage=modification"' in html and ">Download CSV</a>" in html
    assert 'href="/api/v1/register.xlsx?stage=modification"' in html and ">Download XLSX</a>" in html
    bad = reg_client.get("/register", params={"stage": "nonsense"}, headers=auth)
    assert bad.status_code == 422 and "Unknown stage" in bad.text and 'id="register-table"' in bad.text


def test_impact_matrix_page(reg_client, auth, dataset):
    html = reg_client.get("/impact-matrix", headers=auth).text
    assert 'id="impact-matrix"' in html and "Schedule 7 - Specimen Enabling Services Agreement" in html
    assert html.count("✓") == 8 and 'class="tick"' in html
    assert "Subsidiary Documents" in html


def test_release_pages(reg_client, auth, dataset, releases):
    html = reg_client.get("/releases", headers=auth).text
    assert html.index("Ad-hoc Release") < html.index("Release 2.0") < html.index("November 2018 Release")
    assert "badge-teal" in html and "No modifications targeted yet." in html
    html = reg_client.get(f"/releases/{releases['nov18'].id}", headers=auth).text
    assert "November 2018 Release" in html and "SECMP0041" in html and 'id="release-count">1<' in html
    assert reg_client.get("/releases/9999", headers=auth).status_code == 404


# ---------------------------------------------------------------- LibreOffice opens the XLSX


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_soffice() is None, reason="install libreoffice-calc-nogui (scripts/test does)")
def test_xlsx_opens_in_libreoffice(tmp_path):
    """The issue's acceptance test: LibreOffice converts the workbook (its first sheet) back to CSV."""
    rel = Release(name="November 2018 Release", release_date=date(2018, 11, 1), kind="scheduled")
    proposal = Proposal(
        reference="SECMP0041",
        title="Amending the Change Board decision making rules",
        state="approved",
        release=rel,
        release_status="Targeted",
    )
    row = {
        "reference": "SECMP0041",
        "title": proposal.title,
        "proposer": "SECAS",
        "date_raised": date(2017, 9, 14),
        "summary": "Seeks to allow Parties to vote, «fairly» – 100%.",
        "implementation_date": date(2018, 11, 1),
        "state": "Approved",
        "release": rel.name,
    }
    matrix = (["SECMP0041"], [(g, a, [a == "DCC"]) for g, areas in IMPACT_AREAS.items() for a in areas])
    source = tmp_path / "register.xlsx"
    source.write_bytes(register.to_xlsx([row], matrix, [(rel, [(proposal, "Targeted")])]))
    out = tmp_path / "out"
    subprocess.run(
        [
            _soffice(),
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",  # comma, double quote, UTF-8
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    header, first = list(csv.reader(io.StringIO((out / "register.csv").read_text(encoding="utf-8"))))[:2]
    assert header == SEED_004_HEADINGS
    assert first[0] == "SECMP0041" and first[5] == "Seeks to allow Parties to vote, «fairly» – 100%."
    assert first[3] == "14 Sep 2017"  # a real date cell, shown through its number format
