"""Pure rules of committees and minutes: references, quorum, decision wording, outstanding and overdue actions.

Sources: DOMAIN.md section 3 and seed 001 (CSC meeting 11_2801: meeting reference ``11_2801``, actions
``CSC 10/01`` and ``CSC 11/01``, decisions "The CSC AGREED this Draft Proposal is ready to be converted ...").
The quorum is [configurable] per committee (default 3 members present). No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from gbsmart.change.enums import Route
from gbsmart.committees.enums import ActionStatus, AttendeeRole, DecisionWord

DEFAULT_QUORUM = 3


class RuleError(ValueError):
    """Input that breaks a rule; ``field`` names the offending field for a 422."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# ---------------------------------------------------------------- committee codes and references


def normalise_code(code: str) -> str:
    """``smki-pma`` and ``SMKI_PMA`` both mean ``SMKI PMA``: upper case, single spaces."""
    return re.sub(r"[\s_\-]+", " ", code.strip()).upper()


def slug(code: str) -> str:
    """A committee code as one URL path segment: ``SMKI PMA`` -> ``SMKI-PMA``."""
    return re.sub(r"\s+", "-", code.strip())


def meeting_reference(number: int, on: date) -> str:
    """``11_2801``: the committee's meeting number, then the day and month of the meeting (seed 001)."""
    if number < 1:
        raise RuleError("A meeting number starts at 1.", "number")
    return f"{number}_{on:%d%m}"


_MEETING_REF = re.compile(r"^(\d{1,4})_(\d{2})(\d{2})$")


def parse_meeting_reference(reference: str) -> tuple[int, int, int]:
    """``11_2801`` -> (11, 28, 1): number, day, month."""
    m = _MEETING_REF.fullmatch(reference.strip())
    if not m:
        raise RuleError(f"{reference!r} is not a meeting reference like 11_2801 (number_DDMM).", "reference")
    number, day, month = (int(g) for g in m.groups())
    if not (1 <= day <= 31 and 1 <= month <= 12):
        raise RuleError(f"{reference!r}: day {day} of month {month} is not a date.", "reference")
    return number, day, month


def action_reference(code: str, meeting_number: int, sequence: int) -> str:
    """``CSC 11/01``: committee code, meeting number, sequence within the meeting (seed 001)."""
    return f"{code} {meeting_number}/{sequence:02d}"


_ACTION_REF = re.compile(r"^(?:ACTION\s+)?(?P<code>.+?)[\s_\-]+(?P<num>\d{1,4})\s*[/\-_]\s*(?P<seq>\d{1,3})$", re.I)


def parse_action_reference(reference: str) -> tuple[str, int, int]:
    """``CSC 11/01``, ``CSC-11-01`` or ``ACTION CSC 11/1`` -> ('CSC', 11, 1); the code comes back normalised."""
    m = _ACTION_REF.fullmatch(reference.strip())
    if not m:
        raise RuleError(f"{reference!r} is not an action reference like 'CSC 11/01' or 'CSC-11-01'.", "reference")
    return normalise_code(m["code"]), int(m["num"]), int(m["seq"])


def next_sequence(existing: Iterable[int]) -> int:
    """The next action number within a meeting: one more than the highest so far."""
    return max(existing, default=0) + 1


def parse_item_key(key: str) -> tuple[int, int]:
    """An agenda item key: ``3`` -> (3, 0); ``3.5`` -> (3, 5), the fifth heading within item 3."""
    m = re.fullmatch(r"\s*(\d{1,3})(?:\.(\d{1,3}))?\s*", str(key))
    if not m:
        raise RuleError(f"{key!r} is not an agenda item number like 3 or 3.5.", "agenda_item")
    return int(m[1]), int(m[2] or 0)


# ---------------------------------------------------------------- quorum


@dataclass(frozen=True)
class QuorumCheck:
    present: int
    required: int

    @property
    def quorate(self) -> bool:
        return self.present >= self.required

    def describe(self) -> str:
        verdict = "quorate" if self.quorate else "not quorate"
        return f"{self.present} member{'s' if self.present != 1 else ''} present, quorum {self.required}: {verdict}"


def quorum_check(roles: Iterable[str], quorum: int = DEFAULT_QUORUM) -> QuorumCheck:
    """Members present (Chair, members, alternates; not the secretary or other participants) against the quorum."""
    present = sum(1 for r in roles if AttendeeRole(r).counts_for_quorum)
    return QuorumCheck(present=present, required=quorum)


# ---------------------------------------------------------------- decisions and the change process

# Wording that names a step of the change process, looked for in AGREED / APPROVED decisions, in this order.
WORDING_STEPS: tuple[tuple[str, str], ...] = (
    (r"ready to be converted|ready to convert", "ready_to_convert"),
    (r"further development", "further_development"),
    (r"\bconvert(ed)?\b.*modification proposal", "convert"),
)
ROUTE_WORDING: tuple[tuple[str, Route], ...] = (
    (r"report phase", Route.REPORT_PHASE),
    (r"refinement", Route.REFINEMENT),
)
# Only a decision that decides moves a proposal; a recommendation or a note is minuted without a step.
STEP_TAKING_WORDS = frozenset({DecisionWord.AGREED, DecisionWord.APPROVED})


def infer_step(word: DecisionWord, text: str) -> str | None:
    """The change-process step a decision's wording takes, if any (seed 001's two Development Stage outcomes)."""
    if word not in STEP_TAKING_WORDS:
        return None
    lowered = text.lower()
    for pattern, step in WORDING_STEPS:
        if re.search(pattern, lowered):
            return step
    return None


def infer_route(*texts: str) -> Route | None:
    """The route a decision (or its companion RECOMMENDED decision) names: Report Phase or Refinement Process."""
    for text in texts:
        lowered = text.lower()
        for pattern, route in ROUTE_WORDING:
            if re.search(pattern, lowered):
                return route
    return None


def check_decision(word: DecisionWord, step: str | None, has_proposal: bool) -> None:
    """A step needs a proposal and a deciding word (AGREED or APPROVED); NOTED and RECOMMENDED take none."""
    if step is None:
        return
    if not has_proposal:
        raise RuleError(f"The step '{step}' acts on a proposal: name the proposal.", "proposal")
    if word not in STEP_TAKING_WORDS:
        raise RuleError(
            f"A decision worded {word.label} records without taking a step; "
            f"only {' or '.join(w.label for w in sorted(STEP_TAKING_WORDS))} decisions take '{step}'.",
            "step",
        )


def decision_sentence(committee_code: str, word: DecisionWord, text: str) -> str:
    """'The CSC AGREED further development is required ...': the reason given to the change process."""
    return f"The {committee_code} {word.label} {text.strip()}"


# ---------------------------------------------------------------- actions


def is_outstanding_at(
    raised_at_number: int,
    status: ActionStatus | str,
    closed_on: date | None,
    meeting_number: int,
    meeting_date: date,
) -> bool:
    """An action raised at an earlier meeting that was still open when this meeting met (DOMAIN.md section 3)."""
    if raised_at_number >= meeting_number:
        return False
    if ActionStatus(status) == ActionStatus.OPEN:
        return True
    return closed_on is not None and closed_on >= meeting_date


def is_overdue(status: ActionStatus | str, due_date: date | None, today: date) -> bool:
    """Open and past its due date."""
    return ActionStatus(status) == ActionStatus.OPEN and due_date is not None and due_date < today
