"""Who may see what under the Panel Information Policy: pure rules, no session, no I/O (DOMAIN.md section 3).

The Traffic Light Protocol, as the Panel Information Policy applies it to papers (seeds 000, 001, 003):

* **WHITE** - public: any signed-in person (gbsmart keeps every page behind sign-in).
* **GREEN** - all SEC Parties, not public: a person of a SEC Party or of the SECAS, DCC, Panel or Authority
  bodies, or anyone holding a Panel, committee, Code Administrator, DCC or Authority role.
* **AMBER** - the members of the paper's committee and the people of their own organisations (need to
  know), plus the author and the Code Administrators.
* **RED** - the paper's named recipients and the members of the paper's committee (meeting only), plus the
  author. A Code Administrator is **not** cleared for RED by that role: they see RED material only when
  they are a named recipient, the author, or a member of the paper's committee.

A person's *clearance* for a paper is the highest level any of these grants gives them; they may see
material of a level at or below their clearance. Because clearance is one ordered value, whoever may see
RED material of a paper may also see its AMBER, GREEN and WHITE material. Draft papers are seen only by
their author and the Code Administrators (within their clearance). An appendix is as strict as the stricter
of itself and its paper.

``gbsmart.papers.access`` turns these same grants into SQL so that lists, counts, search and exports can
never include what ``can_see`` would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gbsmart.papers.enums import Classification

CODE_ADMINISTRATOR = "code_administrator"

#: organisation kinds whose people count as "all SEC Parties" for GREEN
COMMUNITY_KINDS: frozenset[str] = frozenset({"sec_party", "secas", "dcc", "panel", "authority"})
#: roles that make a person part of the SEC community for GREEN, whatever their organisation
COMMUNITY_ROLES: frozenset[str] = frozenset(
    {CODE_ADMINISTRATOR, "panel_member", "committee_member", "dcc", "authority"}
)


@dataclass(frozen=True)
class Viewer:
    """The person asking, with the committee facts their clearance depends on."""

    person_id: int | None
    roles: frozenset[str] = frozenset()
    organisation_id: int | None = None
    organisation_kind: str | None = None
    #: codes of the committees the person sits on
    committee_codes: frozenset[str] = frozenset()
    #: codes of the committees someone of the person's organisation sits on (AMBER need-to-know)
    organisation_committee_codes: frozenset[str] = frozenset()

    @property
    def signed_in(self) -> bool:
        return self.person_id is not None

    @property
    def is_code_administrator(self) -> bool:
        return CODE_ADMINISTRATOR in self.roles

    @property
    def in_community(self) -> bool:
        """Belongs to a SEC Party or to the SECAS, DCC, Panel or Authority bodies (GREEN)."""
        return self.organisation_kind in COMMUNITY_KINDS or bool(self.roles & COMMUNITY_ROLES)


@dataclass(frozen=True)
class PaperContext:
    """The facts about a paper that decide who may see it."""

    author_id: int | None = None
    recipient_ids: frozenset[int] = field(default_factory=frozenset)
    committee_code: str | None = None
    issued: bool = True


def normalise_code(code: str | None) -> str | None:
    """Committee codes compare without case or surrounding space ("csc " is "CSC")."""
    if code is None:
        return None
    code = " ".join(code.split()).upper()
    return code or None


def is_author(viewer: Viewer, paper: PaperContext) -> bool:
    return viewer.person_id is not None and viewer.person_id == paper.author_id


def clearance(viewer: Viewer, paper: PaperContext) -> Classification | None:
    """The highest classification of this paper's material the viewer may see; None when not signed in."""
    if not viewer.signed_in:
        return None
    code = normalise_code(paper.committee_code)
    if is_author(viewer, paper) or viewer.person_id in paper.recipient_ids or (
        code is not None and code in viewer.committee_codes
    ):
        return Classification.RED
    if viewer.is_code_administrator or (code is not None and code in viewer.organisation_committee_codes):
        return Classification.AMBER
    if viewer.in_community:
        return Classification.GREEN
    return Classification.WHITE


def may_see_drafts(viewer: Viewer, paper: PaperContext) -> bool:
    """A draft is seen by its author and the Code Administrators only."""
    return is_author(viewer, paper) or viewer.is_code_administrator


def can_see(viewer: Viewer, classification: Classification | str, paper: PaperContext) -> bool:
    """May ``viewer`` see material of ``classification`` belonging to ``paper``?"""
    level = clearance(viewer, paper)
    if level is None:
        return False
    if not paper.issued and not may_see_drafts(viewer, paper):
        return False
    return level.rank >= Classification(classification).rank


def effective(paper_classification: Classification | str, appendix_classification: Classification | str) -> (
    Classification
):
    """An appendix is as strict as the stricter of itself and its paper."""
    return stricter(Classification(paper_classification), Classification(appendix_classification))


def stricter(*levels: Classification | str) -> Classification:
    """The strictest of the levels given (the marking of a document made of those parts)."""
    return max((Classification(x) for x in levels), key=lambda c: c.rank)


def may_manage(viewer: Viewer, paper: PaperContext) -> bool:
    """Re-classify, edit and issue: the author or a Code Administrator (naming recipients and adding appendices
    ask more: ``may_name_recipients``, ``may_add_appendix``)."""
    return is_author(viewer, paper) or viewer.is_code_administrator


def may_name_recipients(viewer: Viewer, paper: PaperContext) -> bool:
    """Name or remove the recipients of a paper's RED material: its author, or a Code Administrator on its committee.

    RED is "named recipients, meeting only" (DOMAIN.md section 3; the Traffic Light Protocol as the Panel Information
    Policy applies it, seeds 000, 001, 003): the source of RED material decides who receives it, and those who
    receive it - named recipients, the committee's meeting - do not pass it on. The source is the paper's author,
    or its owner committee acting through the Code Administrator who keeps the committee's papers and sits on it.
    Both are cleared for RED before naming anyone, so no one can grant RED to themselves, and a Code Administrator
    is not cleared by that role (see ``clearance``). The rule holds for every paper, whether or not it has RED
    material yet, so a refusal does not tell whether the paper has a RED appendix the caller may not see. Moving a
    paper to another committee gives its RED material to that committee's members, so it asks the same.
    """
    code = normalise_code(paper.committee_code)
    return viewer.signed_in and (is_author(viewer, paper) or (
        viewer.is_code_administrator and code is not None and code in viewer.committee_codes
    ))


def may_add_appendix(viewer: Viewer, paper: PaperContext) -> bool:
    """Add an appendix: a manager of the paper who is cleared for all of its material (RED included).

    The letters of a paper's appendices are shared by all of them, so someone who cannot see every appendix would
    learn from a refused or skipped letter that an unseen one exists (docs/decisions/0012-no-existence-oracle.md).
    """
    return may_manage(viewer, paper) and clearance(viewer, paper) == Classification.RED


def may_read_access_log(viewer: Viewer, paper: PaperContext) -> bool:
    """Read the paper's RED access log: its author, or a Code Administrator (who reviews RED access)."""
    return is_author(viewer, paper) or viewer.is_code_administrator


def reclassification_problem(old: Classification | str, new: Classification | str, reason: str | None) -> (
    str | None
):
    """Why a re-classification from ``old`` to ``new`` is refused, or None when it may go ahead.

    Lowering a classification releases material to more people, so it needs a recorded reason (DP104 went
    from RED to GREEN "in accordance with the Panel Information Policy", seed 001); raising one does not.
    """
    old_c, new_c = Classification(old), Classification(new)
    if old_c == new_c:
        return f"It is already {new_c.label}."
    if new_c.rank < old_c.rank and not (reason or "").strip():
        return f"Lowering the classification from {old_c.label} to {new_c.label} needs a reason."
    return None
