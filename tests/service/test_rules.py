"""The SLA rules: the working-day calendar (England and Wales bank holidays from the ``holidays`` library), targets
per category, the clock stopping while an incident waits for its User, and the incidents file's checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gbsmart.core.errors import Invalid
from gbsmart.service import rules
from gbsmart.service.enums import IncidentStatus

CATALOGUE = rules.load_catalogue()
CAT1, CAT4 = CATALOGUE.categories[1], CATALOGUE.categories[4]


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_packaged_targets_are_the_domains_defaults():
    assert [(c.number, c.target, c.unit) for c in CATALOGUE.categories.values()] == [
        (1, 4, rules.Unit.HOURS), (2, 8, rules.Unit.HOURS), (3, 24, rules.Unit.HOURS),
        (4, 3, rules.Unit.WORKING_DAYS), (5, 5, rules.Unit.WORKING_DAYS)]
    assert CAT4.target_text == "3 working days" and CAT1.target_text == "4 hours" and CAT1.major and not CAT4.major


def test_bank_holidays_come_from_the_library_with_observed_days():
    assert not rules.is_working_day(date(2026, 12, 25))          # Christmas Day, a Friday
    assert not rules.is_working_day(date(2026, 12, 28))          # Boxing Day falls on a Saturday: observed Monday
    assert not rules.is_working_day(date(2026, 8, 31))           # Late Summer Bank Holiday (England and Wales)
    assert rules.is_working_day(date(2026, 8, 3))                # Scotland's summer holiday is not England's
    assert rules.is_working_day(date(2026, 12, 29)) and not rules.is_working_day(date(2026, 12, 27))


def test_three_working_days_over_christmas_skip_the_weekend_and_both_holidays():
    raised = at(2026, 12, 24, 15, 0)  # Thursday 15:00 UTC (London is on GMT)
    assert rules.add_working_seconds(raised, CAT4.target_seconds) == at(2026, 12, 31, 15, 0)
    # raised on a Saturday: the clock starts on Monday 00:00 (and 28 December is a holiday: Tuesday)
    assert rules.add_working_seconds(at(2026, 12, 26, 10), 3600) == at(2026, 12, 29, 1, 0)
    # in summer London is an hour ahead of UTC: a working day starts at 23:00 UTC the evening before
    assert rules.add_working_seconds(at(2026, 7, 4, 12), 0) == at(2026, 7, 5, 23, 0)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)),
       st.floats(min_value=0, max_value=20 * 86400, allow_nan=False))
def test_adding_working_time_and_measuring_it_agree(start, seconds):
    start = start.replace(tzinfo=UTC)
    end = rules.add_working_seconds(start, seconds)
    assert end >= start
    assert rules.working_seconds(start, end) == pytest.approx(seconds, abs=1e-3)
    assert rules.working_seconds(start, end) <= (end - start).total_seconds() + 1e-3


def test_the_clock_stops_while_the_incident_waits_for_its_user():
    raised = at(2026, 12, 1, 9)
    history = rules.spans([(raised, IncidentStatus.OPEN), (at(2026, 12, 1, 10), IncidentStatus.AWAITING_USER),
                           (at(2026, 12, 1, 15), IncidentStatus.IN_PROGRESS)])
    s = rules.sla(CAT1, history, at(2026, 12, 1, 16))
    assert s.used_seconds == 2 * 3600 and s.running and s.left_seconds == 2 * 3600  # 1 h + 1 h; 5 h waiting
    assert s.due_at == at(2026, 12, 1, 18) and not s.breached
    late = rules.sla(CAT1, history, at(2026, 12, 1, 19))
    assert late.breached and late.due_at == at(2026, 12, 1, 18)  # when it was breached
    waiting = rules.sla(CAT1, rules.spans([(raised, IncidentStatus.OPEN),
                                           (at(2026, 12, 1, 10), IncidentStatus.AWAITING_USER)]), at(2026, 12, 9))
    assert not waiting.running and waiting.due_at is None and waiting.used_seconds == 3600
    resolved = rules.sla(CAT1, rules.spans([(raised, IncidentStatus.OPEN),
                                            (at(2026, 12, 1, 12), IncidentStatus.RESOLVED)]), at(2026, 12, 30))
    assert resolved.used_seconds == 3 * 3600 and not resolved.breached and not resolved.running


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 72 * 3600), st.sampled_from(list(IncidentStatus)[:3])), min_size=1,
                max_size=8), st.integers(0, 72 * 3600))
def test_the_time_used_never_exceeds_the_time_the_clock_ran(steps, tail):
    t = at(2026, 11, 2, 8)
    changes = [(t, IncidentStatus.OPEN)]
    for gap, status in steps:
        t = t + timedelta(seconds=gap)
        changes.append((t, status))
    now = t + timedelta(seconds=tail)
    for category in CATALOGUE.categories.values():
        s = rules.sla(category, rules.spans(changes), now)
        running = sum(((b[0] if b else now) - a[0]).total_seconds()
                      for a, b in zip(changes, [*changes[1:], None], strict=True) if a[1] in rules.RUNNING)
        assert 0 <= s.used_seconds <= running + 1e-6
        assert s.running == (changes[-1][1] in rules.RUNNING)


def test_transitions_say_what_may_follow():
    assert rules.may_move(IncidentStatus.OPEN, IncidentStatus.RESOLVED)
    assert not rules.may_move(IncidentStatus.CLOSED, IncidentStatus.IN_PROGRESS)
    assert not rules.may_move(IncidentStatus.AWAITING_USER, IncidentStatus.CLOSED)


def test_questions_check_their_answers_field_by_field():
    kind = CATALOGUE.type("wrong_ch_variant")
    assert kind.premises and [q.key for q in kind.questions] == ["device_id", "installed_variant", "needed_variant"]
    assert kind.answers({"device_id": "00-db-12-34-56-78-90-a2", "installed_variant": "single band",
                         "needed_variant": "mesh"})["device_id"] == "00-DB-12-34-56-78-90-A2"
    with pytest.raises(Invalid) as refused:
        kind.answers({"device_id": "nope", "installed_variant": "tiny", "colour": "red"})
    fields = {d["field"]: d["message"] for d in refused.value.detail}
    assert set(fields) == {"answers.device_id", "answers.installed_variant", "answers.needed_variant",
                           "answers.colour"}
    assert "Device ID such as" in fields["answers.device_id"] and "is needed" in fields["answers.needed_variant"]
    with pytest.raises(Invalid, match="category: must be one of 1, 2, 3, 4, 5"):
        CATALOGUE.category(7)
    with pytest.raises(Invalid, match="is not an incident type"):
        CATALOGUE.type("nothing")


def test_a_wrong_incidents_file_names_the_field():
    with pytest.raises(rules.CatalogueError, match=r"categories\[0\].unit"):
        rules.parse_catalogue('[[categories]]\nnumber = 1\ntarget = 4\nunit = "weeks"\n[[types]]\nkey = "x"\n')
    with pytest.raises(rules.CatalogueError, match="numbered 1, 2, 3"):
        rules.parse_catalogue('[[categories]]\nnumber = 2\ntarget = 4\nunit = "hours"\n[[types]]\nkey = "x"\n')
    with pytest.raises(rules.CatalogueError, match=r"questions\[0\].choices"):
        rules.parse_catalogue('[[categories]]\nnumber = 1\ntarget = 4\nunit = "hours"\n[[types]]\nkey = "x"\n'
                              'questions = [{ key = "a", kind = "choice" }]\n')


def test_references_and_left_text():
    assert rules.reference(486) == "INC0000000486" and rules.parse_reference("inc486") == 486
    with pytest.raises(ValueError, match="not an incident reference"):
        rules.parse_reference("PRB1")
    assert rules.left_text(3 * 3600 + 4 * 60) == "3 h 04 min left"
    assert rules.left_text(-(2 * 86400 + 3600)) == "breached by 2 d 1 h"
