"""Change Board voting rules: one vote per Party, one collective vote per category (seed 004, SECMP0041).

The rule, as SECMP0041 is presented in a 2018 SEC paper (seed 004, the only statement we have): each
Party has one vote; votes are grouped by Party Category (Large Suppliers, Small Suppliers, Networks,
Other Parties); each category casts one collective vote, the majority view of its Parties. The vote is
valid only if at least one vote was received in each category, at least three categories vote the same
way, and that shared outcome is not "return the Final Modification Report to the Panel".

What the source leaves open is data, not code: see ``VotingRules`` (built from ``Settings.change_board_*``).
Pure: no I/O, no clock, no database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from gbsmart.change.enums import Vote, VotingCategory

APPROVE, REJECT = Vote.APPROVE.value, Vote.REJECT.value
ABSTAIN, RETURN_TO_PANEL = Vote.ABSTAIN.value, Vote.RETURN_TO_PANEL.value
VOTE_ORDER: tuple[str, ...] = (APPROVE, REJECT, ABSTAIN, RETURN_TO_PANEL)
TIE_ORDER: tuple[str, ...] = (REJECT, RETURN_TO_PANEL, APPROVE, ABSTAIN)  # most cautious first


@dataclass(frozen=True)
class VotingRules:
    """The configurable parts of SECMP0041 (seed 004 leaves them open).

    ``tie_has_view``: when False (default) a tie for the most votes inside a category leaves that category
    with no collective view. When True the tie resolves to the most cautious tied option, in the order
    reject > return_to_panel > approve > abstain.

    ``count_abstentions``: when False (default) abstentions are reported in the counts but are not votes
    received (a category with only abstentions has "no vote received") and never compete for the majority.
    When True they are votes received and "abstain" can be a category's collective view, which is never a
    valid outcome.

    ``categories`` is the category set; ``min_agreeing_categories`` how many must share a view (default 3).
    """

    categories: tuple[str, ...] = ("large_supplier", "small_supplier", "networks", "other")
    tie_has_view: bool = False
    count_abstentions: bool = False
    min_agreeing_categories: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))
        if not self.categories or len(set(self.categories)) != len(self.categories):
            raise ValueError("Voting categories must be a non-empty set of distinct names.")
        if self.min_agreeing_categories < 1:
            raise ValueError("At least one category must be required to agree.")

    @classmethod
    def from_settings(cls, settings: Any) -> VotingRules:
        """The rules configured in ``Settings`` (``change_board_*``)."""
        return cls(
            categories=tuple(settings.change_board_categories),
            tie_has_view=settings.change_board_tie_has_view,
            count_abstentions=settings.change_board_count_abstentions,
            min_agreeing_categories=settings.change_board_min_agreeing_categories,
        )


@dataclass(frozen=True)
class Ballot:
    """One Party's vote: its name or id, its voting category and its vote."""

    party: str
    category: str
    vote: str


@dataclass(frozen=True)
class CategoryTally:
    """The votes cast in one category and its collective vote (None: no votes counted, or a tie)."""

    approve: int
    reject: int
    abstain: int
    return_to_panel: int
    collective: str | None


@dataclass(frozen=True)
class TallyResult:
    """The Change Board result; ``reasons`` explain any invalidity and any tie (even on a valid result)."""

    valid: bool
    outcome: str | None
    categories: dict[str, CategoryTally]
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "valid": self.valid,
            "outcome": self.outcome,
            "categories": {name: asdict(t) for name, t in self.categories.items()},
            "reasons": list(self.reasons),
        }


class VotingError(ValueError):
    """A ballot that cannot be counted; ``field`` is its path, e.g. ``votes.3.party``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class DuplicatePartyVote(VotingError):
    """The same Party voted twice (SECMP0041: one vote per Party)."""

    def __init__(self, party: str, first: int, second: int) -> None:
        super().__init__(
            f"votes.{second}.party",
            f"Party {party.strip()!r} voted twice (votes {first} and {second}); each Party has one vote.",
        )
        self.party = party
        self.first = first
        self.second = second


def tally(ballots: Sequence[Ballot], rules: VotingRules = VotingRules()) -> TallyResult:
    """Count the ballots and decide whether the Change Board vote is valid, and its outcome."""
    counts = _count(ballots, rules)
    tallies: dict[str, CategoryTally] = {}
    reasons: list[str] = []
    missing = False
    for name in rules.categories:
        collective, note = _collective(counts[name], rules, category_label(name))
        tallies[name] = CategoryTally(**{v: counts[name][v] for v in VOTE_ORDER}, collective=collective)
        if _counted(counts[name], rules) == 0:
            missing = True
            reasons.append(_no_vote_reason(counts[name], category_label(name)))
        if note:
            reasons.append(note)
    valid, outcome = _decide(tallies, rules, missing, reasons)
    return TallyResult(valid=valid, outcome=outcome, categories=tallies, reasons=reasons)


def _count(ballots: Sequence[Ballot], rules: VotingRules) -> dict[str, Counter[str]]:
    """Check every ballot and count the votes in each category."""
    counts: dict[str, Counter[str]] = {name: Counter() for name in rules.categories}
    seen: dict[str, int] = {}
    for i, ballot in enumerate(ballots):
        key = ballot.party.strip().casefold()
        if not key:
            raise VotingError(f"votes.{i}.party", "The Party is blank.")
        if key in seen:
            raise DuplicatePartyVote(ballots[seen[key]].party, seen[key], i)
        seen[key] = i
        if ballot.category not in counts:
            raise VotingError(f"votes.{i}.category", f"Unknown voting category {ballot.category!r}.")
        if ballot.vote not in VOTE_ORDER:
            raise VotingError(f"votes.{i}.vote", f"Unknown vote {ballot.vote!r}.")
        counts[str(ballot.category)][str(ballot.vote)] += 1
    return counts


def _counted(counts: Counter[str], rules: VotingRules) -> int:
    """How many votes in a category count as votes received."""
    return sum(n for vote, n in counts.items() if vote != ABSTAIN or rules.count_abstentions)


def _collective(counts: Counter[str], rules: VotingRules, label: str) -> tuple[str | None, str | None]:
    """A category's collective vote (its majority view) and, if it is tied, a sentence saying how."""
    options = [v for v in VOTE_ORDER if counts[v] and (v != ABSTAIN or rules.count_abstentions)]
    if not options:
        return None, None
    top = max(counts[v] for v in options)
    leaders = [v for v in options if counts[v] == top]
    if len(leaders) == 1:
        return leaders[0], None
    tie = f"{label} are tied {'-'.join([str(top)] * len(leaders))} between {_join(leaders)}"
    if not rules.tie_has_view:
        return None, f"{tie}, so that category has no collective view."
    cautious = min(leaders, key=TIE_ORDER.index)
    return cautious, f"{tie}; the tie resolves to the cautious option, {cautious}."


def _decide(
    tallies: dict[str, CategoryTally], rules: VotingRules, missing: bool, reasons: list[str]
) -> tuple[bool, str | None]:
    """Whether the vote is valid and its outcome, adding the reason for any invalidity to ``reasons``."""
    views = Counter(t.collective for t in tallies.values() if t.collective is not None)
    need, total = rules.min_agreeing_categories, len(rules.categories)
    reached = [v for v in VOTE_ORDER if views[v] >= need]
    if len(reached) > 1:
        reasons.append(f"No unique outcome: {_join(reached)} each have {need} or more of {total} categories.")
        return False, None
    if not reached:
        agreeing = max(views.values(), default=0)
        reasons.append(f"Only {agreeing} of {total} categories voted the same way ({need} needed).")
        return False, None
    shared, agreeing = reached[0], views[reached[0]]
    if shared == RETURN_TO_PANEL:
        reasons.append(
            f"{agreeing} of {total} categories voted to return the Final Modification Report to the Panel, "
            "so the vote is not valid and the report goes back to the Panel."
        )
        return False, RETURN_TO_PANEL
    if shared == ABSTAIN:
        reasons.append(f"{agreeing} of {total} categories abstained, and abstention is not an outcome.")
        return False, None
    if missing:
        return False, None  # each category with no vote received is already in reasons
    return True, shared


def _no_vote_reason(counts: Counter[str], label: str) -> str:
    """Why a category has no vote received."""
    if counts[ABSTAIN]:
        return f"Only abstentions were received from {label}, and abstentions are not counted as votes."
    return f"No vote was received from {label}."


def category_label(category: str) -> str:
    """A category's display name: its VotingCategory label, else the name itself."""
    try:
        return VotingCategory(category).label
    except ValueError:
        return category


def _join(words: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
