"""The User Security Assessment rules, pure: the cycle, size, which kind a year allows, which status the SSC sets.

Sources: seed 004 ("Session B", SECMP0044 'User Security Assessment of a Shared Resource'), DOMAIN.md section 9.
The cycle table and the size thresholds are rule data (``cycle.toml``, a variant chosen by a setting).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from gbsmart.assessments.enums import AssessmentKind, SscStatus, StatusKind, UserSize, UserType

CYCLE_FILE = Path(__file__).with_name("cycle.toml")
CYCLE_YEARS = 3
ROW_NAMES = {"large_supplier": "Large Supplier", "small_supplier": "Small Supplier", "large_network": "Large Network",
             "small_network": "Small Network", "other": "Other User"}

ASSURANCE = (SscStatus.APPROVED, SscStatus.APPROVED_WITH_CONDITIONS, SscStatus.DEFERRED, SscStatus.REJECTED)
COMPLIANCE = (SscStatus.COMPLIANT, SscStatus.COMPLIANT_WITH_REMEDIATION, SscStatus.NON_COMPLIANT)
#: statuses that give a User an assurance status it can be measured for compliance against
ASSURED = (SscStatus.APPROVED, SscStatus.APPROVED_WITH_CONDITIONS)


class RuleError(ValueError):
    """A rule refused: the message names the rule, ``field`` the input it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CycleRules:
    rows: dict[str, tuple[AssessmentKind, AssessmentKind, AssessmentKind]]
    large_domestic: int
    large_non_domestic: int
    variant: str | None = None


def _kinds(name: str, values: list[str]) -> tuple[AssessmentKind, AssessmentKind, AssessmentKind]:
    if len(values) != CYCLE_YEARS:
        raise ValueError(f"cycle.toml: {name} must give {CYCLE_YEARS} kinds, one a year; it gives {len(values)}")
    try:
        kinds = tuple(AssessmentKind(v) for v in values)
    except ValueError as exc:
        raise ValueError(f"cycle.toml: {name}: {exc}; kinds are full, verification, self") from exc
    if AssessmentKind.FOLLOW_UP in kinds:
        raise ValueError(f"cycle.toml: {name}: a Follow-up is asked for by the SSC, it is not scheduled")
    return kinds[0], kinds[1], kinds[2]


def parse_rules(text: str, variant: str | None = None) -> CycleRules:
    """The cycle table from ``text`` (cycle.toml's form), with ``variant``'s rows replacing the defaults."""
    data = tomllib.loads(text)
    rows = dict(data.get("cycle", {}))
    if set(rows) != set(ROW_NAMES):
        raise ValueError(f"cycle.toml: [cycle] must have the rows {', '.join(ROW_NAMES)}; it has {', '.join(rows)}")
    if variant:
        variants = data.get("variants", {})
        if variant not in variants:
            raise ValueError(f"unknown assessment cycle variant {variant!r}; cycle.toml has "
                             f"{', '.join(variants) or 'none'}")
        for name in variants[variant]:
            if name not in ROW_NAMES:
                raise ValueError(f"cycle.toml: variant {variant} names an unknown row {name!r}")
        rows.update(variants[variant])
    size = data.get("size", {})
    return CycleRules(rows={k: _kinds(k, v) for k, v in rows.items()},
                      large_domestic=int(size.get("large_domestic_premises", 250_000)),
                      large_non_domestic=int(size.get("large_non_domestic_premises", 50_000)), variant=variant)


@lru_cache(maxsize=8)
def load_rules(path: Path = CYCLE_FILE, variant: str | None = None) -> CycleRules:
    return parse_rules(path.read_text(encoding="utf-8"), variant)


# ------------------------------------------------------------------------------------------------ size


def size_of(rules: CycleRules, domestic: int, non_domestic: int) -> UserSize:
    """Large with more than the thresholds' premises in the User's own portfolio (seed 004: 250,000 domestic)."""
    large = domestic > rules.large_domestic or non_domestic > rules.large_non_domestic
    return UserSize.LARGE if large else UserSize.SMALL


def row_of(user_type: UserType, size: UserSize) -> str:
    """The cycle table's row: "large_supplier" ... ; an Other User's cycle does not depend on its size."""
    return "other" if user_type == UserType.OTHER else f"{size.value}_{user_type.value}"


# ------------------------------------------------------------------------------------------------ the cycle


def anniversary(entry: date, years: int) -> date:
    """``entry`` plus whole years (29 February becomes 28 February)."""
    try:
        return entry.replace(year=entry.year + years)
    except ValueError:
        return entry.replace(year=entry.year + years, day=28)


def years_since(entry: date, on: date) -> int:
    if on < entry:
        raise RuleError(f"{on.isoformat()} is before the User Entry date {entry.isoformat()}: no assessment falls "
                        "before User Entry.", "start_date")
    n = on.year - entry.year
    return n if anniversary(entry, n) <= on else n - 1


@dataclass(frozen=True)
class Position:
    """Where a date falls in a User's cycles: cycle 1 year 1 is the year from User Entry."""

    cycle_number: int
    cycle_year: int
    year_start: date
    cycle_start: date
    next_cycle_start: date


def position(entry: date, on: date) -> Position:
    n = years_since(entry, on)
    cycle, year = n // CYCLE_YEARS + 1, n % CYCLE_YEARS + 1
    start = anniversary(entry, (cycle - 1) * CYCLE_YEARS)
    return Position(cycle, year, anniversary(entry, n), start, anniversary(entry, cycle * CYCLE_YEARS))


def expected_kind(rules: CycleRules, row: str, cycle_year: int) -> AssessmentKind:
    return rules.rows[row][cycle_year - 1]


def describe_row(rules: CycleRules, row: str) -> str:
    """ "Small Supplier: Full, Verification, Self" """
    short = {AssessmentKind.FULL: "Full", AssessmentKind.VERIFICATION: "Verification", AssessmentKind.SELF: "Self"}
    return f"{ROW_NAMES[row]}: " + ", ".join(short[k] for k in rules.rows[row])


def check_kind(rules: CycleRules, row: str, at: Position, kind: AssessmentKind, user: str) -> None:
    """The kind must be the one the cycle gives that year; a Follow-up may come at any time (it names what it
    follows, checked by the service)."""
    if kind == AssessmentKind.FOLLOW_UP:
        return
    want = expected_kind(rules, row, at.cycle_year)
    if kind != want:
        raise RuleError(
            f"A {kind.label} is not allowed for {user} in year {at.cycle_year} of its cycle "
            f"({describe_row(rules, row)}): the year from {at.year_start.isoformat()} calls for a {want.label}.",
            "kind")


def check_size_change(rules: CycleRules, user: str, entry: date, in_force: UserSize, as_of: date,
                      new: UserSize) -> None:
    """A size is set for a whole cycle: a portfolio that crosses the threshold counts from the next cycle."""
    at = position(entry, as_of)
    if new != in_force and as_of != at.cycle_start:
        raise RuleError(
            f"{user} is {in_force.label} for its cycle that began {at.cycle_start.isoformat()}; this portfolio makes "
            f"it {new.label} (more than {rules.large_domestic:,} domestic or {rules.large_non_domestic:,} "
            f"non-domestic premises is Large). A size changes only at the start of a cycle: record this portfolio "
            f"as of {at.next_cycle_start.isoformat()}, when its next cycle begins.", "as_of")


# ------------------------------------------------------------------------------------------------ statuses


def status_kind_for(kind: AssessmentKind, initial: bool, follows: StatusKind | None = None) -> StatusKind:
    """Assurance after an initial Full assessment (and its Follow-ups), compliance after later ones, a review of
    a Self-Assessment (seeds 000, 003)."""
    if kind == AssessmentKind.SELF:
        return StatusKind.REVIEW
    if kind == AssessmentKind.FOLLOW_UP:
        return follows or StatusKind.COMPLIANCE
    if kind == AssessmentKind.FULL and initial:
        return StatusKind.ASSURANCE
    return StatusKind.COMPLIANCE


def allowed_statuses(status_kind: StatusKind) -> tuple[SscStatus, ...]:
    if status_kind == StatusKind.ASSURANCE:
        return ASSURANCE
    if status_kind == StatusKind.COMPLIANCE:
        return COMPLIANCE
    return (SscStatus.REVIEWED,)


def check_status(status_kind: StatusKind, status: SscStatus, what: str) -> None:
    allowed = allowed_statuses(status_kind)
    if status not in allowed:
        word = status_kind.label.lower()
        article = "an" if word[0] in "aeiou" else "a"
        raise RuleError(f"The SSC sets {article} {word} for {what}, not ‘{status.label}’: choose "
                        f"{', '.join(s.label for s in allowed)}.", "status")


@dataclass(frozen=True)
class CalendarEntry:
    year_start: date
    cycle_number: int
    cycle_year: int
    kind: AssessmentKind
    initial: bool


def calendar(rules: CycleRules, entry: date, row: str | Callable[[date], str], start: date, end: date
             ) -> list[CalendarEntry]:
    """The assessment years that begin between ``start`` and ``end`` (inclusive), with the kind each calls for;
    ``row`` may be a function of the year's start (a User's size is set per cycle)."""
    out: list[CalendarEntry] = []
    n = 0 if start <= entry else years_since(entry, start)
    while True:
        begins = anniversary(entry, n)
        if begins > end:
            return out
        if begins >= start:
            cycle, year = n // CYCLE_YEARS + 1, n % CYCLE_YEARS + 1
            kind = expected_kind(rules, row(begins) if callable(row) else row, year)
            out.append(CalendarEntry(begins, cycle, year, kind, n == 0 and kind == AssessmentKind.FULL))
        n += 1
