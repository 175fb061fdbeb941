"""Issue 8, papers under the Panel Information Policy: replays of three attacks found by probing, on both databases.

* Item 3: SECAS named itself a recipient of a RED appendix it may not see, and the appendix then opened.
* Item 4: creating a paper with the reference of a RED paper the caller may not see answered 409 "already exists"
  where reading it answered 404 - an existence oracle; every other door that takes a reference or a letter too.
* Item 5: a meeting's agenda showed the id of a RED paper that is a 404 to the reader (API, page, CLI).

Each replay goes through the public doors (API, signed-in portal session, CLI) and checks that the attempt is
refused or answered as for a free reference, and that nothing changed.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from gbsmart.committees.cli import app as committees_cli
from gbsmart.committees.schemas import AgendaItemCreate
from gbsmart.committees.service import add_agenda_item, get_meeting
from gbsmart.core.context import Actor, Ctx
from gbsmart.demo.loader import DEMO_PASSWORD
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.papers import Paper, PaperAppendix, PaperRecipient, RedAccessRecord
from gbsmart.models.parties import Person
from gbsmart.papers import service
from gbsmart.papers.cli import app as papers_cli
from gbsmart.papers.schemas import PaperCreate
from tests.committees import conftest as committees_kit
from tests.conftest import TEST_PASSWORD
from tests.papers import conftest as papers_kit

# the fixtures of the papers and committees test kits: their cast of people, and the demo of seed 001
cast, add_committee_member = papers_kit.cast, papers_kit.add_committee_member
demo, demo_password_hash = committees_kit.demo, committees_kit.demo_password_hash

REF = "SECP_77_1402_19"
SECRET = "zanzibarite"
HIDDEN = "SSC_13_RED"
runner = CliRunner()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client: TestClient, username: str, password: str = TEST_PASSWORD) -> str:
    """Sign ``client`` in through the login form, as a browser does; returns a CSRF token for its forms."""
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(page.text),
                                    "next": "/papers"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return _csrf(client.get("/papers").text)


@pytest.fixture
def report(cast):
    """Seed 000's shape: a GREEN paper by Rebecca with a RED Appendix A named to Rita; SECAS is not cleared for A."""
    return cast.paper(
        REF, "green", author="rebecca", title="SEC Panel Sub-Committee Report", recipients=["rita"],
        body="Details can be found in confidential Appendix A.",
        appendices=[{"title": "User Security Assessments – Identified Non-Compliances", "classification": "red",
                     "body": f"Fictional finding: the {SECRET} key store was not segregated."}],
    )


def recipients_of(session, reference: str = REF) -> list[str]:
    session.expire_all()
    return sorted(session.scalars(select(Person.username).join(PaperRecipient, PaperRecipient.person_id == Person.id)
                                  .join(Paper, Paper.id == PaperRecipient.paper_id)
                                  .where(Paper.reference == reference)))


def refusals(session, username: str) -> list[RedAccessRecord]:
    session.expire_all()
    return list(session.scalars(select(RedAccessRecord).where(RedAccessRecord.username == username,
                                                              RedAccessRecord.what.contains("refused"))))


# ------------------------------------------------------------------- item 3: SECAS grants itself RED access


def test_secas_may_not_name_itself_a_recipient_of_a_red_appendix_through_the_api(client, cast, report, session):
    h = cast.headers["secas"]
    assert client.get(f"/api/v1/papers/{REF}/appendices/A", headers=h).status_code == 404
    r = client.post(f"/api/v1/papers/{REF}/recipients", headers=h, json={"add": ["secas"]})
    assert r.status_code == 403, r.text
    assert "Only the author of SECP_77_1402_19 (Rebecca)" in r.json()["error"]
    # nothing changed: the recipients, the appendix (still a 404 for SECAS), the change log
    assert recipients_of(session) == ["rita"]
    assert client.get(f"/api/v1/papers/{REF}/appendices/A", headers=h).status_code == 404
    assert session.scalar(select(func.count()).select_from(ChangeRecord)
                          .where(ChangeRecord.action == "paper.recipients")) == 0
    # ... but the refused attempt is on record, though the request was rolled back, where the author reads it
    [refused] = refusals(session, "secas")
    assert refused.channel == "api" and refused.paper_reference == REF and "add secas" in refused.what
    log = client.get(f"/api/v1/papers/{REF}/access-log", headers=cast.headers["rebecca"]).json()
    assert [(i["username"], i["channel"]) for i in log["items"]] == [("secas", "api")]
    assert "refused" in log["items"][0]["what"]
    page = client.get(f"/papers/{REF}/access-log", headers=cast.headers["rebecca"]).text
    assert "Refused: change of recipients (add secas)" in page


def test_secas_may_not_name_itself_through_the_portal_form(app, cast, report, session):
    with TestClient(app) as browser:
        token = sign_in(browser, "secas")
        r = browser.post(f"/papers/{REF}/recipients", data={"csrf_token": token, "add": "secas"})
        assert r.status_code == 403
        assert "Only the author of SECP_77_1402_19 (Rebecca)" in r.text
        assert browser.get(f"/papers/{REF}/appendices/A").status_code == 404
    assert recipients_of(session) == ["rita"]
    assert [x.channel for x in refusals(session, "secas")] == ["page"]


def test_a_named_recipient_may_not_pass_red_material_on(client, cast, report, session):
    r = client.post(f"/api/v1/papers/{REF}/recipients", headers=cast.headers["rita"], json={"add": ["bob"]})
    assert r.status_code == 403 and "Only the author" in r.json()["error"]
    assert recipients_of(session) == ["rita"]
    assert client.get(f"/api/v1/papers/{REF}/appendices/A", headers=cast.headers["bob"]).status_code == 404
    assert [x.channel for x in refusals(session, "rita")] == ["api"]


def test_the_author_and_a_code_administrator_on_the_committee_still_name_recipients(client, cast, session):
    cast.paper("SSC_14_RED", "red", author="rebecca", committee_code="SSC", body="RED minutes.")
    add_committee_member(session, "SSC", cast.people["secas"])  # SECAS keeps the SSC's papers and sits on it
    r = client.post("/api/v1/papers/SSC_14_RED/recipients", headers=cast.headers["rebecca"], json={"add": ["rita"]})
    assert r.status_code == 200 and r.json() == ["rita"]
    r = client.post("/api/v1/papers/SSC_14_RED/recipients", headers=cast.headers["secas"], json={"add": ["bob"]})
    assert r.status_code == 200 and sorted(r.json()) == ["bob", "rita"]
    assert refusals(session, "secas") == []


def test_secas_may_not_move_a_paper_to_its_own_committee_to_be_cleared_for_red(client, cast, session):
    cast.paper("SECP_81_DRAFT", "green", author="rebecca", issue=False,
               appendices=[{"title": "Findings", "classification": "red", "body": SECRET}])
    add_committee_member(session, "CSC", cast.people["secas"])  # SECAS sits on the CSC, not on this paper's
    h = cast.headers["secas"]
    r = client.patch("/api/v1/papers/SECP_81_DRAFT", headers=h, json={"committee_code": "CSC"})
    assert r.status_code == 403 and "Only the author of SECP_81_DRAFT (Rebecca)" in r.json()["error"]
    session.expire_all()
    assert session.scalar(select(Paper.committee_code).where(Paper.reference == "SECP_81_DRAFT")) is None
    assert client.get("/api/v1/papers/SECP_81_DRAFT/appendices/A", headers=h).status_code == 404
    assert [x.channel for x in refusals(session, "secas")] == ["api"]


# --------------------------------------------------------------- item 4: no existence oracle at any door


@pytest.fixture
def hidden(cast, world):
    """A RED SSC paper by Rebecca, set up by another Code Administrator (Cecily): it does not exist for SECAS."""
    cast.people["cecily"] = world.person("cecily", "code_administrator", org=world.org("SECAS", kind="secas"))
    return cast.paper(HIDDEN, "red", by="cecily", author="rebecca", committee_code="SSC", title="Hidden findings",
                      body=f"RED: {SECRET}.")


def _same(a, b, ref_a: str, ref_b: str) -> None:
    """Two answers read the same once each request's own reference (or letter) is blanked out."""
    assert a.status_code == b.status_code, (a.text, b.text)
    text_a, text_b = (r.text.replace("&#39;", "'") for r in (a, b))  # pages escape the quotes around a letter
    assert text_a.replace(ref_a, "X") == text_b.replace(ref_b, "X"), (a.text, b.text)


def _tagged(reference: str, asked: str) -> bool:
    return re.fullmatch(re.escape(asked) + r"-[0-9A-Z]{4}", reference) is not None


def test_creating_a_paper_with_an_unseen_reference_answers_as_for_a_free_one(client, cast, hidden, session):
    h = cast.headers["secas"]
    assert client.get(f"/api/v1/papers/{HIDDEN}", headers=h).status_code == 404
    taken = client.post("/api/v1/papers", headers=h, json={"reference": HIDDEN, "title": "Probe"})
    free = client.post("/api/v1/papers", headers=h, json={"reference": "SSC_14_FREE", "title": "Probe"})
    assert taken.status_code == free.status_code == 201, (taken.text, free.text)
    assert _tagged(taken.json()["reference"], HIDDEN) and _tagged(free.json()["reference"], "SSC_14_FREE")
    # the hidden paper is untouched and still does not exist for SECAS
    session.expire_all()
    assert session.scalar(select(Paper.title).where(Paper.reference == HIDDEN)) == "Hidden findings"
    assert client.get(f"/api/v1/papers/{HIDDEN}", headers=h).status_code == 404


def test_the_new_paper_form_answers_the_same_for_an_unseen_reference(app, cast, hidden, session):
    with TestClient(app) as browser:
        token = sign_in(browser, "secas")
        answers = [browser.post("/papers/new", follow_redirects=False, data={
            "csrf_token": token, "reference": ref, "title": "Probe", "classification": "green"})
            for ref in (HIDDEN, "SSC_14_FREE")]
    assert [a.status_code for a in answers] == [303, 303]
    assert _tagged(answers[0].headers["location"].removeprefix("/papers/"), HIDDEN)
    assert _tagged(answers[1].headers["location"].removeprefix("/papers/"), "SSC_14_FREE")
    assert session.scalar(select(func.count()).select_from(Paper).where(Paper.reference == HIDDEN)) == 1


def test_drafting_a_report_under_an_unseen_reference_answers_as_for_a_free_one(client, cast, hidden, cli_env):
    h = cast.headers["secas"]
    req = {"period_start": "2020-01-01", "period_end": "2020-02-29"}
    taken = client.post("/api/v1/papers/reports", headers=h, json={**req, "reference": HIDDEN})
    free = client.post("/api/v1/papers/reports", headers=h, json={**req, "reference": "SSC_14_FREE"})
    assert taken.status_code == free.status_code == 201, (taken.text, free.text)
    assert _tagged(taken.json()["reference"], HIDDEN) and _tagged(free.json()["reference"], "SSC_14_FREE")
    cast.paper("SECP_SCR_2020_03_31", "red", by="cecily", author="rebecca")  # a period's default reference, unseen
    default = client.post("/api/v1/papers/reports", headers=h, json={**req, "period_end": "2020-03-31"})
    assert _tagged(default.json()["reference"], "SECP_SCR_2020_03_31")  # no "_2" telling it is taken
    for ref in (HIDDEN, "SSC_15_FREE"):
        r = runner.invoke(papers_cli, ["draft-report", "--from", "2020-01-01", "--to", "2020-02-29",
                                       "--reference", ref, "--as", "secas"], terminal_width=200)
        assert r.exit_code == 0 and re.search(re.escape(ref) + r"-[0-9A-Z]{4}", r.output), r.output


def test_an_unseen_appendix_letter_cannot_be_probed_by_adding_one(client, cast, session):
    cast.paper("SECP_80_DRAFT", "green", author="rebecca", issue=False,
               appendices=[{"title": "Findings", "classification": "red", "body": SECRET}])
    h = cast.headers["secas"]  # sees the draft (a Code Administrator), not its RED Appendix A
    answers = [client.post("/api/v1/papers/SECP_80_DRAFT/appendices", headers=h, json=body) for body in (
        {"letter": "A", "title": "Probe", "classification": "green"},
        {"letter": "B", "title": "Probe", "classification": "green"},
        {"title": "Probe", "classification": "green"})]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert answers[0].json() == answers[1].json() == answers[2].json()
    assert "Only the author of SECP_80_DRAFT (Rebecca)" in answers[0].json()["error"]
    assert session.scalar(select(func.count()).select_from(PaperAppendix)) == 1
    r = client.post("/api/v1/papers/SECP_80_DRAFT/appendices", headers=cast.headers["rebecca"],
                    json={"title": "More", "classification": "green"})
    assert r.status_code == 201 and r.json()["letter"] == "B"  # the author sees every letter


@pytest.mark.parametrize("method, path, body", [
    ("get", "/api/v1/papers/{ref}", None),
    ("patch", "/api/v1/papers/{ref}", {"title": "Probe"}),
    ("get", "/api/v1/papers/{ref}/appendices/A", None),
    ("post", "/api/v1/papers/{ref}/appendices", {"title": "Probe", "classification": "red"}),
    ("post", "/api/v1/papers/{ref}/recipients", {"add": ["secas"]}),
    ("post", "/api/v1/papers/{ref}/reclassify", {"classification": "white", "reason": "probe"}),
    ("post", "/api/v1/papers/{ref}/issue", None),
    ("get", "/api/v1/papers/{ref}/pdf", None),
    ("get", "/api/v1/papers/{ref}/access-log", None),
    ("get", "/papers/{ref}", None),
    ("get", "/papers/{ref}/print", None),
    ("get", "/papers/{ref}/edit", None),
    ("get", "/papers/{ref}/access-log", None),
])
def test_every_door_answers_an_unseen_reference_as_a_free_one(client, cast, hidden, session, method, path, body):
    h = cast.headers["secas"]
    kwargs = {"headers": h} | ({"json": body} if body is not None else {})
    _same(getattr(client, method)(path.format(ref=HIDDEN), **kwargs),
          getattr(client, method)(path.format(ref="SSC_99_FREE"), **kwargs), HIDDEN, "SSC_99_FREE")
    session.expire_all()
    assert session.scalar(select(Paper.title).where(Paper.reference == HIDDEN)) == "Hidden findings"
    assert recipients_of(session, HIDDEN) == []


def test_lists_search_counts_and_export_say_nothing_of_an_unseen_paper(client, cast, hidden):
    h = cast.headers["secas"]
    assert client.get("/api/v1/papers", headers=h, params={"q": HIDDEN}).json()["items"] == []
    assert client.get("/api/v1/papers/count", headers=h).json()["total"] == 0
    assert HIDDEN not in client.get("/api/v1/papers/export.csv", headers=h).text
    assert HIDDEN not in client.get("/papers", headers=h, params={"q": "SSC"}).text


def test_an_unseen_appendix_letter_answers_as_a_missing_one(client, cast, report):
    h = cast.headers["secas"]
    for path in ("/api/v1/papers/{ref}/appendices/{letter}", "/papers/{ref}/appendices/{letter}"):
        _same(client.get(path.format(ref=REF, letter="A"), headers=h),
              client.get(path.format(ref=REF, letter="Q"), headers=h), "appendix 'A'", "appendix 'Q'")
    _same(client.post(f"/api/v1/papers/{REF}/reclassify", headers=h,
                      json={"classification": "red", "appendix": "A"}),
          client.post(f"/api/v1/papers/{REF}/reclassify", headers=h,
                      json={"classification": "red", "appendix": "Q"}), "appendix 'A'", "appendix 'Q'")


# ------------------------------------------------------------------- item 5: agendas reveal RED paper ids


@pytest.fixture
def cited(demo, world, session, clock, settings):
    """A RED SSC paper by Louise Evans (the CSC's secretary), cited on CSC 12_2502's agenda by her."""
    secas = session.scalar(select(Person).where(Person.username == "secas"))
    louise = session.scalar(select(Person).where(Person.username == "louise.evans"))
    paper = service.create_paper(Ctx(session=session, actor=Actor.of(secas), clock=clock, settings=settings),
                                 PaperCreate(reference=HIDDEN, title="Hidden findings", classification="red",
                                             author="louise.evans", committee_code="SSC", body=SECRET))
    as_louise = Ctx(session=session, actor=Actor.of(louise), clock=clock, settings=settings)
    service.issue(as_louise, HIDDEN)
    add_agenda_item(as_louise, get_meeting(session, "CSC", "12_2502"),
                    AgendaItemCreate(number=9, title="Security findings", paper_id=paper.id))
    session.commit()
    large = session.scalar(select(Person).where(Person.username == "large"))
    return {"paper": paper, "louise": world.token(louise), "large": world.token(large)}


def _item(meeting: dict) -> dict:
    return next(i for i in meeting["agenda"] if i["title"] == "Security findings")


def test_an_agenda_item_shows_a_red_paper_only_to_those_who_may_see_it_in_the_api(client, cited):
    party = client.get("/api/v1/meetings/CSC/12_2502", headers=cited["large"])
    assert party.status_code == 200
    item = _item(party.json())
    assert item["paper_id"] is None and item["paper_reference"] is None and item["paper_title"] is None
    assert HIDDEN not in party.text and "Hidden findings" not in party.text
    author = _item(client.get("/api/v1/meetings/CSC/12_2502", headers=cited["louise"]).json())
    assert author["paper_id"] == cited["paper"].id and author["paper_reference"] == HIDDEN


def test_an_agenda_item_shows_a_red_paper_only_to_those_who_may_see_it_on_the_page(app, client, cited):
    with TestClient(app) as browser:
        sign_in(browser, "large", DEMO_PASSWORD)
        page = browser.get("/meetings/CSC/12_2502")
    assert page.status_code == 200 and "Security findings" in page.text
    assert f"Paper #{cited['paper'].id}" not in page.text and HIDDEN not in page.text
    assert "Hidden findings" not in page.text
    author = client.get("/meetings/CSC/12_2502", headers=cited["louise"]).text
    assert f'href="/papers/{HIDDEN}"' in author and "Hidden findings" in author


def test_the_minutes_on_the_command_line_show_a_red_paper_only_to_those_who_may_see_it(cited, cli_env):
    def minutes(*extra: str) -> str:
        r = runner.invoke(committees_cli, ["minutes", "CSC", "12_2502", *extra], terminal_width=200)
        assert r.exit_code == 0, r.output
        return r.output

    for output in (minutes(), minutes("--as", "large")):
        assert "Security findings" in output and HIDDEN not in output and "Hidden findings" not in output
    assert f"Paper: {HIDDEN} Hidden findings" in minutes("--as", "louise.evans")
