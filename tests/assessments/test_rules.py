"""The cycle, size and status rules (seed 004's table, SECMP0044, SECMP0059), pure."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gbsmart.assessments import rules
from gbsmart.assessments.enums import AssessmentKind, SscStatus, StatusKind, UserSize, UserType

F, V, S, U = AssessmentKind.FULL, AssessmentKind.VERIFICATION, AssessmentKind.SELF, AssessmentKind.FOLLOW_UP
R = rules.load_rules()


def test_the_packaged_table_is_seed_004s():
    assert R.rows == {"large_supplier": (F, F, F), "small_supplier": (F, V, S), "large_network": (F, V, V),
                      "small_network": (F, V, S), "other": (F, S, S)}
    assert rules.load_rules(variant="secmp0059").rows["other"] == (F, V, S)
    with pytest.raises(ValueError, match="unknown assessment cycle variant 'nope'; cycle.toml has secmp0059"):
        rules.load_rules(variant="nope")


def test_a_table_with_a_wrong_row_names_it():
    text = rules.CYCLE_FILE.read_text().replace('other = ["full", "self", "self"]', 'other = ["full", "self"]')
    with pytest.raises(ValueError, match="other must give 3 kinds"):
        rules.parse_rules(text)
    text = rules.CYCLE_FILE.read_text().replace('other = ["full", "self", "self"]', 'other = ["full", "x", "self"]')
    with pytest.raises(ValueError, match="cycle.toml: other"):
        rules.parse_rules(text)


def test_large_means_more_than_the_threshold_of_its_own_portfolio():
    assert rules.size_of(R, 250_000, 0) == UserSize.SMALL
    assert rules.size_of(R, 250_001, 0) == UserSize.LARGE
    assert rules.size_of(R, 0, 50_000) == UserSize.SMALL
    assert rules.size_of(R, 0, 50_001) == UserSize.LARGE
    assert rules.row_of(UserType.OTHER, UserSize.LARGE) == "other"
    assert rules.row_of(UserType.NETWORK, UserSize.LARGE) == "large_network"


def test_year_one_starts_at_user_entry_and_the_cycle_repeats():
    entry = date(2019, 3, 1)
    assert rules.position(entry, date(2019, 3, 1)).cycle_year == 1
    assert rules.position(entry, date(2020, 2, 29)).cycle_year == 1
    p = rules.position(entry, date(2020, 3, 1))
    assert (p.cycle_number, p.cycle_year, p.year_start) == (1, 2, date(2020, 3, 1))
    p = rules.position(entry, date(2022, 3, 1))
    assert (p.cycle_number, p.cycle_year, p.cycle_start, p.next_cycle_start) == (2, 1, date(2022, 3, 1),
                                                                                 date(2025, 3, 1))
    with pytest.raises(rules.RuleError, match="before the User Entry date"):
        rules.position(entry, date(2019, 2, 28))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)), st.integers(min_value=0, max_value=4000))
def test_every_day_falls_in_exactly_one_year_of_the_cycle(entry, days):
    on = entry + timedelta(days=days)
    p = rules.position(entry, on)
    assert 1 <= p.cycle_year <= 3 and p.cycle_number >= 1
    assert p.year_start <= on
    assert rules.position(entry, p.year_start) == p
    assert p.cycle_start <= p.year_start < p.next_cycle_start


def test_a_kind_the_year_does_not_call_for_is_refused_naming_the_rule():
    at = rules.position(date(2018, 9, 1), date(2020, 9, 5))  # year 3
    rules.check_kind(R, "small_supplier", at, S, "Example Ltd")
    rules.check_kind(R, "small_supplier", at, U, "Example Ltd")  # a Follow-up may come at any time
    with pytest.raises(rules.RuleError) as e:
        rules.check_kind(R, "small_supplier", at, V, "Example Ltd")
    assert str(e.value) == ("A Verification User Security Assessment is not allowed for Example Ltd in year 3 of its "
                            "cycle (Small Supplier: Full, Verification, Self): the year from 2020-09-01 calls for a "
                            "Security Self-Assessment.")
    assert e.value.field == "kind"


def test_a_size_changes_only_when_a_cycle_starts():
    entry = date(2019, 3, 1)
    rules.check_size_change(R, "X", entry, UserSize.SMALL, date(2020, 6, 1), UserSize.SMALL)
    rules.check_size_change(R, "X", entry, UserSize.SMALL, date(2022, 3, 1), UserSize.LARGE)
    with pytest.raises(rules.RuleError, match="record this portfolio as of 2022-03-01"):
        rules.check_size_change(R, "X", entry, UserSize.SMALL, date(2020, 6, 1), UserSize.LARGE)


def test_assurance_after_an_initial_full_compliance_after_later_ones():
    assert rules.status_kind_for(F, True) == StatusKind.ASSURANCE
    assert rules.status_kind_for(F, False) == StatusKind.COMPLIANCE
    assert rules.status_kind_for(V, False) == StatusKind.COMPLIANCE
    assert rules.status_kind_for(S, False) == StatusKind.REVIEW
    assert rules.status_kind_for(U, False, StatusKind.ASSURANCE) == StatusKind.ASSURANCE
    with pytest.raises(rules.RuleError, match="choose Approved, Approved subject to conditions, Deferred, Rejected"):
        rules.check_status(StatusKind.ASSURANCE, SscStatus.COMPLIANT, "X")


def test_the_calendar_lists_the_years_that_begin_in_a_period():
    got = rules.calendar(R, date(2019, 3, 1), "small_supplier", date(2027, 1, 1), date(2028, 12, 31))
    assert [(e.year_start, e.cycle_number, e.cycle_year, e.kind) for e in got] == [
        (date(2027, 3, 1), 3, 3, S), (date(2028, 3, 1), 4, 1, F)]
    first = rules.calendar(R, date(2027, 5, 1), "other", date(2027, 1, 1), date(2027, 12, 31))
    assert [(e.kind, e.initial) for e in first] == [(F, True)]
