"""Service management rules, pure (no I/O beyond reading the catalogue file): incident categories and their Target
Resolution Times on a working-day calendar, incident types and their questions, the SLA clock, and the status
transitions (DOMAIN.md section 8; issue 13).

**The calendar.** A working day is Monday to Friday, except the England and Wales bank holidays, which come from
the ``holidays`` library (``country_holidays("GB", subdiv="ENG")``: England and Wales share them), never from a
list kept here. Days are London's (``Europe/London``). The clocks change at 01:00 UTC on Sundays, which are never
working days, so within a working day local time runs evenly and the arithmetic below is exact.

**The SLA clock** runs while an incident is open, assigned to the DCC or a Service Provider, or in progress. It
stops while the incident waits for its User (assigned back to it), and when it is resolved. ``elapsed`` is the
SLA time used so far: every second for a category in ``hours``, only the seconds on working days for one in
``working_days``. While the clock runs, the incident is due when the time used reaches the target (``due_at``). It
is breached when more than the target was used.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from gbsmart.core.errors import Invalid
from gbsmart.service.enums import IncidentStatus

LONDON = ZoneInfo("Europe/London")
DAY = timedelta(days=1)
PACKAGED_CATALOGUE = files("gbsmart.service").joinpath("incidents.toml")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_EUI64 = re.compile(r"^[0-9A-F]{2}(-[0-9A-F]{2}){7}$")
_MPXN = re.compile(r"^\d{6,13}$")


class Unit(StrEnum):
    HOURS = "hours"
    WORKING_DAYS = "working_days"


# ---------------------------------------------------------------- the calendar


@functools.lru_cache(maxsize=64)
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays of ``year`` (the ``holidays`` library's, observed days included)."""
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bank_holidays(day.year)


def _local(at: datetime) -> datetime:
    """``at`` as London's wall-clock time, naive."""
    if at.tzinfo is None:
        raise ValueError("a time without a time zone: give it in UTC")
    return at.astimezone(LONDON).replace(tzinfo=None)


def _instant(local: datetime) -> datetime:
    return local.replace(tzinfo=LONDON).astimezone(UTC)


def working_seconds(start: datetime, end: datetime) -> float:
    """Seconds between ``start`` and ``end`` that fall on working days (0 if ``end`` is not after ``start``)."""
    a, b = _local(start), _local(end)
    total = 0.0
    cursor = a
    while cursor < b:
        midnight = datetime.combine(cursor.date() + DAY, time())
        upto = min(b, midnight)
        if is_working_day(cursor.date()):
            total += (upto - cursor).total_seconds()
        cursor = upto
    return total


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """The instant when ``seconds`` of working-day time have passed since ``start``."""
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    cursor = _local(start)
    left = seconds
    for _ in range(3700):  # ten years of days: a target is days long
        midnight = datetime.combine(cursor.date() + DAY, time())
        if is_working_day(cursor.date()):
            room = (midnight - cursor).total_seconds()
            if left <= room:
                return _instant(cursor + timedelta(seconds=left))
            left -= room
        cursor = midnight
    raise ValueError("a working-day target of more than ten years")


# ---------------------------------------------------------------- the catalogue (rule data)


@dataclass(frozen=True, slots=True)
class Category:
    number: int
    name: str
    target: float
    unit: Unit

    @property
    def target_seconds(self) -> float:
        return self.target * (3600.0 if self.unit is Unit.HOURS else 86400.0)

    @property
    def target_text(self) -> str:
        amount = f"{self.target:g}"
        if self.unit is Unit.HOURS:
            return f"{amount} hour{'s' if self.target != 1 else ''}"
        return f"{amount} working day{'s' if self.target != 1 else ''}"

    @property
    def major(self) -> bool:
        """Category 1 and 2 incidents are major incidents (DOMAIN.md section 8)."""
        return self.number <= 2

    def elapsed(self, start: datetime, end: datetime) -> float:
        """SLA seconds used between two instants while the clock runs."""
        if end <= start:
            return 0.0
        if self.unit is Unit.HOURS:
            return (end - start).total_seconds()
        return working_seconds(start, end)

    def add(self, start: datetime, seconds: float) -> datetime:
        """When ``seconds`` more of SLA time will have been used, the clock running from ``start``."""
        if self.unit is Unit.HOURS:
            return start + timedelta(seconds=seconds)
        return add_working_seconds(start, seconds)


QUESTION_KINDS = ("text", "mpxn", "device", "choice", "date")


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    label: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()

    def clean(self, raw: str | None) -> str | None:
        """The answer, normalised; ValueError with a message for the person answering."""
        value = (raw or "").strip()
        if not value:
            if self.required:
                raise ValueError("is needed for this kind of incident")
            return None
        if len(value) > 500:
            raise ValueError("is longer than 500 characters")
        if self.kind == "mpxn" and not _MPXN.fullmatch(value):
            raise ValueError("must be an MPAN (13 digits) or an MPRN (6 to 10 digits)")
        if self.kind == "device":
            value = value.upper()
            if not _EUI64.fullmatch(value):
                raise ValueError("must be a Device ID such as 00-DB-12-34-56-78-90-A0")
        if self.kind == "choice" and value not in self.choices:
            raise ValueError(f"must be one of: {', '.join(self.choices)}")
        if self.kind == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                raise ValueError("must be a date as YYYY-MM-DD") from None
        return value


@dataclass(frozen=True, slots=True)
class IncidentType:
    key: str
    name: str
    premises: bool
    questions: tuple[Question, ...] = ()
    lead: str = ""

    def answers(self, given: Mapping[str, Any]) -> dict[str, str]:
        """The type's questions answered from ``given``; Invalid naming each field (``answers.<key>``) that is wrong."""
        out: dict[str, str] = {}
        problems = []
        for q in self.questions:
            try:
                value = q.clean(None if given.get(q.key) is None else str(given.get(q.key)))
            except ValueError as exc:
                problems.append({"field": f"answers.{q.key}", "message": f"{q.label} {exc}"})
                continue
            if value is not None:
                out[q.key] = value
        unknown = sorted(set(given) - {q.key for q in self.questions})
        for key in unknown:
            problems.append({"field": f"answers.{key}", "message": f"{self.name} does not ask {key!r}"})
        if problems:
            raise Invalid("; ".join(p["message"] for p in problems), detail=problems)
        return out


@dataclass(frozen=True)
class Catalogue:
    categories: Mapping[int, Category]
    types: Mapping[str, IncidentType]
    source: str = "packaged"
    aged_days: int = 30
    hub_exception_categories: tuple[str, ...] = ()

    def category(self, number: Any) -> Category:
        try:
            n = int(number)
        except (TypeError, ValueError):
            n = -1
        found = self.categories.get(n)
        if found is None:
            known = ", ".join(str(k) for k in sorted(self.categories))
            raise Invalid(f"category: must be one of {known} (1 is the most severe)",
                          detail=[{"field": "category", "message": f"must be one of {known} (1 is the most severe)"}])
        return found

    def type(self, key: str) -> IncidentType:
        found = self.types.get(key)
        if found is None:
            known = ", ".join(self.types)
            raise Invalid(f"type: {key!r} is not an incident type (known: {known})",
                          detail=[{"field": "type", "message": f"must be one of: {known}"}])
        return found


class CatalogueError(ValueError):
    """The incidents file is wrong: ``field`` names where."""

    def __init__(self, source: str, field_name: str, message: str) -> None:
        super().__init__(f"{source}: {field_name}: {message}")


def parse_catalogue(text: str, source: str = "incidents.toml") -> Catalogue:
    def fail(where: str, message: str) -> CatalogueError:
        return CatalogueError(source, where, message)

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise fail("file", f"is not TOML ({exc})") from None
    categories: dict[int, Category] = {}
    for i, row in enumerate(data.get("categories") or []):
        where = f"categories[{i}]"
        number = row.get("number")
        if not isinstance(number, int) or not 1 <= number <= 9:
            raise fail(f"{where}.number", "must be a whole number from 1 (most severe)")
        if number in categories:
            raise fail(f"{where}.number", f"category {number} is listed twice")
        target = row.get("target")
        if not isinstance(target, int | float) or isinstance(target, bool) or target <= 0:
            raise fail(f"{where}.target", "must be a positive number")
        try:
            unit = Unit(row.get("unit"))
        except ValueError:
            raise fail(f"{where}.unit", "must be \"hours\" or \"working_days\"") from None
        name = str(row.get("name") or f"Category {number}")
        categories[number] = Category(number, name, float(target), unit)
    if sorted(categories) != list(range(1, len(categories) + 1)) or not categories:
        raise fail("categories", "must be numbered 1, 2, 3 ... with none missing")
    types: dict[str, IncidentType] = {}
    for i, row in enumerate(data.get("types") or []):
        where = f"types[{i}]"
        key = row.get("key")
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise fail(f"{where}.key", "must be lower case letters, digits and _ (starting with a letter)")
        if key in types:
            raise fail(f"{where}.key", f"{key!r} is listed twice")
        questions = []
        for j, q in enumerate(row.get("questions") or []):
            qwhere = f"{where}.questions[{j}]"
            if not isinstance(q.get("key"), str) or not _KEY.fullmatch(q["key"]):
                raise fail(f"{qwhere}.key", "must be lower case letters, digits and _")
            if q.get("kind") not in QUESTION_KINDS:
                raise fail(f"{qwhere}.kind", f"must be one of {', '.join(QUESTION_KINDS)}")
            choices = tuple(str(c) for c in q.get("choices") or ())
            if q["kind"] == "choice" and not choices:
                raise fail(f"{qwhere}.choices", "a choice question needs its choices")
            questions.append(Question(q["key"], str(q.get("label") or q["key"]), q["kind"], bool(q.get("required")),
                                      choices))
        types[key] = IncidentType(key, str(row.get("name") or key), bool(row.get("premises")), tuple(questions),
                                  str(row.get("lead") or ""))
    if not types:
        raise fail("types", "at least one incident type is needed")
    aged = (data.get("aged") or {}).get("days", 30)
    if not isinstance(aged, int) or isinstance(aged, bool) or not 1 <= aged <= 3650:
        raise fail("aged.days", "must be a whole number of days from 1")
    hubs = (data.get("hubs") or {}).get("exception_categories", [])
    if not isinstance(hubs, list) or not all(isinstance(h, str) and 1 <= len(h) <= 80 for h in hubs):
        raise fail("hubs.exception_categories", "must be a list of names (1 to 80 characters each)")
    return Catalogue(categories, types, source, aged, tuple(hubs))


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The incidents file at ``path``, or the packaged one."""
    if path is None:
        return parse_catalogue(PACKAGED_CATALOGUE.read_text(), "incidents.toml (packaged)")
    return parse_catalogue(path.read_text(), str(path))


# ---------------------------------------------------------------- the SLA clock and the statuses


#: the statuses in which the SLA clock runs
RUNNING = frozenset({IncidentStatus.OPEN, IncidentStatus.IN_PROGRESS})
#: status -> the statuses it may move to
TRANSITIONS: Mapping[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.OPEN: frozenset({IncidentStatus.IN_PROGRESS, IncidentStatus.AWAITING_USER,
                                    IncidentStatus.RESOLVED}),
    IncidentStatus.IN_PROGRESS: frozenset({IncidentStatus.AWAITING_USER, IncidentStatus.RESOLVED}),
    IncidentStatus.AWAITING_USER: frozenset({IncidentStatus.IN_PROGRESS, IncidentStatus.RESOLVED}),
    IncidentStatus.RESOLVED: frozenset({IncidentStatus.IN_PROGRESS, IncidentStatus.CLOSED}),
    IncidentStatus.CLOSED: frozenset(),
}


def may_move(old: IncidentStatus, new: IncidentStatus) -> bool:
    return new in TRANSITIONS[old]


@dataclass(frozen=True, slots=True)
class Sla:
    """An incident's SLA position at one instant."""

    target_seconds: float
    used_seconds: float
    running: bool
    due_at: datetime | None          # when it breaches if the clock keeps running (None: the clock is stopped)

    @property
    def left_seconds(self) -> float:
        return self.target_seconds - self.used_seconds

    @property
    def breached(self) -> bool:
        return self.used_seconds > self.target_seconds


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of an incident's life in one status, from ``start`` to ``end`` (None: until now)."""

    status: IncidentStatus
    start: datetime
    end: datetime | None = None


def spans(changes: Sequence[tuple[datetime, IncidentStatus]]) -> list[Span]:
    """The status history (each change's time and new status, in order) as spans."""
    out: list[Span] = []
    for i, (at, status) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else None
        out.append(Span(status, at, end))
    return out


def sla(category: Category, history: Iterable[Span], now: datetime) -> Sla:
    """The SLA at ``now``: the time used in the spans whose status runs the clock, and when it will be due."""
    used = 0.0
    running_since: datetime | None = None
    for span in history:
        end = span.end or now
        if span.status in RUNNING:
            used += category.elapsed(span.start, min(end, now))
            if span.end is None:
                running_since = span.start
    due = category.add(now, max(0.0, category.target_seconds - used)) if running_since is not None else None
    if running_since is not None and used > category.target_seconds:
        # already past: when it was breached (the instant the time used crossed the target)
        due = _crossed(category, history, now)
    return Sla(category.target_seconds, used, running_since is not None, due)


def _crossed(category: Category, history: Iterable[Span], now: datetime) -> datetime | None:
    left = category.target_seconds
    for span in history:
        if span.status not in RUNNING:
            continue
        end = min(span.end or now, now)
        used = category.elapsed(span.start, end)
        if used >= left:
            return category.add(span.start, left)
        left -= used
    return None


def left_text(seconds: float) -> str:
    """``3 h 04 min left`` / ``breached 2 d 1 h ago`` style, for lists."""
    s = abs(int(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    text = f"{d} d {h} h" if d else f"{h} h {m:02d} min"
    return f"{text} left" if seconds >= 0 else f"breached by {text}"


@dataclass(frozen=True, slots=True)
class Reference:
    """``INC0000000486``: the prefix and ten digits, from the incident's id."""

    number: int
    text: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", f"INC{self.number:010d}")


def reference(number: int) -> str:
    return Reference(number).text


def parse_reference(text: str) -> int:
    match = re.fullmatch(r"\s*INC0*(\d{1,10})\s*", text or "", re.IGNORECASE)
    if match is None:
        raise ValueError(f"{text!r} is not an incident reference such as INC0000000486")
    return int(match.group(1))
