"""Material a person may not see does not exist for them: API, pages, search, counts, export - on both databases.

The scenario is seed 000's: a paper (here GREEN) with a RED Appendix A for its named recipients only. The
appendix's text holds a word ("zanzibarite") found nowhere else, so a search for it shows whether the
appendix leaks into search results.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from gbsmart.models.audit import ChangeRecord
from gbsmart.models.papers import RedAccessRecord

SECRET = "zanzibarite"
REF = "SECP_77_1402_19"


@pytest.fixture
def report(cast):
    return cast.paper(
        REF, "green", author="rebecca", title="SEC Panel Sub-Committee Report", recipients=["rita"],
        body="Details can be found in confidential Appendix A.",
        appendices=[{"title": "User Security Assessments – Identified Non-Compliances", "classification": "red",
                     "body": f"Fictional finding: the {SECRET} key store was not segregated."}],
    )


def red_rows(session, username: str) -> dict[str, int]:
    rows = session.execute(select(RedAccessRecord.channel, func.count()).where(RedAccessRecord.username == username)
                           .group_by(RedAccessRecord.channel)).all()
    return dict(rows)


@pytest.mark.parametrize("who", ["bob", "secas", "wendy"])
def test_a_red_appendix_does_not_exist_for_a_non_recipient(client, cast, report, session, who):
    h = cast.headers[who]
    paper = client.get(f"/api/v1/papers/{REF}", headers=h)
    assert paper.status_code == 200
    assert paper.json()["appendices"] == [] and paper.json()["marking"] == "green"
    assert SECRET not in paper.text and "Non-Compliances" not in paper.text
    assert client.get(f"/api/v1/papers/{REF}/appendices/A", headers=h).status_code == 404
    assert client.get(f"/api/v1/papers/{REF}/appendices/a", headers=h).status_code == 404

    listed = client.get("/api/v1/papers", headers=h).json()["items"]
    assert [p["reference"] for p in listed] == [REF] and listed[0]["appendices"] == []
    assert client.get("/api/v1/papers", params={"q": SECRET}, headers=h).json()["items"] == []
    assert client.get("/api/v1/papers", params={"classification": "red"}, headers=h).json()["items"] == []
    counts = client.get("/api/v1/papers/count", headers=h).json()
    assert counts["papers"] == {"white": 0, "green": 1, "amber": 0, "red": 0}
    assert counts["appendices"]["red"] == 0 and counts["total"] == 1
    assert client.get("/api/v1/papers/count", params={"q": SECRET}, headers=h).json()["total"] == 0
    exported = client.get("/api/v1/papers/export.csv", headers=h)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["reference"] for r in rows] == [REF] and rows[0]["appendices"] == ""
    assert SECRET not in exported.text and "RED" not in exported.text

    page = client.get(f"/papers/{REF}", headers=h)
    assert page.status_code == 200 and "Appendix A" in page.text  # the paper's own text names it ...
    assert SECRET not in page.text and 'id="appendix-A"' not in page.text  # ... but the appendix is not there
    assert client.get(f"/papers/{REF}/appendices/A", headers=h).status_code == 404
    assert SECRET not in client.get(f"/papers/{REF}/print", headers=h).text
    assert REF not in client.get("/papers", params={"q": SECRET}, headers=h).text
    assert red_rows(session, who) == {}


def test_a_named_recipient_sees_the_red_appendix_and_every_access_is_audited(client, cast, report, session):
    h = cast.headers["rita"]
    response = client.get(f"/api/v1/papers/{REF}", headers=h)
    assert response.headers["cache-control"] == "no-store"
    paper = response.json()
    assert paper["marking"] == "red" and paper["recipients"] == ["rita"]
    [appendix] = paper["appendices"]
    assert appendix["letter"] == "A" and appendix["classification"] == "red" and SECRET in appendix["body"]
    assert client.get(f"/api/v1/papers/{REF}/appendices/A", headers=h).json()["body"] == appendix["body"]
    assert client.get("/api/v1/papers", params={"q": SECRET}, headers=h).json()["items"][0]["reference"] == REF
    assert client.get("/api/v1/papers/count", headers=h).json()["appendices"]["red"] == 1
    exported = client.get("/api/v1/papers/export.csv", headers=h).text
    assert "A (RED) User Security Assessments" in exported and SECRET not in exported  # titles, not text
    page = client.get(f"/papers/{REF}", headers=h)
    assert SECRET in page.text and "tlp-banner tlp-red" in page.text and page.headers["cache-control"] == "no-store"
    assert SECRET in client.get(f"/papers/{REF}/appendices/A", headers=h).text
    session.expire_all()
    assert red_rows(session, "rita") == {"api": 2, "search": 1, "export": 1, "page": 2}
    row = session.scalars(select(RedAccessRecord).where(RedAccessRecord.channel == "page")).first()
    assert row.what == f"{REF} Appendix A" and row.appendix_letter == "A" and row.person_id == cast.people["rita"].id
    assert red_rows(session, "bob") == {}


def test_a_red_paper_is_for_its_committee_author_and_recipients_only(client, cast):
    cast.paper("SSC_12_RED", "red", author="rebecca", committee_code="ssc", body="RED minutes.")
    cast.paper("SSC_12_AMBER", "amber", committee_code="SSC", body="AMBER note.")
    seen = {}
    for who in ("rebecca", "cara", "tom", "secas", "wendy", "guest"):
        refs = [p["reference"] for p in client.get("/api/v1/papers", headers=cast.headers[who]).json()["items"]]
        seen[who] = sorted(refs)
    assert seen == {
        "rebecca": ["SSC_12_RED"],                  # the RED paper's author; not on the SSC, so no AMBER note
        "cara": ["SSC_12_AMBER", "SSC_12_RED"],     # an SSC member
        "tom": ["SSC_12_AMBER"],                    # her colleague: need-to-know for AMBER only
        "secas": ["SSC_12_AMBER"],                  # Code Administrators: AMBER, not RED
        "wendy": [],
        "guest": [],
    }
    for who in ("tom", "secas", "wendy"):
        assert client.get("/api/v1/papers/SSC_12_RED", headers=cast.headers[who]).status_code == 404
        assert client.get("/papers/SSC_12_RED", headers=cast.headers[who]).status_code == 404
        assert client.get("/api/v1/papers/SSC_12_RED/pdf", headers=cast.headers[who]).status_code == 404
        assert client.get("/api/v1/papers/count", headers=cast.headers[who]).json()["papers"]["red"] == 0
    assert client.get("/api/v1/papers/SSC_12_AMBER", headers=cast.headers["wendy"]).status_code == 404
    # a 404 for a hidden paper reads exactly like one for a paper that does not exist
    hidden = client.get("/api/v1/papers/SSC_12_RED", headers=cast.headers["tom"]).json()["error"]
    missing = client.get("/api/v1/papers/NO_SUCH_1", headers=cast.headers["tom"]).json()["error"]
    assert hidden.replace("SSC_12_RED", "X") == missing.replace("NO_SUCH_1", "X")


def test_white_is_for_everyone_signed_in_and_nobody_else(client, cast):
    cast.paper("PUBLIC_1", "white")
    assert client.get("/api/v1/papers/PUBLIC_1", headers=cast.headers["guest"]).status_code == 200
    assert client.get("/api/v1/papers/PUBLIC_1").status_code == 401
    assert client.get("/api/v1/papers").status_code == 401


def test_lowering_needs_a_reason_and_every_reclassification_is_recorded(client, cast, session):
    cast.paper("DP104_PS", "red", author="rebecca", body="Key separation for DUIS and Pre-Commands.")
    h = cast.headers["rebecca"]
    refused = client.post("/api/v1/papers/DP104_PS/reclassify", headers=h, json={"classification": "green"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "reason"
    assert client.post("/api/v1/papers/DP104_PS/reclassify", headers=h,
                       json={"classification": "red", "reason": "x"}).status_code == 409
    assert client.get("/api/v1/papers/DP104_PS", headers=cast.headers["wendy"]).status_code == 404
    done = client.post("/api/v1/papers/DP104_PS/reclassify", headers=h, json={
        "classification": "green", "reason": "In accordance with the Panel Information Policy"})
    assert done.status_code == 201, done.text
    assert done.json()["from_classification"] == "red" and done.json()["to_classification"] == "green"
    seen = client.get("/api/v1/papers/DP104_PS", headers=cast.headers["wendy"]).json()
    assert seen["classification"] == "green"
    [history] = seen["reclassifications"]
    assert history["by"] == "Rebecca" and history["reason"] == "In accordance with the Panel Information Policy"
    # raising needs no reason; the author and Code Administrators may, a reader may not
    assert client.post("/api/v1/papers/DP104_PS/reclassify", headers=cast.headers["wendy"],
                       json={"classification": "amber"}).status_code == 403
    assert client.post("/api/v1/papers/DP104_PS/reclassify", headers=cast.headers["secas"],
                       json={"classification": "amber"}).status_code == 201
    assert client.get("/api/v1/papers/DP104_PS", headers=cast.headers["wendy"]).status_code == 404
    records = session.scalars(select(ChangeRecord).where(ChangeRecord.action == "paper.reclassify")).all()
    assert [(r.before["classification"], r.after["classification"]) for r in records] == [
        ("red", "green"), ("green", "amber")]
    assert "Re-classification history" in client.get("/papers/DP104_PS", headers=h).text


def test_an_appendix_can_be_lowered_with_a_reason_and_its_history_appears_only_with_it(client, cast, report):
    h = cast.headers["rebecca"]
    bob = cast.headers["bob"]
    assert client.post(f"/api/v1/papers/{REF}/reclassify", headers=h,
                       json={"classification": "green", "appendix": "A"}).status_code == 422
    assert client.post(f"/api/v1/papers/{REF}/reclassify", headers=cast.headers["secas"],
                       json={"classification": "green", "appendix": "A", "reason": "r"}).status_code == 404
    ok = client.post(f"/api/v1/papers/{REF}/reclassify", headers=h,
                     json={"classification": "green", "appendix": "A", "reason": "Findings closed and anonymised"})
    assert ok.status_code == 201 and ok.json()["appendix"] == "A"
    seen = client.get(f"/api/v1/papers/{REF}", headers=bob).json()
    assert [a["letter"] for a in seen["appendices"]] == ["A"]
    assert [r["appendix"] for r in seen["reclassifications"]] == ["A"]
    client.post(f"/api/v1/papers/{REF}/reclassify", headers=h, json={"classification": "red", "appendix": "A"})
    seen = client.get(f"/api/v1/papers/{REF}", headers=bob).json()
    assert seen["appendices"] == [] and seen["reclassifications"] == []


def test_naming_and_removing_recipients(client, cast, report, session):
    h, bob = cast.headers["rebecca"], cast.headers["bob"]
    assert client.post(f"/api/v1/papers/{REF}/recipients", headers=bob, json={"add": ["bob"]}).status_code == 403
    r = client.post(f"/api/v1/papers/{REF}/recipients", headers=h, json={"add": ["bob", cast.people["tom"].id]})
    assert r.status_code == 200 and sorted(r.json()) == ["bob", "rita", "tom"]
    assert client.get(f"/api/v1/papers/{REF}/appendices/A", headers=bob).status_code == 200
    r = client.post(f"/api/v1/papers/{REF}/recipients", headers=h, json={"remove": ["bob"]})
    assert sorted(r.json()) == ["rita", "tom"]
    assert client.get(f"/api/v1/papers/{REF}/appendices/A", headers=bob).status_code == 404
    assert client.post(f"/api/v1/papers/{REF}/recipients", headers=h, json={"add": ["nobody"]}).status_code == 422
    changes = session.scalars(select(ChangeRecord).where(ChangeRecord.action == "paper.recipients")).all()
    assert [c.after["recipients"] for c in changes] == [["bob", "rita", "tom"], ["rita", "tom"]]


def test_creating_issuing_and_editing_papers(client, cast, session):
    secas, wendy = cast.headers["secas"], cast.headers["wendy"]
    formula = client.post("/api/v1/papers", headers=secas, json={"reference": "CSV_1", "title": "=HYPERLINK(1)"})
    assert formula.status_code == 201
    assert "'=HYPERLINK(1)" in client.get("/api/v1/papers/export.csv", headers=secas).text
    body = {"reference": "SECP_78_1303_20", "title": "Panel paper", "classification": "green",
            "body": "# Heading\n\nText with <script>alert(1)</script>."}
    assert client.post("/api/v1/papers", headers=wendy, json=body).status_code == 403
    bad = client.post("/api/v1/papers", headers=secas, json={**body, "reference": "no spaces here"})
    assert bad.status_code == 422 and "reference" in bad.json()["detail"][0]["field"]
    assert client.post("/api/v1/papers", headers=secas, json={**body, "reference": "count"}).status_code == 422
    made = client.post("/api/v1/papers", headers=secas, json=body)
    assert made.status_code == 201 and made.json()["status"] == "draft" and made.json()["author"] == "Secas"
    assert client.post("/api/v1/papers", headers=secas, json=body).status_code == 409
    assert client.get("/api/v1/papers/SECP_78_1303_20", headers=wendy).status_code == 404  # a draft
    assert client.patch("/api/v1/papers/SECP_78_1303_20", headers=secas,
                        json={"title": "Panel paper, revised"}).json()["title"] == "Panel paper, revised"
    weaker = client.post("/api/v1/papers/SECP_78_1303_20/appendices", headers=secas,
                         json={"title": "Less strict", "classification": "white"})
    assert weaker.status_code == 422
    added = client.post("/api/v1/papers/SECP_78_1303_20/appendices", headers=secas,
                        json={"title": "Only for recipients", "classification": "red", "body": "secret"})
    assert added.status_code == 201 and added.json()["letter"] == "A"
    assert client.post("/api/v1/papers/SECP_78_1303_20/issue", headers=secas).json()["status"] == "issued"
    assert client.post("/api/v1/papers/SECP_78_1303_20/issue", headers=secas).status_code == 409
    assert client.patch("/api/v1/papers/SECP_78_1303_20", headers=secas, json={"title": "Late"}).status_code == 409
    seen = client.get("/api/v1/papers/SECP_78_1303_20", headers=wendy).json()
    assert seen["appendices"] == [] and seen["title"] == "Panel paper, revised"
    page = client.get("/papers/SECP_78_1303_20", headers=wendy).text
    assert "<h1>Heading</h1>" in page and "<script>alert(1)</script>" not in page
    actions = session.scalars(select(ChangeRecord.action).where(ChangeRecord.object_id == "SECP_78_1303_20")).all()
    assert actions == ["paper.create", "paper.update", "paper.appendix.add", "paper.issue"]


def test_portal_forms_show_field_level_messages(client, cast, report):
    secas = cast.headers["secas"]
    r = client.post("/papers/new", headers=secas, data={"reference": "bad ref", "title": "x"})
    assert r.status_code == 422
    assert 'id="err-reference"' in r.text and 'id="err-title"' in r.text
    r = client.post("/papers/new", headers=secas, data={"reference": "SECP_79", "title": "A paper",
                                                       "classification": "amber"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/papers/SECP_79"
    r = client.post(f"/papers/{REF}/reclassify", headers=secas, data={"classification": "white", "reason": ""})
    assert r.status_code == 422 and 'id="err-reclassify.reason"' in r.text and "needs a reason" in r.text
    r = client.post(f"/papers/{REF}/reclassify", headers=secas, follow_redirects=False,
                    data={"classification": "white", "reason": "Published by the Panel"})
    assert r.status_code == 303
    listing = client.get("/papers", headers=secas).text
    assert 'data-classification="white"' in listing and "SECP_79" in listing
    assert client.post(f"/papers/{REF}/reclassify", headers=cast.headers["bob"],
                       data={"classification": "red"}).status_code == 403
    assert client.post("/papers/NOPE_1/reclassify", headers=secas, data={"classification": "red"}).status_code == 404
