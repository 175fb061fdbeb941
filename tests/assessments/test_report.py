"""The SSC's section of the Panel Sub-Committee Report, drafted from the assessments (issue 14 point 5): January
2020 as seed 000 words it, July 2020 with seed 003's counts, and the RED Appendix A only for those allowed."""

from __future__ import annotations

import re
from datetime import date

import pytest

from gbsmart.core.errors import NotFound
from gbsmart.papers import render, reports
from gbsmart.papers import service as papers
from gbsmart.papers.demo_texts import SECP_77_1402_19, SECP_83_1408_20
from gbsmart.papers.enums import AccessChannel
from gbsmart.papers.schemas import ReportRequest


def _seed_section(text: str) -> list[str]:
    """The paragraphs of seed 000's sections 3.1 to 3.4, as the seed paper prints them."""
    part = text.split("### 3.1 ", 1)[1].split("### 3.5 ", 1)[0]
    return [p.strip() for p in part.split("\n\n") if p.strip() and not re.match(r"^(### )?[\w’ ]+$", p.strip())
            and not p.strip().startswith("### ")]


def test_the_january_2020_section_reads_as_seed_000_from_the_data(demo, as_user, session):
    secas = as_user("secas")
    paper = reports.draft_report(secas, ReportRequest(period_start=date(2020, 1, 1), period_end=date(2020, 1, 31)))
    session.commit()
    wanted = _seed_section(SECP_77_1402_19)
    assert len(wanted) == 4 and wanted[0].startswith("The Security Sub-Committee (SSC) reviewed one initial Full")
    ssc = paper.body.split("Security Sub-Committee (SSC)\n", 1)[1].split("Highlights", 1)[0]
    assert [p for p in wanted if p not in ssc] == []
    for title in ("Assurance Status Decisions", "Verification Assessments", "Director’s Letters",
                  "Security Self-Assessments"):
        assert re.search(rf"### 3\.\d {title}", paper.body), title
    assert "USA-20" not in paper.body and "Example" not in paper.body  # the paper is GREEN: counts only

    [appendix] = paper.appendices
    assert (appendix.letter, appendix.classification) == ("A", "red")
    assert "Example Supplier One Ltd" in appendix.body and "Approved subject to conditions" in appendix.body
    assert "Privileged access to the DUIS signing host" in appendix.body
    assert "Example Distribution Fourteen plc" not in appendix.body  # decided in July, not January

    papers.issue(secas, paper.reference)  # a draft is its author's and SECAS's alone
    seen = {}
    for who in ("secas", "ssc", "panel"):  # the author and a named SSC member; a Panel member only if SECAS names them
        try:
            seen[who] = papers.get_appendix(as_user(who), paper.reference, "A", AccessChannel.API)[1].body
        except NotFound:
            seen[who] = None
    assert seen == {"secas": appendix.body, "ssc": appendix.body, "panel": None}
    for who in ("supplier1", "large", "dcc"):
        with pytest.raises(NotFound):
            papers.get_appendix(as_user(who), paper.reference, "A", AccessChannel.API)
        # the print view (what the PDF is made from) holds the appendix only for those who may see it
        printed = render.print_html(papers.get_view(as_user(who), paper.reference, AccessChannel.PDF), who,
                                    secas.clock.now())
        assert "Reviewed one initial".lower() in printed.lower() and "Example Supplier One" not in printed, who
    printed = render.print_html(papers.get_view(as_user("ssc"), paper.reference, AccessChannel.PDF), "ssc",
                                secas.clock.now())
    assert "Example Supplier One Ltd" in printed and "Privileged access to the DUIS signing host" in printed


def test_the_july_2020_section_has_seed_003s_counts(demo, as_user, session):
    paper = reports.draft_report(as_user("secas"), ReportRequest(period_start=date(2020, 7, 1),
                                                                period_end=date(2020, 7, 31)))
    body = paper.body
    assert ("reviewed three initial Full User Security Assessments (FUSAs), two Follow-up Security Assessments "
            "(FSAs) and one second or subsequent FUSA in July 2020, setting five assurance statuses and one "
            "compliance status as a result") in body
    assert "The SSC reviewed two Verification User Security Assessments (VUSAs) in July 2020, setting two " \
           "compliance statuses." in body
    assert "The SSC reviewed one Director’s Letter in July 2020, following a Verification User Security " \
           "Assessment (VUSA)." in body
    assert "The SSC reviewed three Security Self-Assessments in July 2020." in body
    # the seed's own words for the same month carry the same numbers
    assert "three initial Full User Security Assessments (FUSAs) and two Follow-Up" in SECP_83_1408_20
    assert "two Verification User Security Assessments (VUSAs) and one second or subsequent FUSA" in SECP_83_1408_20
    assert "reviewed three Security Self-Assessments in July 2020" in SECP_83_1408_20
    assert "The SSC APPROVED the" not in body  # the minutes behind the counts are not listed one by one


def test_a_month_without_ssc_decisions_has_no_assessments_section_and_no_appendix(demo, as_user):
    paper = reports.draft_report(as_user("secas"), ReportRequest(period_start=date(2020, 3, 1),
                                                                period_end=date(2020, 3, 31)))
    assert "Assurance Status Decisions" not in paper.body and paper.appendices == []
