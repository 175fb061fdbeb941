"""The Security Sub-Committee's part of the Panel Sub-Committee Report, drafted from the assessments' data.

Seed 000 (January 2020) and seed 003 (July 2020) give its shape: counts of the assessments the SSC reviewed and
of the statuses it set, of the Director's Letters and the Security Self-Assessments it reviewed, then "Details
can be found in confidential Appendix A". The counts are for everyone (the seed reports are WHITE); Appendix A
names Users and their non-compliances and is made only for a reader who may see them all (``access``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from gbsmart.assessments import access
from gbsmart.assessments.enums import AssessmentKind, Severity, SscStatus, StatusKind
from gbsmart.assessments.service import kind_phrase
from gbsmart.core.context import Ctx
from gbsmart.models.assessments import AssessmentDecision, DirectorsLetter, SecurityAssessment

APPENDIX_TITLE = "User Security Assessments – Identified Non-Compliances"
WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]


def number(n: int) -> str:
    return WORDS[n] if 0 <= n < len(WORDS) else f"{n:,}"


def _noun(n: int, one: str, many: str) -> str:
    return f"{number(n)} {one if n == 1 else many}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def period_phrase(start: date, end: date) -> str:
    """ "in January 2020" for a whole month, else "between 1 January 2020 and 15 February 2020"."""
    if start.day == 1 and end == month_end(start):
        return f"in {start:%B %Y}"
    return f"between {start.day} {start:%B %Y} and {end.day} {end:%B %Y}"


@dataclass
class SscCounts:
    """What the SSC did in a period, counted from its decisions."""

    start: date
    end: date
    initial_fusa: int = 0
    follow_up: int = 0
    later_fusa: int = 0
    vusa: int = 0
    ssa: int = 0
    assurance: int = 0
    compliance: int = 0
    vusa_compliance: int = 0
    letters: int = 0
    letters_following: Counter[str] = field(default_factory=Counter)
    decisions: list[tuple[SecurityAssessment, AssessmentDecision]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.decisions or self.letters)


def counts(ctx: Ctx, start: date, end: date) -> SscCounts:
    """The SSC's decisions and Director's Letter reviews between ``start`` and ``end`` (inclusive): counts only."""
    s = ctx.session
    out = SscCounts(start, end)
    rows = s.execute(select(SecurityAssessment, AssessmentDecision)
                     .join(AssessmentDecision, AssessmentDecision.assessment_id == SecurityAssessment.id)
                     .where(AssessmentDecision.decided_on >= start, AssessmentDecision.decided_on <= end)
                     .order_by(AssessmentDecision.decided_on, SecurityAssessment.reference)).all()
    for a, d in rows:
        out.decisions.append((a, d))
        kind = AssessmentKind(a.kind)
        if kind == AssessmentKind.FULL:
            if a.initial:
                out.initial_fusa += 1
            else:
                out.later_fusa += 1
        elif kind == AssessmentKind.FOLLOW_UP:
            out.follow_up += 1
        elif kind == AssessmentKind.VERIFICATION:
            out.vusa += 1
        else:
            out.ssa += 1
        if d.status_kind == StatusKind.ASSURANCE:
            out.assurance += 1
        elif d.status_kind == StatusKind.COMPLIANCE:
            if kind == AssessmentKind.VERIFICATION:
                out.vusa_compliance += 1
            else:
                out.compliance += 1
    letters = s.execute(select(DirectorsLetter, SecurityAssessment)
                        .join(SecurityAssessment, DirectorsLetter.assessment_id == SecurityAssessment.id)
                        .where(DirectorsLetter.reviewed_on >= start, DirectorsLetter.reviewed_on <= end)).all()
    for _, a in letters:
        out.letters += 1
        out.letters_following[a.kind] += 1
    return out


def _statuses(c: SscCounts) -> list[str]:
    out = []
    if c.assurance:
        out.append(_noun(c.assurance, "assurance status", "assurance statuses"))
    if c.compliance:
        out.append(_noun(c.compliance, "compliance status", "compliance statuses"))
    return out


def status_sentence(c: SscCounts) -> str:
    """Seed 000's 3.1: "The Security Sub-Committee (SSC) reviewed one initial Full User Security Assessment
    (FUSA) and two second or subsequent FUSAs in January 2020, setting one assurance status and two compliance
    statuses respectively as a result. Details can be found in confidential Appendix A." """
    when = period_phrase(c.start, c.end)
    items = []
    if c.initial_fusa:
        items.append(_noun(c.initial_fusa, "initial Full User Security Assessment (FUSA)",
                           "initial Full User Security Assessments (FUSAs)"))
    if c.follow_up:
        items.append(_noun(c.follow_up, "Follow-up Security Assessment (FSA)", "Follow-up Security Assessments (FSAs)"))
    if c.later_fusa:
        fusa = ("FUSA", "FUSAs") if c.initial_fusa else ("Full User Security Assessment (FUSA)",
                                                         "Full User Security Assessments (FUSAs)")
        items.append(_noun(c.later_fusa, f"second or subsequent {fusa[0]}", f"second or subsequent {fusa[1]}"))
    if not items:
        return (f"The Security Sub-Committee (SSC) reviewed no Full User Security Assessments (FUSAs) or Follow-up "
                f"Security Assessments {when}, and set no assurance or compliance statuses.")
    statuses = _statuses(c)
    groups = [n for n in (c.initial_fusa + c.follow_up, c.later_fusa) if n]
    respectively = " respectively" if len(items) == 2 and len(statuses) == 2 and len(groups) == 2 else ""
    setting = f", setting {_and(statuses)}{respectively} as a result" if statuses else ""
    return (f"The Security Sub-Committee (SSC) reviewed {_and(items)} {when}{setting}. "
            "Details can be found in confidential Appendix A.")


def subsections(ctx: Ctx, start: date, end: date) -> list[tuple[str, list[str]]]:
    """The SSC's subsections, titled and worded as seed 000's 3.1 to 3.4."""
    c = counts(ctx, start, end)
    when = period_phrase(start, end)
    vusas = _noun(c.vusa, "Verification User Security Assessment (VUSA)",
                  "Verification User Security Assessments (VUSAs)")
    vusa = f"The SSC reviewed {vusas} {when}"
    if c.vusa_compliance:
        vusa += f", setting {_noun(c.vusa_compliance, 'compliance status', 'compliance statuses')}"
    letters = f"The SSC reviewed {_noun(c.letters, 'Director’s Letter', 'Director’s Letters')} {when}"
    if c.letters:
        following = []
        for k, n in sorted(c.letters_following.items()):
            kind = AssessmentKind(k)
            following.append(f"a {kind.label} ({kind.short})" if n == 1
                             else f"{number(n)} {kind.label}s ({kind.short}s)")
        letters += f", following {_and(following)}"
    ssas = _noun(c.ssa, "Security Self-Assessment", "Security Self-Assessments")
    return [
        ("Assurance Status Decisions", [status_sentence(c)]),
        ("Verification Assessments", [vusa + "."]),
        ("Director’s Letters", [letters + "."]),
        ("Security Self-Assessments", [f"The SSC reviewed {ssas} {when}."]),
    ]


def minute_ids(ctx: Ctx, start: date, end: date) -> set[int]:
    """The committee minutes behind the period's SSC decisions and Director's Letter reviews."""
    s = ctx.session
    ids = set(s.scalars(select(AssessmentDecision.decision_id).where(AssessmentDecision.decided_on >= start,
                                                                     AssessmentDecision.decided_on <= end)))
    ids |= {i for i in s.scalars(select(DirectorsLetter.reviewed_decision_id).where(
        DirectorsLetter.reviewed_on >= start, DirectorsLetter.reviewed_on <= end)) if i is not None}
    return ids


def has_activity(ctx: Ctx, start: date, end: date) -> bool:
    return counts(ctx, start, end).any


def appendix_a(ctx: Ctx, start: date, end: date) -> str | None:
    """Appendix A (RED): each assessment the SSC decided on in the period, its User, the status set and the
    non-compliances identified. ``None`` when the reader may not see them all, or there is nothing to list."""
    if not access.reader_of(ctx).all_of_it:
        return None
    c = counts(ctx, start, end)
    if not c.decisions:
        return None
    lines = [f"Assessments the Security Sub-Committee decided on {period_phrase(start, end)}, with the "
             "non-compliances identified. Classified RED under the Panel Information Policy: for the named "
             "recipients and the meeting only.", "",
             "| Assessment | User | Kind | Status set | Meeting | Non-compliances |", "|---|---|---|---|---|---|"]
    for a, d in c.decisions:
        by = Counter(f.severity for f in a.findings)
        nc = ", ".join(f"{by[s.value]} {s.label.lower()}" for s in Severity if by[s.value]) or "none"
        lines.append(f"| {a.reference} | {a.user.organisation.name} | {kind_phrase(a)} | {SscStatus(d.status).label} "
                     f"| {d.meeting_reference} | {nc} |")
    lines.append("")
    for a, _ in c.decisions:
        if not a.findings:
            continue
        lines.extend([f"**{a.reference}, {a.user.organisation.name}**", ""])
        for f in a.findings:
            ref = f" ({f.sec_reference})" if f.sec_reference else ""
            lines.append(f"{f.number}. {Severity(f.severity).label}{ref}: {f.text}")
        for act in a.actions:
            lines.append(f"   - {act.kind.replace('_', ' ').capitalize()} due {act.due_date.isoformat()} "
                         f"({act.status}): {act.text}")
        lines.append("")
    return "\n".join(lines)


def monthly(ctx: Ctx) -> list[SscCounts]:
    """The SSC's counts for each month it decided something in, newest first (counts only: for everyone)."""
    s = ctx.session
    days = set(s.scalars(select(AssessmentDecision.decided_on).distinct()))
    days |= {d for d in s.scalars(select(DirectorsLetter.reviewed_on).distinct()) if d is not None}
    months = sorted({d.replace(day=1) for d in days}, reverse=True)
    return [counts(ctx, m, month_end(m)) for m in months]
