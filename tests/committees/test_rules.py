"""Pure committee rules: meeting and action references, quorum, decision wording, outstanding and overdue actions."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gbsmart.change.enums import Route
from gbsmart.committees import rules
from gbsmart.committees.enums import ActionStatus, DecisionWord

A, R, N, AP = DecisionWord.AGREED, DecisionWord.RECOMMENDED, DecisionWord.NOTED, DecisionWord.APPROVED


def test_meeting_reference_is_number_then_day_and_month():
    assert rules.meeting_reference(11, date(2020, 1, 28)) == "11_2801"
    assert rules.meeting_reference(12, date(2020, 2, 25)) == "12_2502"
    assert rules.parse_meeting_reference("11_2801") == (11, 28, 1)
    for bad in ("11-2801", "11_3213", "CSC 11_2801", ""):
        with pytest.raises(rules.RuleError):
            rules.parse_meeting_reference(bad)


def test_action_reference_is_committee_meeting_and_sequence():
    assert rules.action_reference("CSC", 11, 1) == "CSC 11/01"
    assert rules.action_reference("SMKI PMA", 3, 12) == "SMKI PMA 3/12"
    assert rules.next_sequence([]) == 1
    assert rules.next_sequence([1, 2]) == 3
    assert rules.action_reference("CSC", 11, rules.next_sequence([1])) == "CSC 11/02"


@pytest.mark.parametrize(("text", "expected"), [
    ("CSC 11/01", ("CSC", 11, 1)),
    ("CSC-11-01", ("CSC", 11, 1)),
    ("csc 11/1", ("CSC", 11, 1)),
    ("ACTION CSC 10/01", ("CSC", 10, 1)),
    ("SMKI PMA 3/02", ("SMKI PMA", 3, 2)),
    ("SMKI-PMA-3-02", ("SMKI PMA", 3, 2)),
    ("Change Board 4/01", ("CHANGE BOARD", 4, 1)),
])
def test_action_references_parse_in_either_spelling(text, expected):
    assert rules.parse_action_reference(text) == expected


@pytest.mark.parametrize("bad", ["CSC", "11/01", "CSC 11", "CSC eleven/01", ""])
def test_malformed_action_references_are_refused(bad):
    with pytest.raises(rules.RuleError):
        rules.parse_action_reference(bad)


@given(code=st.sampled_from(["CSC", "OPSG", "SSC", "SMKI PMA", "TABASC", "TAG", "Change Board", "Panel"]),
       number=st.integers(1, 9999), seq=st.integers(1, 999))
def test_action_reference_round_trips(code, number, seq):
    ref = rules.action_reference(code, number, seq)
    assert rules.parse_action_reference(ref) == (rules.normalise_code(code), number, seq)
    dashed = ref.replace(" ", "-").replace("/", "-")
    assert rules.parse_action_reference(dashed) == (rules.normalise_code(code), number, seq)


def test_agenda_item_keys():
    assert rules.parse_item_key("3") == (3, 0)
    assert rules.parse_item_key("3.5") == (3, 5)
    with pytest.raises(rules.RuleError):
        rules.parse_item_key("three")


def test_quorum_counts_chair_members_and_alternates_only():
    # seed 001: the Chair and three members present; the Meeting Secretary and the other participants do not count
    roles = ["chair", "member", "member", "member", "participant", "participant", "meeting_secretary"]
    check = rules.quorum_check(roles)
    assert check.present == 4 and check.required == rules.DEFAULT_QUORUM == 3 and check.quorate
    assert not rules.quorum_check(roles, quorum=5).quorate
    assert rules.quorum_check(["chair", "alternate", "participant"], 3).present == 2
    assert rules.quorum_check(["chair", "alternate", "member"], 3).quorate
    assert "not quorate" in rules.quorum_check([], 3).describe()


@pytest.mark.parametrize(("word", "text", "step"), [
    (A, "this Draft Proposal is ready to be converted to a Modification Proposal", "ready_to_convert"),
    (A, "further development is required to define and understand the issue", "further_development"),
    (AP, "to convert DP098 to a Modification Proposal", "convert"),
    (R, "to the Panel that the Modification Proposal should proceed to the Report Phase", None),
    (N, "this Draft Proposal will now be presented at the February 2020 Panel meeting", None),
    (A, "the minutes of the previous meeting", None),
])
def test_decision_wording_names_the_step(word, text, step):
    assert rules.infer_step(word, text) == step


def test_route_comes_from_the_wording():
    assert rules.infer_route("proceed to the Report Phase, subject to agreement by the TABASC") == Route.REPORT_PHASE
    assert rules.infer_route("ready to be converted", "should proceed to the Refinement Process") == Route.REFINEMENT
    assert rules.infer_route("ready to be converted") is None


def test_only_deciding_words_take_steps():
    rules.check_decision(A, "ready_to_convert", has_proposal=True)
    rules.check_decision(N, None, has_proposal=True)
    with pytest.raises(rules.RuleError) as exc:
        rules.check_decision(N, "further_development", has_proposal=True)
    assert exc.value.field == "step" and "NOTED" in str(exc.value)
    with pytest.raises(rules.RuleError) as exc:
        rules.check_decision(A, "further_development", has_proposal=False)
    assert exc.value.field == "proposal"


def test_decision_sentence_is_the_minutes_wording():
    assert rules.decision_sentence("CSC", A, "further development is required") == (
        "The CSC AGREED further development is required")


def test_an_action_is_outstanding_from_the_next_meeting_until_closed():
    raised_at, meeting_12 = 11, date(2020, 2, 25)
    assert not rules.is_outstanding_at(raised_at, ActionStatus.OPEN, None, 11, date(2020, 1, 28))
    assert rules.is_outstanding_at(raised_at, ActionStatus.OPEN, None, 12, meeting_12)
    # closed at meeting 12: still listed there (with its closing update), gone from meeting 13
    assert rules.is_outstanding_at(raised_at, ActionStatus.CLOSED, meeting_12, 12, meeting_12)
    assert not rules.is_outstanding_at(raised_at, ActionStatus.CLOSED, meeting_12, 13, date(2020, 3, 24))


def test_overdue_is_open_and_past_due():
    today = date(2020, 3, 1)
    assert rules.is_overdue("open", date(2020, 2, 29), today)
    assert not rules.is_overdue("open", date(2020, 3, 1), today)
    assert not rules.is_overdue("closed", date(2020, 2, 1), today)
    assert not rules.is_overdue("open", None, today)
