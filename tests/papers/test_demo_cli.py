"""The demo papers (seeds 000, 001, 003) and the `gbsmart papers` commands against them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.core.context import Actor, Ctx
from gbsmart.demo.loader import load_demo
from gbsmart.models.papers import Paper, RedAccessRecord
from gbsmart.models.parties import Person
from gbsmart.papers import service
from gbsmart.papers.cli import app as papers_cli
from gbsmart.papers.demo import load_papers_demo
from gbsmart.papers.enums import AccessChannel
from gbsmart.papers.service import PaperFilters
from tests.papers.conftest import add_committee_member

runner = CliRunner()


@pytest.fixture
def demo(ctx, session):
    report = load_demo(ctx)  # the main demo loads committees, then papers (SSC members become recipients)
    session.commit()
    return report.counts


def as_(ctx: Ctx, session, username: str) -> Ctx:
    person = session.scalar(select(Person).where(Person.username == username))
    return Ctx(session=session, actor=Actor.of(person), clock=ctx.clock, settings=ctx.settings)


def test_the_demo_loads_once_and_shows_both_sides_of_a_red_appendix(ctx, session, demo):
    assert demo["papers"] == (3, 0) and demo["named recipients"] == (6, 0)  # the SSC's two members and panel, twice
    again = load_papers_demo(ctx)
    assert again["papers"] == (0, 3) and again["named recipients"] == (0, 6)
    seed000 = session.scalar(select(Paper).where(Paper.reference == "SECP_77_1402_19"))
    assert seed000.classification == "white" and seed000.author_name == "Rebecca Jones"
    assert seed000.author_id is not None and seed000.action == "for_information"
    assert "## 5. Recommendations" in seed000.body and "DP107 [‘SMETS1 Validation of SRV 6.15.1’]" in seed000.body

    panel, secas = as_(ctx, session, "panel"), as_(ctx, session, "secas")
    seen = service.get_view(panel, "SECP_77_1402_19", AccessChannel.API)
    assert [(a.letter, a.classification) for a in seen.appendices] == [("A", "red")]
    assert "Fictional demonstration placeholder" in seen.appendices[0].body
    assert service.get_view(secas, "SECP_77_1402_19", AccessChannel.API).appendices == []
    assert [v.paper.reference for v in service.list_papers(secas, PaperFilters(q="Example Agent Three"),
                                                           AccessChannel.API).items] == []
    assert len(service.list_papers(panel, PaperFilters(q="Example Agent Three"), AccessChannel.API).items) == 2

    dp104 = service.get_view(as_(ctx, session, "large"), "DP104_PS", AccessChannel.API)
    assert dp104.paper.classification == "green" and dp104.paper.committee_code == "CSC"
    [change] = dp104.history
    assert (change.from_classification, change.to_classification) == ("red", "green")
    assert "Panel Information Policy" in change.reason and "11_2801" in change.reason


def test_a_rerun_names_the_ssc_members_once_the_committees_domain_has_them(ctx, session, demo):
    member = session.scalar(select(Person).where(Person.username == "large"))
    add_committee_member(session, "SSC", member)
    counts = load_papers_demo(ctx)
    assert counts["named recipients"] == (2, 6)
    assert service.get_view(as_(ctx, session, "large"), "SECP_83_1408_20", AccessChannel.API).appendices


@pytest.fixture
def cli_env(cli_env, demo):
    return cli_env

def run(*args: str):
    return runner.invoke(papers_cli, list(args), catch_exceptions=False, terminal_width=200)


def test_the_papers_commands(cli_env, session):
    r = run("list", "--as", "secas")
    assert r.exit_code == 0 and "SECP_77_1402_19" in r.output and "DP104_PS" in r.output
    r = run("show", "SECP_77_1402_19", "--as", "secas")
    assert r.exit_code == 0 and "Operations Group" in r.output and "placeholder" not in r.output
    r = run("show", "SECP_77_1402_19", "--as", "panel")
    assert r.exit_code == 0 and "Appendix A" in r.output and "placeholder" in r.output
    assert session.scalars(select(RedAccessRecord.channel).where(RedAccessRecord.username == "panel")).all() == [
        "cli"]
    refused = run("reclassify", "DP104_PS", "--to", "white", "--as", "secas")
    assert refused.exit_code == 1 and "needs a reason" in refused.output
    r = run("reclassify", "DP104_PS", "--to", "white", "--reason", "Published with the Panel papers", "--as",
            "secas")
    assert r.exit_code == 0 and "GREEN" in r.output and "WHITE" in r.output
    hidden = run("show", "SECP_77_1402_19", "--as", "nobody")
    assert hidden.exit_code == 1
    r = run("draft-report", "--from", "2020-01-01", "--to", "2020-02-29", "--as", "secas")
    assert r.exit_code == 0 and "SECP_SCR_2020_02_29" in r.output
    assert run("draft-report", "--from", "2020-01-01", "--to", "2020-02-29", "--as", "large").exit_code == 1
    r = run("list", "--as", "large", "--classification", "green")
    assert "SECP_SCR_2020_02_29" not in r.output  # still a draft
    r = run("show", "SECP_SCR_2020_02_29", "--as", "secas")
    assert r.exit_code == 0 and "Change Sub-Committee" in r.output and "Recommendations" in r.output
