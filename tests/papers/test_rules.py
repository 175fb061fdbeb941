"""The Panel Information Policy as pure rules: examples from DOMAIN.md section 3 and Hypothesis properties."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from gbsmart.papers.enums import Classification
from gbsmart.papers.rules import (
    PaperContext,
    Viewer,
    can_see,
    clearance,
    effective,
    may_add_appendix,
    may_manage,
    may_name_recipients,
    reclassification_problem,
    stricter,
)

LEVELS = list(Classification)
CODES = ["CSC", "SSC", "OPSG", "TABASC"]
ROLES = ["code_administrator", "panel_member", "committee_member", "party_user", "dcc", "authority", "other"]
KINDS = [None, "sec_party", "secas", "dcc", "panel", "authority", "consumer"]

viewers = st.builds(
    Viewer,
    person_id=st.one_of(st.none(), st.integers(1, 8)),
    roles=st.frozensets(st.sampled_from(ROLES), max_size=3),
    organisation_id=st.one_of(st.none(), st.integers(1, 4)),
    organisation_kind=st.sampled_from(KINDS),
    committee_codes=st.frozensets(st.sampled_from(CODES), max_size=2),
    organisation_committee_codes=st.frozensets(st.sampled_from(CODES), max_size=3),
)
papers = st.builds(
    PaperContext,
    author_id=st.one_of(st.none(), st.integers(1, 8)),
    recipient_ids=st.frozensets(st.integers(1, 8), max_size=4),
    committee_code=st.one_of(st.none(), st.sampled_from(CODES + ["ssc"])),
    issued=st.booleans(),
)


def v(person_id: int = 1, *roles: str, kind: str | None = "sec_party", **kw) -> Viewer:
    return Viewer(person_id=person_id, roles=frozenset(roles), organisation_id=1, organisation_kind=kind, **kw)


# ------------------------------------------------------------------------------------------------ examples


def test_white_is_for_anyone_signed_in_but_not_anonymous():
    paper = PaperContext()
    assert can_see(v(1, kind=None), Classification.WHITE, paper)
    assert not can_see(Viewer(person_id=None), Classification.WHITE, paper)


def test_green_is_for_sec_parties_and_the_bodies_not_the_public():
    paper = PaperContext()
    for kind in ("sec_party", "secas", "dcc", "panel", "authority"):
        assert can_see(v(1, kind=kind), "green", paper)
    assert can_see(v(1, "panel_member", kind=None), "green", paper)
    assert not can_see(v(1, kind=None), "green", paper)
    assert not can_see(v(1, kind="consumer"), "green", paper)


def test_amber_is_committee_members_their_organisations_the_author_and_code_administrators():
    paper = PaperContext(author_id=9, committee_code="SSC")
    assert can_see(v(1, committee_codes=frozenset({"SSC"})), "amber", paper)
    assert can_see(v(2, organisation_committee_codes=frozenset({"SSC"})), "amber", paper)
    assert can_see(v(9), "amber", paper)
    assert can_see(v(3, "code_administrator", kind="secas"), "amber", paper)
    assert not can_see(v(4, organisation_committee_codes=frozenset({"CSC"})), "amber", paper)
    assert not can_see(v(5, "panel_member"), "amber", paper)


def test_red_is_named_recipients_committee_members_and_the_author_not_code_administrators():
    paper = PaperContext(author_id=9, recipient_ids=frozenset({7}), committee_code="ssc")
    assert can_see(v(7), "red", paper)
    assert can_see(v(9), "red", paper)
    assert can_see(v(1, committee_codes=frozenset({"SSC"})), "red", paper)
    assert not can_see(v(3, "code_administrator", kind="secas"), "red", paper)
    assert not can_see(v(2, organisation_committee_codes=frozenset({"SSC"})), "red", paper)
    assert clearance(v(3, "code_administrator"), paper) == Classification.AMBER


def test_drafts_are_for_the_author_and_code_administrators_only():
    draft = PaperContext(author_id=9, recipient_ids=frozenset({7}), issued=False)
    assert can_see(v(9), "green", draft)
    assert can_see(v(3, "code_administrator"), "green", draft)
    assert not can_see(v(7), "green", draft)
    assert not can_see(v(3, "code_administrator"), "red", draft)


def test_an_appendix_is_as_strict_as_the_stricter_of_itself_and_its_paper():
    assert effective("green", "red") == Classification.RED
    assert effective("amber", "white") == Classification.AMBER
    assert stricter("white", "green", "amber") == Classification.AMBER


def test_lowering_needs_a_reason_raising_does_not_and_no_op_is_refused():
    assert reclassification_problem("red", "green", "") is not None
    assert reclassification_problem("red", "green", "   ") is not None
    assert reclassification_problem("red", "green", "Panel Information Policy review") is None
    assert reclassification_problem("green", "red", "") is None
    assert "already" in reclassification_problem("green", "green", "x")


def test_only_the_author_or_a_code_administrator_manages_a_paper():
    paper = PaperContext(author_id=9, recipient_ids=frozenset({7}))
    assert may_manage(v(9), paper) and may_manage(v(3, "code_administrator"), paper)
    assert not may_manage(v(7), paper)


# ---------------------------------------------------------------------------------------------- properties


@given(viewers, papers)
def test_whoever_may_see_red_may_see_every_lower_level(viewer: Viewer, paper: PaperContext):
    for higher in LEVELS:
        if can_see(viewer, higher, paper):
            for lower in LEVELS[: LEVELS.index(higher)]:
                assert can_see(viewer, lower, paper)


@given(viewers, papers)
def test_white_is_visible_to_every_signed_in_person_of_an_issued_paper(viewer: Viewer, paper: PaperContext):
    paper = dataclasses.replace(paper, issued=True)
    assert can_see(viewer, Classification.WHITE, paper) == viewer.signed_in


@given(viewers, papers, st.integers(1, 8), st.sampled_from(LEVELS))
def test_removing_a_recipient_never_grants_access(viewer: Viewer, paper: PaperContext, removed: int,
                                                  level: Classification):
    after = dataclasses.replace(paper, recipient_ids=paper.recipient_ids - {removed})
    assert not (can_see(viewer, level, after) and not can_see(viewer, level, paper))


@given(viewers, papers, st.sampled_from(CODES), st.sampled_from(LEVELS))
def test_leaving_a_committee_never_grants_access(viewer: Viewer, paper: PaperContext, code: str,
                                                 level: Classification):
    left = dataclasses.replace(viewer, committee_codes=viewer.committee_codes - {code},
                               organisation_committee_codes=viewer.organisation_committee_codes - {code})
    assert not (can_see(left, level, paper) and not can_see(viewer, level, paper))


@given(viewers, papers)
def test_a_code_administrator_role_alone_never_clears_red(viewer: Viewer, paper: PaperContext):
    admin = dataclasses.replace(viewer, roles=viewer.roles | {"code_administrator"})
    if clearance(admin, paper) == Classification.RED:
        assert clearance(viewer, paper) == Classification.RED
    issued = dataclasses.replace(paper, issued=True)
    assert can_see(admin, Classification.RED, issued) == can_see(viewer, Classification.RED, issued)


def test_recipients_are_named_by_the_author_or_a_code_administrator_on_the_committee():
    paper = PaperContext(author_id=9, recipient_ids=frozenset({7}), committee_code="ssc")
    assert may_name_recipients(v(9), paper)
    assert may_name_recipients(v(3, "code_administrator", committee_codes=frozenset({"SSC"})), paper)
    assert not may_name_recipients(v(3, "code_administrator", kind="secas"), paper)  # SECAS, not on the SSC
    assert not may_name_recipients(v(7), paper)  # a named recipient does not pass RED on
    assert not may_name_recipients(v(7, "code_administrator"), paper)  # nor does a named Code Administrator
    assert not may_name_recipients(v(1, committee_codes=frozenset({"SSC"})), paper)  # nor a member of the meeting


@given(viewers, papers)
def test_whoever_names_recipients_is_cleared_for_red_without_being_named(viewer: Viewer, paper: PaperContext):
    if may_name_recipients(viewer, paper):
        unnamed = dataclasses.replace(paper, recipient_ids=paper.recipient_ids - {viewer.person_id})
        assert clearance(viewer, unnamed) == Classification.RED


@given(viewers, papers)
def test_whoever_adds_an_appendix_manages_the_paper_and_sees_all_of_it(viewer: Viewer, paper: PaperContext):
    if may_add_appendix(viewer, paper):
        assert may_manage(viewer, paper) and clearance(viewer, paper) == Classification.RED


@given(st.sampled_from(LEVELS), st.sampled_from(LEVELS), st.text(max_size=5))
def test_only_lowering_without_a_reason_or_no_change_is_refused(old, new, reason):
    problem = reclassification_problem(old, new, reason)
    refused = old == new or (new.rank < old.rank and not reason.strip())
    assert (problem is not None) == refused
