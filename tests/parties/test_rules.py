"""The sign-in lock rule: refused while `limit` failures fall within the window, for exactly as long as that lasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gbsmart.parties.rules import locked_for, minutes

NOW = datetime(2020, 1, 28, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)
FAST = settings(max_examples=200, deadline=None)

ages = st.lists(st.integers(min_value=0, max_value=3600), max_size=12)


def failures(seconds_ago: list[int]) -> list[datetime]:
    return sorted((NOW - timedelta(seconds=s) for s in seconds_ago), reverse=True)


@FAST
@given(ages, st.integers(min_value=1, max_value=6))
def test_locked_exactly_while_the_limit_is_within_the_window(seconds_ago, limit):
    times = failures(seconds_ago)
    wait = locked_for(times, limit, WINDOW, NOW)
    in_window = sum(1 for s in seconds_ago if s < WINDOW.total_seconds())
    assert (wait is not None) == (in_window >= limit)
    if wait is not None:
        assert timedelta(0) < wait <= WINDOW
        assert locked_for(times, limit, WINDOW, NOW + wait - timedelta(seconds=1)) is not None
        assert locked_for(times, limit, WINDOW, NOW + wait) is None


def test_five_quick_failures_lock_for_the_window():
    wait = locked_for([NOW] * 5, 5, WINDOW, NOW)
    assert wait == WINDOW and minutes(wait) == 15
    assert locked_for([NOW] * 4, 5, WINDOW, NOW) is None
    assert minutes(timedelta(seconds=1)) == 1
