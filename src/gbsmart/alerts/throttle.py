"""Alert storm protection: repeated alerts per (device, code) throttled into summaries (SECMP0062).

The rule is the catalogue's (``[throttle]``, [configurable]): within a window of ``window_seconds`` opened by a
device's first alert of a code, the first ``max_alerts`` pass; every later one is throttled: counted into a
summary with a sequence id (DUIS ThrottledAlertSequenceId) and a count (ThrottledAlertCount). When the window
closes the summary is handed back by ``due`` so the intake writes it to ``alert_throttle_summaries`` and queues
one summary Device Alert to the same recipients: nothing vanishes unseen. Codes on the exclusion list never come
here (the intake asks ``AlertCode.never_throttle`` first).

All in memory, one dict lookup an alert; windows are expired in the order they were opened (a deque), so closing
them costs only the windows that close. A restart forgets open windows: the alerts already throttled are in
``alerts`` with their sequence id, and the intake's ``recover`` summarises any whose summary was not written.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from gbsmart.alerts.catalogue import ThrottleRule


@dataclass(frozen=True, slots=True)
class Summary:
    """The throttled alerts of one window of one (device, code)."""

    sequence_id: int
    device_id: str
    code: str
    count: int
    first_at: datetime
    last_at: datetime


class _Window:
    __slots__ = ("count", "first", "key", "last", "sequence_id", "start", "throttled")

    def __init__(self, key: tuple[str, str], start: float) -> None:
        self.key = key
        self.start = start
        self.count = 1
        self.sequence_id = 0  # 0: nothing throttled yet
        self.throttled = 0
        self.first = self.last = 0.0


class Throttle:
    """See the module docstring. ``admit`` and ``due`` in one thread (the event loop)."""

    def __init__(self, rule: ThrottleRule, *, next_sequence_id: int = 1) -> None:
        self.rule = rule
        self.next_sequence_id = next_sequence_id
        self._windows: dict[tuple[str, str], _Window] = {}
        self._opened: deque[tuple[float, tuple[str, str]]] = deque()
        self._closed: list[_Window] = []  # windows ended by a later alert before ``due`` saw them
        self.throttled_total = 0

    def admit(self, device_id: str, code: str, at: datetime) -> int | None:
        """None if the alert passes; else the sequence id of the summary it is counted into."""
        now = at.timestamp()
        key = (device_id, code)
        window = self._windows.get(key)
        if window is None or now >= window.start + self.rule.window_seconds:
            if window is not None and window.sequence_id:
                self._closed.append(window)
            self._open(key, now)
            return None
        window.count += 1
        if window.count <= self.rule.max_alerts:
            return None
        if not window.sequence_id:
            window.sequence_id = self.next_sequence_id
            self.next_sequence_id += 1
            window.first = now
        window.throttled += 1
        window.last = now
        self.throttled_total += 1
        return window.sequence_id

    def _open(self, key: tuple[str, str], now: float) -> None:
        self._windows[key] = _Window(key, now)
        self._opened.append((now, key))

    def due(self, now: datetime) -> list[Summary]:
        """Close every window that ended by ``now``; the summaries of those that throttled anything."""
        cutoff = now.timestamp() - self.rule.window_seconds
        out = [self._summary(w) for w in self._closed]
        self._closed.clear()
        opened, windows = self._opened, self._windows
        while opened and opened[0][0] <= cutoff:
            start, key = opened.popleft()
            window = windows.get(key)
            if window is not None and window.start == start:
                del windows[key]
                if window.sequence_id:
                    out.append(self._summary(window))
        return out

    @staticmethod
    def _summary(window: _Window) -> Summary:
        return Summary(window.sequence_id, window.key[0], window.key[1], window.throttled,
                       datetime.fromtimestamp(window.first, UTC), datetime.fromtimestamp(window.last, UTC))

    def open_windows(self) -> int:
        return len(self._windows)
