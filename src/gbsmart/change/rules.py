"""The modification process of SEC Section D as data: which step may be taken from which state, by whom.

Sources: DOMAIN.md section 2; seed 001 (the CSC's Development Stage decisions of 28 January 2020) and
seed 004 (the process, paths, Change Board and releases). The table below *is* the process: services
look steps up here and never hard-code a transition. Each step names its ``effect``: what taking it writes on the
proposal beyond the new state (``EFFECTS`` lists them; ``change/service.py`` holds one handler per effect, so the
service never branches on a step's name). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from gbsmart.change.enums import ProposalPath, ProposalState, Route

S = ProposalState
CA = "code_administrator"
PANEL = "panel_member"
COMMITTEE = "committee_member"
PARTY = "party_user"
DCC = "dcc"
AUTHORITY = "authority"
PROPOSER = "proposer"  # the person who raised it, or anyone of the proposing organisation

ACTOR_LABELS = {
    CA: "Code Administrator",
    PANEL: "Panel",
    COMMITTEE: "Change Sub-Committee",
    PARTY: "SEC Party",
    DCC: "DCC",
    AUTHORITY: "Authority",
    PROPOSER: "Proposer",
}

BEFORE_DECISION = (
    S.DEVELOPMENT,
    S.READY_TO_CONVERT,
    S.AWAITING_PATH,
    S.REFINEMENT,
    S.REFINEMENT_CONSULTATION,
    S.REPORT_PHASE,
    S.MR_CONSULTATION,
    S.FINAL_REPORT,
    S.CHANGE_BOARD,
    S.PANEL_DECISION,
    S.AUTHORITY_DETERMINATION,
)


#: what taking a step writes on the proposal beyond its state; ``change/service.py`` has one handler for each
EFFECTS: Mapping[str, str] = {
    "none": "nothing beyond the timeline entry",
    "route": "records the recommended route (Refinement or Report Phase)",
    "convert": "gives the Draft Proposal its Modification Proposal reference (MPnnn)",
    "path": "records the path; the next state follows from the path and the route (after_path)",
    "preliminary_assessment": "records the Preliminary Assessment status, if given",
    "consultation_round": "opens the next consultation round",
    "change_board_round": "opens the next Change Board round",
    "change_board_result": "tallies the round; the next state follows from the outcome (after_change_board)",
    "authority_determination": "records the Authority's determination (the step's ``determination``) and its date",
    "target_release": "records the SEC Release the modification is targeted at",
    "implement": "records the implementation date (the release's date unless given) and the release",
}

#: the fields of a step request (StepCreate) each effect reads; every step also takes a date, a reference and a reason
EFFECT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "route": ("route",),
    "convert": ("mp_reference",),
    "path": ("path", "route"),
    "preliminary_assessment": ("pa_status",),
    "target_release": ("release",),
    "implement": ("release",),
}


@dataclass(frozen=True)
class Step:
    """One permitted step: from these states, to that state (None: stays), taken by these actors."""

    name: str
    label: str
    from_states: tuple[ProposalState, ...]
    to_state: ProposalState | None
    actors: tuple[str, ...]
    requires: tuple[str, ...] = ()
    branch: str | None = None  # the name of a rule below that picks the next state from the step's data
    help: str = ""
    effect: str = "none"  # a key of EFFECTS: what the step writes beyond the state
    endpoint: str | None = None  # taken through its own endpoint under /proposals/{ref}/ (votes, responses)
    determination: str | None = None  # what an Authority step records as the determination

    @property
    def internal(self) -> bool:
        """Taken through its own endpoint (a vote, a consultation response), not through /steps."""
        return self.endpoint is not None

    @property
    def fields(self) -> tuple[str, ...]:
        """What the step reads beyond its date, reference and reason (the Next steps form shows just these)."""
        return EFFECT_FIELDS.get(self.effect, ())


PROCESS: tuple[Step, ...] = (
    # -- Development Stage (seed 001) --
    Step("secas_comment", "SECAS critical-friend comments", (S.DEVELOPMENT,), None, (CA,),
         help="SECAS comments on the problem statement."),
    Step("further_development", "Further development required", (S.DEVELOPMENT,), None, (CA, COMMITTEE),
         help="The CSC AGREED further development is required to define and understand the issue."),
    Step("ready_to_convert", "Ready to convert", (S.DEVELOPMENT,), S.READY_TO_CONVERT, (CA, COMMITTEE),
         requires=("route",), effect="route",
         help="The CSC AGREED the Draft Proposal is ready to be converted and RECOMMENDED a route."),
    Step("convert", "Convert to Modification Proposal", (S.READY_TO_CONVERT,), S.AWAITING_PATH, (PANEL, CA),
         effect="convert",
         help="The Panel converts the Draft Proposal into a Modification Proposal (MPnnn)."),
    Step("set_path", "Set path", (S.AWAITING_PATH,), None, (PANEL, CA), requires=("path",), branch="after_path",
         effect="path",
         help="The Panel sets Path 1, 2, 3, Fast-Track or Urgent and sends it to Refinement or Report Phase."),
    # -- Refinement Process (never for Fast-Track) --
    Step("request_preliminary_assessment", "Request Preliminary Assessment", (S.REFINEMENT,), None, (CA,)),
    Step("preliminary_assessment", "Preliminary Assessment returned", (S.REFINEMENT,), None, (DCC, CA),
         effect="preliminary_assessment", help="The DCC returns its Preliminary Assessment (PA)."),
    Step("working_group", "Working Group meeting", (S.REFINEMENT,), None, (CA,)),
    Step("request_impact_assessment", "Request Impact Assessment", (S.REFINEMENT,), None, (CA, PANEL)),
    Step("impact_assessment", "Impact Assessment returned", (S.REFINEMENT,), None, (DCC, CA),
         help="The DCC returns its Impact Assessment (IA)."),
    Step("open_refinement_consultation", "Open Refinement Consultation", (S.REFINEMENT,),
         S.REFINEMENT_CONSULTATION, (CA,), effect="consultation_round"),
    Step("consultation_response", "Consultation response", (S.REFINEMENT_CONSULTATION, S.MR_CONSULTATION),
         None, (PARTY, CA), endpoint="responses"),
    Step("close_refinement_consultation", "Close Refinement Consultation", (S.REFINEMENT_CONSULTATION,),
         S.REFINEMENT, (CA,)),
    Step("complete_refinement", "Refinement complete", (S.REFINEMENT,), S.REPORT_PHASE, (CA, PANEL),
         help="The Working Group's work is done; the Draft Modification Report goes to the Panel."),
    # -- Report Phase --
    Step("draft_modification_report", "Draft Modification Report", (S.REPORT_PHASE,), None, (CA,)),
    Step("open_mr_consultation", "Open Modification Report Consultation", (S.REPORT_PHASE,),
         S.MR_CONSULTATION, (PANEL, CA), effect="consultation_round"),
    Step("close_mr_consultation", "Final Modification Report", (S.MR_CONSULTATION,), S.FINAL_REPORT, (CA,),
         help="The consultation closes and the Final Modification Report is issued."),
    # -- Decision --
    Step("open_change_board", "Open Change Board vote", (S.FINAL_REPORT,), S.CHANGE_BOARD, (CA,),
         effect="change_board_round"),
    Step("cast_vote", "Change Board vote", (S.CHANGE_BOARD,), None, (PARTY, CA), endpoint="votes"),
    Step("close_change_board", "Close Change Board vote", (S.CHANGE_BOARD,), None, (CA,),
         branch="after_change_board", effect="change_board_result",
         help="Tally by Party Category (SECMP0041); Path 3 decides, Paths 1, 2 and Urgent recommend."),
    Step("panel_approve", "Panel approves (Fast-Track)", (S.PANEL_DECISION,), S.APPROVED, (PANEL, CA)),
    Step("panel_reject", "Panel rejects (Fast-Track)", (S.PANEL_DECISION,), S.REJECTED, (PANEL, CA)),
    Step("authority_approve", "Authority approves", (S.AUTHORITY_DETERMINATION,), S.APPROVED, (AUTHORITY,),
         effect="authority_determination", determination="Approved"),
    Step("authority_reject", "Authority rejects", (S.AUTHORITY_DETERMINATION,), S.REJECTED, (AUTHORITY,),
         effect="authority_determination", determination="Rejected"),
    Step("authority_send_back", "Authority sends back", (S.AUTHORITY_DETERMINATION,), S.REPORT_PHASE,
         (AUTHORITY,), effect="authority_determination", determination="Sent back",
         help="The Authority sends the Final Modification Report back to the Panel."),
    # -- Release --
    Step("target_release", "Target a SEC Release", BEFORE_DECISION[2:] + (S.APPROVED,), None, (CA, PANEL),
         requires=("release",), effect="target_release"),
    Step("implement", "Implemented", (S.APPROVED,), S.IMPLEMENTED, (CA,), requires=("release",),
         effect="implement", help="The modification is implemented in its SEC Release."),
    # -- Withdrawal --
    Step("withdraw", "Withdrawn by the Proposer", BEFORE_DECISION, S.WITHDRAWN, (PROPOSER,),
         help="The Proposer may withdraw at any time before the decision."),
)

STEPS: Mapping[str, Step] = {s.name: s for s in PROCESS}

#: timeline entries that are not steps of the table: raising, and what the demo loader recorded from the seeds
EVENT_LABELS = {"raise_draft": "Draft Proposal raised", "recorded": "Recorded from the seed papers"}


def step_label(name: str) -> str:
    """The label a person reads for a step or timeline entry ("Open Modification Report Consultation")."""
    known = STEPS.get(name)
    if known:
        return known.label
    return EVENT_LABELS.get(name) or name.replace("_", " ").capitalize()


def steps_from(state: ProposalState) -> list[Step]:
    """Every step the process allows from ``state``."""
    return [s for s in PROCESS if state in s.from_states]


def actor_may(step: Step, roles: frozenset[str] | set[str], is_proposer: bool) -> bool:
    if is_proposer and PROPOSER in step.actors:
        return True
    return bool(set(step.actors).intersection(roles))


def describe_actors(step: Step) -> str:
    return " or ".join(ACTOR_LABELS[a] for a in step.actors)


def after_path(path: ProposalPath, route: Route | None) -> ProposalState:
    """Fast-Track goes straight to the Panel (no Refinement, no Modification Report); others follow the route."""
    if path == ProposalPath.FAST_TRACK:
        return S.PANEL_DECISION
    if route == Route.REPORT_PHASE:
        return S.REPORT_PHASE
    return S.REFINEMENT


def after_change_board(path: ProposalPath, valid: bool, outcome: str | None) -> ProposalState:
    """Path 3: the Change Board decides. Paths 1, 2 and Urgent: it recommends and the Authority determines.

    An invalid vote, or one returning the Final Modification Report, sends the proposal back to the Panel
    (Report Phase): SECMP0041's validity rules, seed 004.
    """
    if not valid or outcome not in ("approve", "reject"):
        return S.REPORT_PHASE
    if path == ProposalPath.PATH_3:
        return S.APPROVED if outcome == "approve" else S.REJECTED
    return S.AUTHORITY_DETERMINATION


def date_problems(step: Step, *, raised: date, decided_on: date, release_name: str | None = None,
                  release_date: date | None = None) -> list[dict[str, str]]:
    """Field problems with a step's dates: nothing is decided before the proposal was raised, and no SEC Release
    before it was raised or, when targeting one, before the day of the decision (a past release cannot take it)."""
    problems = []
    if decided_on < raised:
        problems.append({"field": "decided_on", "message": f"{decided_on:%d %b %Y} is before the proposal was raised "
                                                           f"on {raised:%d %b %Y}"})
    if release_date is not None:
        if release_date < raised:
            problems.append({"field": "release", "message": f"{release_name} ({release_date:%d %b %Y}) was released "
                                                            f"before the proposal was raised on {raised:%d %b %Y}"})
        elif step.effect == "target_release" and release_date < decided_on:
            problems.append({"field": "release", "message": f"{release_name} ({release_date:%d %b %Y}) was released "
                                                            f"before this decision ({decided_on:%d %b %Y})"})
    return problems


def release_status(state: ProposalState) -> str:
    """The release landscape's label (seed 004): Approved once decided, Targeted before."""
    if state == S.IMPLEMENTED:
        return "Implemented"
    return "Approved" if state == S.APPROVED else "Targeted"
