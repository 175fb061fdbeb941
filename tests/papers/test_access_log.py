"""The RED access log of a paper: what it records, who may read it (author, SECAS), and paging - on both databases.

The scenario is seed 000's again: a GREEN paper by Rebecca (SECAS staff) with a RED Appendix A named to Rita.
Rita reads the appendix; the log says so. Rebecca (the author) and SECAS (the Code Administrator, who is not
cleared for the RED appendix itself) may read the log; Rita, who may see everything in the paper but did not
write it, gets 403; a person for whom the paper does not exist gets the same 404 as for an unknown reference.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from gbsmart.core import cli_support
from gbsmart.core.errors import Forbidden, Invalid, NotFound
from gbsmart.models.papers import RedAccessRecord
from gbsmart.papers import access_log, service
from gbsmart.papers import api as papers_api
from gbsmart.papers.cli import app as papers_cli
from gbsmart.papers.enums import AccessChannel

REF = "SECP_77_1402_19"
SECRET = "zanzibarite"


@pytest.fixture
def report(cast):
    return cast.paper(
        REF, "green", author="rebecca", title="SEC Panel Sub-Committee Report", recipients=["rita"],
        body="Details can be found in confidential Appendix A.",
        appendices=[{"title": "User Security Assessments – Identified Non-Compliances", "classification": "red",
                     "body": f"Fictional finding: the {SECRET} key store was not segregated."}],
    )


def log_of(client, cast, who: str, reference: str = REF, **params):
    return client.get(f"/api/v1/papers/{reference}/access-log", headers=cast.headers[who], params=params)


# ------------------------------------------------------------------------------------------------ service


def test_a_red_view_by_a_recipient_is_in_the_log_newest_first(cast, report, session):
    service.get_appendix(cast.ctx("rita"), REF, "A", AccessChannel.PAGE)
    cast.clock.advance(minutes=5)
    service.get_view(cast.ctx("rita"), REF, AccessChannel.PDF)
    service.get_view(cast.ctx("bob"), REF, AccessChannel.PAGE)  # no RED given to Bob: nothing logged
    session.commit()

    for reader in ("secas", "rebecca"):
        log = access_log.read_access_log(cast.ctx(reader), REF)
        assert [(e.record.username, e.part, e.channel) for e in log.entries] == [
            ("rita", "Appendix A", AccessChannel.PDF), ("rita", "Appendix A", AccessChannel.PAGE)]
        first = log.entries[0]
        assert first.name == "Rita" and first.organisation == "Big Energy plc"
        assert first.record.what == f"{REF} Appendix A" and first.record.at > log.entries[1].record.at
        assert log.next_cursor is None and log.paper.reference == REF
    # SECAS reviews RED access without being cleared for the RED appendix itself
    assert access_log.read_access_log(cast.ctx("secas"), REF).paper_visible is True
    assert service.get_view(cast.ctx("secas"), REF, AccessChannel.API).appendices == []


def test_only_the_author_and_secas_may_read_it(cast, report):
    service.get_view(cast.ctx("rita"), REF, AccessChannel.API)
    with pytest.raises(Forbidden) as refused:
        access_log.read_access_log(cast.ctx("rita"), REF)  # a recipient who is not the author
    assert "Only its author (Rebecca) or a Code Administrator (SECAS)" in refused.value.message
    with pytest.raises(Forbidden):
        access_log.read_access_log(cast.ctx("wendy"), REF)  # sees the GREEN paper, not its log
    with pytest.raises(NotFound) as hidden:
        access_log.read_access_log(cast.ctx("guest"), REF)  # GREEN is not for guest: the paper does not exist
    with pytest.raises(NotFound) as elsewhere:
        service.get_view(cast.ctx("guest"), REF, None)
    assert hidden.value.message == elsewhere.value.message  # word for word what the paper's own address says


def test_a_red_paper_secas_may_not_see_has_no_log_for_secas_either(cast, session):
    cast.paper("SSC_12_RED", "red", author="rebecca", committee_code="SSC", body="RED minutes.")
    service.get_view(cast.ctx("cara"), "SSC_12_RED", AccessChannel.CLI)  # an SSC member
    session.commit()
    with pytest.raises(NotFound) as paper:
        service.get_view(cast.ctx("secas"), "SSC_12_RED", None)
    with pytest.raises(NotFound) as log:
        access_log.read_access_log(cast.ctx("secas"), "SSC_12_RED")  # the paper does not exist for SECAS
    assert log.value.message == paper.value.message
    by_author = access_log.read_access_log(cast.ctx("rebecca"), "SSC_12_RED")
    assert [(e.record.username, e.part, e.channel) for e in by_author.entries] == [("cara", "Paper", AccessChannel.CLI)]
    with pytest.raises(NotFound):
        access_log.read_access_log(cast.ctx("tom"), "SSC_12_RED")  # not on the SSC: the paper does not exist
    with pytest.raises(Forbidden):
        access_log.read_access_log(cast.ctx("cara"), "SSC_12_RED")  # may see it, did not write it
    with pytest.raises(NotFound):
        access_log.read_access_log(cast.ctx("secas"), "NO_SUCH_1")


def test_the_log_pages_by_key_and_holds_only_this_paper(cast, report, session):
    cast.paper("OTHER_RED", "red", author="rebecca", recipients=["rita"])
    for _ in range(3):
        service.get_view(cast.ctx("rita"), REF, AccessChannel.API)  # one record per view, all at the same time
        service.get_view(cast.ctx("rita"), "OTHER_RED", AccessChannel.API)
    cast.clock.advance(minutes=1)
    service.get_appendix(cast.ctx("rita"), REF, "A", AccessChannel.PAGE)
    session.commit()
    ids = list(session.scalars(select(RedAccessRecord.id).where(RedAccessRecord.paper_reference == REF)
                               .order_by(RedAccessRecord.at.desc(), RedAccessRecord.id.desc())))
    assert len(ids) == 4

    ctx = cast.ctx("secas")
    seen, cursor = [], None
    while True:
        page = access_log.read_access_log(ctx, REF, cursor, limit=3)
        seen += [e.record.id for e in page.entries]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids and cursor is not None  # two pages, in order, nothing repeated or missed
    assert access_log.read_access_log(ctx, REF, limit=4).next_cursor is None
    with pytest.raises(Invalid):
        access_log.read_access_log(ctx, REF, "not-a-cursor")
    with pytest.raises(Invalid):
        access_log.read_access_log(ctx, REF, limit=0)


# ---------------------------------------------------------------------------------------------------- API


def test_the_access_log_over_the_api(client, cast, report, session):
    assert client.get(f"/api/v1/papers/{REF}/appendices/A", headers=cast.headers["rita"]).status_code == 200
    for who in ("secas", "rebecca"):
        r = log_of(client, cast, who)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        assert body["reference"] == REF and body["next_cursor"] is None
        [entry] = body["items"]
        assert entry["username"] == "rita" and entry["name"] == "Rita" and entry["organisation"] == "Big Energy plc"
        assert entry["what"] == f"{REF} Appendix A" and entry["appendix"] == "A" and entry["channel"] == "api"
        assert entry["request_id"]
        assert SECRET not in r.text and "Non-Compliances" not in r.text  # the log gives no RED content

    refused = log_of(client, cast, "rita")
    assert refused.status_code == 403
    assert refused.json()["error"] == (f"Only its author (Rebecca) or a Code Administrator (SECAS) may read the "
                                       f"RED access log of {REF}.")
    assert log_of(client, cast, "bob").status_code == 403
    hidden = log_of(client, cast, "guest")
    elsewhere = client.get(f"/api/v1/papers/{REF}", headers=cast.headers["guest"])
    assert hidden.status_code == elsewhere.status_code == 404 and hidden.json() == elsewhere.json()
    assert log_of(client, cast, "secas", "NO_SUCH_1").status_code == 404
    assert client.get(f"/api/v1/papers/{REF}/access-log").status_code == 401
    assert log_of(client, cast, "secas", limit=0).status_code == 422
    assert log_of(client, cast, "secas", cursor="%%%").status_code == 422

    paged = log_of(client, cast, "secas", limit=1)
    assert len(paged.json()["items"]) == 1 and paged.json()["next_cursor"] is None
    # reading the log is not itself RED access
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(RedAccessRecord)) == 1

    [route] = [r for r in papers_api.router.routes if getattr(r, "path", "") == "/papers/{reference}/access-log"]
    assert route.summary == "Who was given the paper's RED material, newest first (author or SECAS)"


def test_the_access_log_page_is_linked_for_the_author_and_secas_only(client, cast, report):
    client.get(f"/papers/{REF}/appendices/A", headers=cast.headers["rita"])
    for who in ("secas", "rebecca"):
        assert f'href="/papers/{REF}/access-log"' in client.get(f"/papers/{REF}", headers=cast.headers[who]).text
        page = client.get(f"/papers/{REF}/access-log", headers=cast.headers[who])
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert "Rita" in page.text and "Big Energy plc" in page.text and "Appendix A" in page.text
        assert "Portal page" in page.text and SECRET not in page.text
    for who in ("rita", "bob"):
        assert "access-log" not in client.get(f"/papers/{REF}", headers=cast.headers[who]).text
        refused = client.get(f"/papers/{REF}/access-log", headers=cast.headers[who])
        assert refused.status_code == 403 and "may read the RED access log" in refused.text
    assert client.get(f"/papers/{REF}/access-log", headers=cast.headers["guest"]).status_code == 404


# ---------------------------------------------------------------------------------------------------- CLI


def test_the_access_log_command(cli_env, cast, report, session, monkeypatch):
    monkeypatch.setattr(cli_support, "_clock", cast.clock)  # the commands run on the test's clock
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(papers_cli, list(args), catch_exceptions=False, terminal_width=200)

    r = run("show", REF, "--as", "rita")
    assert r.exit_code == 0 and SECRET in r.output
    cast.clock.advance(minutes=1)
    service.get_view(cast.ctx("rita"), REF, AccessChannel.PDF)
    session.commit()

    r = run("access-log", REF, "--as", "secas")
    assert r.exit_code == 0, r.output
    assert "RED access log of SECP_77_1402_19" in r.output and "Rita (rita)" in r.output
    assert "Big Energy plc" in r.output and "Appendix A" in r.output and "(last page)" in r.output
    assert r.output.index("PDF") < r.output.index("Command line")  # newest first
    r = run("access-log", REF, "--as", "rebecca", "--limit", "1")
    assert r.exit_code == 0 and "PDF" in r.output and "Command line" not in r.output
    cursor = r.output.split("--cursor ")[1].split()[0]
    r = run("access-log", REF, "--as", "rebecca", "--limit", "1", "--cursor", cursor)
    assert r.exit_code == 0 and "Command line" in r.output and "PDF" not in r.output

    refused = run("access-log", REF, "--as", "rita")
    assert refused.exit_code == 1 and "error (403)" in refused.output and "Code Administrator" in refused.output
    hidden = run("access-log", REF, "--as", "guest")
    assert hidden.exit_code == 1 and "error (404)" in hidden.output and "No paper" in hidden.output
