"""The throttle: per (device, code), more than N alerts in a window are counted into a summary, never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gbsmart.alerts.catalogue import ThrottleRule
from gbsmart.alerts.throttle import Throttle

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
A, B = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A4"


def test_the_first_n_pass_then_every_later_one_is_counted_into_one_summary():
    throttle = Throttle(ThrottleRule(max_alerts=3, window_seconds=60), next_sequence_id=40)
    answers = [throttle.admit(A, "8F3E", T0 + timedelta(seconds=i)) for i in range(10)]
    assert answers[:3] == [None, None, None]
    assert answers[3:] == [40] * 7
    assert throttle.due(T0 + timedelta(seconds=59)) == []  # the window is still open
    (summary,) = throttle.due(T0 + timedelta(seconds=60))
    assert (summary.sequence_id, summary.device_id, summary.code, summary.count) == (40, A, "8F3E", 7)
    assert summary.first_at == T0 + timedelta(seconds=3) and summary.last_at == T0 + timedelta(seconds=9)
    assert throttle.due(T0 + timedelta(seconds=600)) == []  # handed back once
    assert throttle.open_windows() == 0


def test_devices_and_codes_are_counted_apart():
    throttle = Throttle(ThrottleRule(max_alerts=1, window_seconds=60))
    assert throttle.admit(A, "8F3E", T0) is None
    assert throttle.admit(B, "8F3E", T0) is None
    assert throttle.admit(A, "8F12", T0) is None
    assert throttle.admit(A, "8F3E", T0) == 1
    assert throttle.admit(B, "8F3E", T0) == 2
    assert {(s.device_id, s.code, s.count) for s in throttle.due(T0 + timedelta(minutes=1))} == {
        (A, "8F3E", 1), (B, "8F3E", 1)}


def test_a_window_without_throttled_alerts_gives_no_summary_and_a_new_window_starts_fresh():
    throttle = Throttle(ThrottleRule(max_alerts=2, window_seconds=60))
    assert throttle.admit(A, "8F3E", T0) is None
    assert throttle.admit(A, "8F3E", T0 + timedelta(seconds=30)) is None
    assert throttle.due(T0 + timedelta(seconds=61)) == []
    assert throttle.admit(A, "8F3E", T0 + timedelta(seconds=62)) is None  # a new window: passes again


def test_an_alert_after_the_window_closes_it_even_before_due_runs():
    throttle = Throttle(ThrottleRule(max_alerts=1, window_seconds=60))
    throttle.admit(A, "8F3E", T0)
    assert throttle.admit(A, "8F3E", T0 + timedelta(seconds=1)) == 1
    assert throttle.admit(A, "8F3E", T0 + timedelta(seconds=61)) is None  # new window, the old one is done
    assert throttle.admit(A, "8F3E", T0 + timedelta(seconds=62)) == 2
    summaries = throttle.due(T0 + timedelta(seconds=61))
    assert [(s.sequence_id, s.count) for s in summaries] == [(1, 1)]
    assert [(s.sequence_id, s.count) for s in throttle.due(T0 + timedelta(seconds=200))] == [(2, 1)]


def test_a_storm_is_throttled_with_every_alert_accounted_for():
    throttle = Throttle(ThrottleRule(max_alerts=3, window_seconds=900))
    devices = [f"00-DB-00-00-00-00-{i // 256:02X}-{i % 256:02X}" for i in range(500)]
    passed = throttled = 0
    for second in range(200):
        for device in devices[second % 5::5]:  # each device every 5 s
            if throttle.admit(device, "8F3E", T0 + timedelta(seconds=second)) is None:
                passed += 1
            else:
                throttled += 1
    summaries = throttle.due(T0 + timedelta(hours=1))
    assert passed == 500 * 3
    assert sum(s.count for s in summaries) == throttled == 200 * 100 - passed
    assert len({s.sequence_id for s in summaries}) == len(summaries) == 500
