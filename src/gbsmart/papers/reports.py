"""Drafting the "SEC Panel Sub-Committee Report" (seeds 000 and 003) from what the platform recorded in a period.

For each committee with activity in the period the draft lists its decisions (minuted in the committees domain,
read through ``committees.queries``, and from ``proposal_events`` whose reference starts with the committee's
code, e.g. "CSC 11_2801"), the status decisions among them, counts,
and the Draft and Modification Proposals the committee asked to follow (``proposal_interests``). It ends,
like the seeds, with "Recommendations: The Panel is requested to NOTE the content of this paper."

The result is a draft GREEN paper authored by the caller (a Code Administrator), which SECAS then edits -
the highlights are for people to write - and issues.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gbsmart.assessments import report as assessments_report
from gbsmart.change import rules as change_rules
from gbsmart.change.enums import ProposalState
from gbsmart.committees import queries as committee_queries
from gbsmart.core.context import Ctx
from gbsmart.models.change import Proposal, ProposalEvent, ProposalInterest
from gbsmart.models.papers import Paper
from gbsmart.papers import access, service
from gbsmart.papers.enums import AccessChannel, Classification, PaperAction
from gbsmart.papers.rules import normalise_code
from gbsmart.papers.schemas import AppendixCreate, PaperCreate, RecipientsUpdate, ReportRequest

REPORT_TITLE = "SEC Panel Sub-Committee Report"

#: the committees of the seeds, in the order the seed reports use; the committees table adds to these
KNOWN_COMMITTEES: dict[str, str] = {
    "CSC": "Change Sub-Committee",
    "CHANGE BOARD": "Change Board",
    "OPSG": "Operations Group",
    "SSC": "Security Sub-Committee",
    "SMKI PMA": "SMKI Policy Management Authority",
    "TABASC": "Technical Architecture and Business Architecture Sub-Committee",
    "TAG": "Testing Advisory Group",
    "TSIRS": "Technical Specification Issues Resolution Subgroup",
}


#: reported to, not reported on
NOT_SUB_COMMITTEES = frozenset({"PANEL", "SEC PANEL"})


@dataclass
class DecisionLine:
    on: date
    meeting: str
    text: str
    proposal: str | None = None
    title: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    #: the minuted decision's id, when it came from the committees domain
    decision_id: int | None = None

    @property
    def is_status_decision(self) -> bool:
        return bool(self.from_state and self.to_state and self.from_state != self.to_state)


@dataclass
class CommitteeActivity:
    code: str
    name: str
    decisions: list[DecisionLine] = field(default_factory=list)
    interests: list[tuple[Proposal, ProposalInterest]] = field(default_factory=list)
    meetings: int | None = None
    #: subsections drafted by another domain before the highlights (the SSC's, from the assessments)
    subsections: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.decisions or self.interests or self.meetings or self.subsections)


# ------------------------------------------------------------------------------------------- gathering


def committee_catalogue(session: Session) -> dict[str, str]:
    """Committee code -> name: the seeds' committees plus any the committees domain holds (not the Panel)."""
    names = dict(KNOWN_COMMITTEES)
    for code, name in committee_queries.committee_names(session):
        if normalise_code(code) and normalise_code(code) not in NOT_SUB_COMMITTEES:
            names.setdefault(normalise_code(code), name or code)
    return names


def committee_of(reference: str | None, codes: list[str]) -> str | None:
    """The committee whose code starts a meeting reference ("CSC 11_2801" -> "CSC"), longest code first."""
    ref = normalise_code(reference) or ""
    for code in sorted(codes, key=len, reverse=True):
        if ref == code or (ref.startswith(code) and not ref[len(code)].isalpha()):
            return code
    return None


@dataclass
class _Minuted:
    """A decision minuted by the committees domain, with the proposal step it took (if any)."""

    code: str
    line: DecisionLine
    proposal_id: int | None = None
    proposal_event_id: int | None = None


def _committee_decisions(session: Session, start: date, end: date) -> list[_Minuted]:
    """Decisions minuted by the committees domain at meetings in the period, worded as the report says them."""
    out = []
    for d in committee_queries.decisions_between(session, start, end):
        code = normalise_code(d.committee_code)
        if not code:
            continue
        ref = d.meeting_reference
        meeting = ref if ref.upper().startswith(d.committee_code.upper()) else f"{d.committee_code} {ref}".strip()
        wording = d.text.strip()
        if d.word and d.word.upper() not in wording.upper() and not wording.startswith("The "):
            wording = f"The {code} {d.word.upper()} {wording}"
        line = DecisionLine(on=d.meeting_date, meeting=meeting, text=wording, decision_id=d.decision_id)
        out.append(_Minuted(code, line, d.proposal_id, d.proposal_event_id))
    return out


def _meeting_counts(session: Session, start: date, end: date) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for code, _ in committee_queries.meetings_held_between(session, start, end):
        if normalise_code(code):
            counts[normalise_code(code)] += 1
    return dict(counts)


def _first_paragraph(text: str) -> str:
    return re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0].strip() if text else ""


def gather(session: Session, start: date, end: date) -> list[CommitteeActivity]:
    """What each committee did between ``start`` and ``end`` (inclusive), committees with activity only."""
    names = committee_catalogue(session)
    codes = list(names)
    acts = {code: CommitteeActivity(code=code, name=names[code]) for code in codes}
    seen: set[tuple[str, date, str]] = set()

    events = session.execute(
        select(ProposalEvent, Proposal).join(Proposal, ProposalEvent.proposal_id == Proposal.id)
        .where(ProposalEvent.decided_on >= start, ProposalEvent.decided_on <= end, ProposalEvent.reference.is_not(None))
        .order_by(ProposalEvent.decided_on, Proposal.reference, ProposalEvent.seq)
    ).all()
    from_events: set[int] = set()
    for ev, prop in events:
        code = committee_of(ev.reference, codes)
        if code is None:
            continue
        text = _first_paragraph(ev.reason) or change_rules.step_label(ev.step)
        from_events.add(ev.id)
        seen.add((code, ev.decided_on, text[:80].lower()))
        acts[code].decisions.append(DecisionLine(
            on=ev.decided_on, meeting=ev.reference or code, text=text, proposal=prop.reference, title=prop.title,
            from_state=ev.from_state, to_state=ev.to_state))

    # minuted decisions not already on a proposal's timeline (a step taken is reported once, from its event)
    for m in _committee_decisions(session, start, end):
        if m.proposal_event_id in from_events or (m.code, m.line.on, m.line.text[:80].lower()) in seen:
            continue
        prop = session.get(Proposal, m.proposal_id) if m.proposal_id else None
        if prop is not None:
            m.line.proposal, m.line.title = prop.reference, prop.title
        acts.setdefault(m.code, CommitteeActivity(code=m.code, name=names.get(m.code, m.code))).decisions.append(
            m.line)
    for a in acts.values():
        a.decisions.sort(key=lambda d: (d.on, d.meeting))

    interests = session.execute(
        select(ProposalInterest, Proposal).join(Proposal, ProposalInterest.proposal_id == Proposal.id)
        .where(ProposalInterest.noted_on >= start, ProposalInterest.noted_on <= end)
        .order_by(ProposalInterest.committee, Proposal.reference)
    ).all()
    for interest, prop in interests:
        code = normalise_code(interest.committee) or "OTHER"
        acts.setdefault(code, CommitteeActivity(code=code, name=names.get(code, interest.committee)))
        acts[code].interests.append((prop, interest))

    for code, n in _meeting_counts(session, start, end).items():
        acts.setdefault(code, CommitteeActivity(code=code, name=names.get(code, code))).meetings = n

    order = {code: i for i, code in enumerate(codes)}
    chosen = (a for a in acts.values() if a.any and a.code not in NOT_SUB_COMMITTEES)
    return sorted(chosen, key=lambda a: (order.get(a.code, len(order)), a.code))


# ------------------------------------------------------------------------------------------- composing


def _d(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _state(value: str | None) -> str:
    try:
        return ProposalState(value).label
    except ValueError:
        return (value or "").replace("_", " ")


def _committee_section(n: int, a: CommitteeActivity) -> list[str]:
    short = a.code if a.code != a.name.upper() else a.name
    lines = [f"## {n}. {a.name} ({short})" if short != a.name else f"## {n}. {a.name}", ""]
    sub = 0

    def heading(text: str) -> None:
        nonlocal sub
        sub += 1
        lines.extend([f"### {n}.{sub} {text}", ""])

    for title, paragraphs in a.subsections:
        heading(title)
        for p in paragraphs:
            lines.extend([p, ""])
    heading(f"{short} Highlights")
    lines.extend(["_SECAS to summarise the key issues discussed and the points for the Panel's attention._", ""])
    if a.decisions:
        heading("Decisions")
        for d in a.decisions:
            about = f"**{d.proposal}** ‘{d.title}’: " if d.proposal else ""
            lines.append(f"- {_d(d.on)}, {d.meeting}: {about}{d.text}")
        lines.append("")
    status = [d for d in a.decisions if d.is_status_decision]
    if status:
        heading("Status Decisions")
        for d in status:
            lines.append(f"- **{d.proposal}** ‘{d.title}’: {_state(d.from_state)} → {_state(d.to_state)} "
                         f"({d.meeting}, {_d(d.on)})")
        lines.append("")
    heading("Counts")
    proposals = {d.proposal for d in a.decisions if d.proposal}
    lines.extend(["| Measure | Number |", "|---|---:|"])
    if a.meetings is not None:
        lines.append(f"| Meetings held | {a.meetings} |")
    lines.extend([
        f"| Decisions recorded | {len(a.decisions)} |",
        f"| Status decisions | {len(status)} |",
        f"| Proposals decided on | {len(proposals)} |",
        f"| Proposals of interest | {len({p.reference for p, _ in a.interests})} |",
        "",
    ])
    if a.interests:
        heading("New Draft Proposals and Modification Proposals")
        named = []
        for prop, _ in a.interests:
            item = f"{prop.reference} ‘{prop.title}’"
            if item not in named:
                named.append(item)
        lines.extend([f"The {short} requested further updates on the progression of {_and(named)}.", ""])
    return lines


def compose(activity: list[CommitteeActivity], start: date, end: date, author: str, on: date,
            operations: list[str] | None = None) -> str:
    """The report body in Markdown (``operations``: the Operations Group's section, service.report's)."""
    lines = [
        "## 1. Purpose", "",
        f"This paper provides the Panel with an update on recent activities from the Panel Sub-Committees between "
        f"{_d(start)} and {_d(end)}. It highlights the key issues discussed and details specific points the "
        "Sub-Committees would like to bring to the Panel’s attention. The Panel is requested to note the updates.",
        "",
    ]
    n = 1
    for a in activity:
        n += 1
        lines.extend(_committee_section(n, a))
    if not activity:
        lines.extend(["_No sub-committee decisions or proposals of interest were recorded on gbsmart in the "
                      "period._", ""])
    if operations:
        n += 1
        lines.extend([f"## {n}. Technical Operations", "", *operations])
    n += 1
    lines.extend([f"## {n}. Recommendations", "", "The Panel is requested to NOTE the content of this paper.", "",
                  author, "", "SECAS Team", "", _d(on), ""])
    return "\n".join(lines)


def _free_reference(ctx: Ctx, wanted: str) -> str:
    """``wanted``, or ``wanted_2``, ``_3`` ... past the papers the caller can see; ``service.create_paper`` then tags it
    if some paper does not exist for the caller, so a paper they cannot see never moves the number."""
    viewer = access.viewer_of(ctx)
    ref, k = wanted, 1
    while ctx.session.scalar(select(Paper.id).where(func.lower(Paper.reference) == ref.lower(),
                                                    access.visible_papers(viewer))) is not None:
        k += 1
        ref = f"{wanted}_{k}"
    return ref


def draft_report(ctx: Ctx, req: ReportRequest) -> Paper:
    """A draft "SEC Panel Sub-Committee Report" for the period, authored by the caller (Code Administrator)."""
    activity = gather(ctx.session, req.period_start, req.period_end)
    _add_security_assessments(ctx, activity, req.period_start, req.period_end)
    reference = req.reference or _free_reference(ctx, f"SECP_SCR_{req.period_end:%Y_%m_%d}")
    from gbsmart.service.report import markdown_section  # the Operations Group's figures for the period's last month

    operations = markdown_section(ctx, req.period_end.replace(day=1))
    body = compose(activity, req.period_start, req.period_end, ctx.actor.name, ctx.clock.today(), operations)
    purpose = ("This paper provides the Panel with an update on recent activities from the Panel Sub-Committees. "
               "The Panel is requested to note the updates.")
    paper = service.create_paper(ctx, PaperCreate(
        reference=reference, title=REPORT_TITLE, purpose=purpose, action=PaperAction.FOR_INFORMATION, body=body,
        classification=req.classification or Classification.GREEN, committee_code="PANEL",
    ))
    appendix = assessments_report.appendix_a(ctx, req.period_start, req.period_end)
    if appendix is not None:
        # RED: the Panel's meeting (the paper's committee), the author, and the SSC's members as named recipients
        service.add_appendix(ctx, paper.reference, AppendixCreate(
            letter="A", title=assessments_report.APPENDIX_TITLE, body=appendix, classification=Classification.RED))
        members = [m for m in committee_queries.members_of(ctx.session, "SSC", ctx.clock.today())
                   if m != ctx.actor.person_id]
        if members:
            service.update_recipients(ctx, paper.reference, RecipientsUpdate(add=list(members)), AccessChannel.API)
    return paper


def _add_security_assessments(ctx: Ctx, activity: list[CommitteeActivity], start: date, end: date) -> None:
    """The SSC's counts of assessments, Director's Letters and Self-Assessments (seed 000's 3.1 to 3.4)."""
    if not assessments_report.has_activity(ctx, start, end):
        return
    ssc = next((a for a in activity if a.code == "SSC"), None)
    if ssc is None:
        ssc = CommitteeActivity(code="SSC", name=committee_catalogue(ctx.session).get("SSC", "Security Sub-Committee"))
        order = list(committee_catalogue(ctx.session))
        activity.append(ssc)
        activity.sort(key=lambda a: order.index(a.code) if a.code in order else len(order))
    ssc.subsections = assessments_report.subsections(ctx, start, end)
    # the minutes of status decisions say only that a status was set: the counts above report them
    minutes = assessments_report.minute_ids(ctx, start, end)
    ssc.decisions = [d for d in ssc.decisions if d.decision_id not in minutes]
