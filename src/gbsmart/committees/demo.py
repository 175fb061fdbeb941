"""Demo committees and the minutes of CSC meeting 11_2801 (seed 001), loaded idempotently.

``load_committees_demo(ctx)`` runs after the main demo loader (``gbsmart.demo.loader.load_demo``), whose
people, organisations and Draft Proposals it links to. Seed 001's decisions are already on the proposals'
timelines (the main loader put them there), so they are loaded here as records linked to those events,
marked ``recorded_only``, without re-taking the steps. A second run adds nothing.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from sqlalchemy import or_, select

from gbsmart.committees import rules
from gbsmart.committees.enums import ActionStatus, DecisionWord, MeetingStatus, MinutesStatus
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.demo.loader import LoadReport
from gbsmart.models.change import Proposal
from gbsmart.models.committees import (
    Action,
    ActionUpdate,
    AgendaItem,
    Committee,
    CommitteeMember,
    Decision,
    Meeting,
    MeetingApology,
    MeetingAttendee,
)
from gbsmart.models.parties import Organisation, Person

S001 = "seed 001 (CSC 11_2801 minutes, 28 Jan 2020)"
S000 = "seed 000 (Panel Sub-Committee Report SECP_77_1402_19, 7 Feb 2020)"
DOMAIN = "DOMAIN.md section 1 (sub-committees in the seeds)"

COMMITTEES: list[dict[str, Any]] = [
    {"code": "Panel", "name": "SEC Panel", "kind": "panel", "org": "SEC Panel", "process_role": "panel_member",
     "description": "The SEC Panel: converts Draft Proposals, sets paths, decides Fast-Track modifications.",
     "source": S000},
    {"code": "CSC", "name": "Change Sub-Committee", "org": "Change Sub-Committee", "process_role": "committee_member",
     "description": "Decides in the Development Stage whether a Draft Proposal needs further development or is "
                    "ready to be converted, and recommends its route.", "source": S001},
    {"code": "OPSG", "name": "Operations Group", "org": "Operations Group",
     "description": "DCC operations: performance, alerts, incidents, Communications Hubs.", "source": S000},
    {"code": "SSC", "name": "Security Sub-Committee", "org": "Security Sub-Committee",
     "description": "Security assurance: User Security Assessments, security risks and controls.", "source": S000},
    {"code": "SMKI PMA", "name": "SMKI Policy Management Authority", "org": "SMKI Policy Management Authority",
     "description": "Governs the Smart Metering Key Infrastructure (SMKI).", "source": S000},
    {"code": "TABASC", "name": "Technical Architecture and Business Architecture Sub-Committee",
     "org": "Technical Architecture and Business Architecture Sub-Committee",
     "description": "The technical and business architecture of the SEC and the DCC systems.", "source": S000},
    {"code": "TAG", "name": "Testing Advisory Group", "org": "Testing Advisory Group",
     "description": "Testing of DCC releases and Devices.", "source": S000},
    {"code": "Change Board", "name": "Change Board", "org": "Change Board",
     "description": "Votes on Final Modification Reports by Party Category (SECMP0041).", "source": DOMAIN},
]

# (committee, person, represents, party category, chair, secretary, source)
MEMBERS: list[tuple[str, str, str, str | None, bool, bool, str]] = [
    ("CSC", "David Kemp", "Change Sub-Committee Chair", None, True, False, f"{S001}, attendees"),
    ("CSC", "Paul Saker", "Large Suppliers", "large_supplier", False, False, f"{S001}, attendees"),
    ("CSC", "Andrew Margan", "Small Suppliers", "small_supplier", False, False, f"{S001}, attendees"),
    ("CSC", "Gemma Slaney", "Electricity Network Parties", "electricity_network", False, False,
     f"{S001}, attendees"),
    ("CSC", "Jonathan Lishawa", "Other SEC Parties", "other", False, False, f"{S001}, apologies"),
    ("CSC", "Elias Hanna", "Other SEC Parties", "other", False, False, f"{S001}, apologies"),
    ("CSC", "Ed Rees", "Consumers", None, False, False, f"{S001}, apologies"),
    ("CSC", "Louise Evans", "SECAS", None, False, True, f"{S001}, attendees (Meeting Secretary)"),
    ("SSC", "Gordon Hextall", "Independent Chair", None, True, False, f"{S001}, item 3 (DP104)"),
    ("SMKI PMA", "Gordon Hextall", "Independent Chair", None, True, False, f"{S001}, item 3 (DP104)"),
]

# (name, representing, party category, role, teleconference) in the order the minutes list them
ATTENDEES: list[tuple[str, str, str | None, str, bool]] = [
    ("David Kemp", "Change Sub-Committee Chair", None, "chair", False),
    ("Paul Saker", "Large Suppliers", "large_supplier", "member", True),
    ("Andrew Margan", "Small Suppliers", "small_supplier", "member", True),
    ("Gemma Slaney", "Electricity Network Parties", "electricity_network", "member", True),
    ("Remi Oluwabamise", "DCC", None, "participant", True),
    ("Mari Toda", "DCC", None, "participant", False),
    ("Louise Evans", "SECAS", None, "meeting_secretary", False),
    ("Bradley Baker", "SECAS", None, "participant", False),
    ("Alison Beard", "SECAS", None, "participant", False),
    ("Joe Hehir", "SECAS", None, "participant", False),
    ("Harry Jones", "SECAS", None, "participant", False),
]
APOLOGIES = [("Jonathan Lishawa", "Other SEC Parties"), ("Elias Hanna", "Other SEC Parties"), ("Ed Rees", "Consumers")]

FURTHER = ("agreed", "further development is required to define and understand the issue")
READY = ("agreed", "this Draft Proposal is ready to be converted to a Modification Proposal")


def _recommend(route: str, extra: str = "") -> tuple[str, str]:
    return "recommended", f"to the Panel that the Modification Proposal should proceed to the {route}{extra}"


# Item 3, one heading per Draft Proposal: (DP, discussion summarised from the minutes, decisions, actions raised)
DRAFT_PROPOSALS: list[tuple[str, str, list[tuple[str, str]], list[tuple[str, str]]]] = [
    ("DP094", "The CSC was provided with a verbal update on DP094, which seeks a solution to manage SMETS2 "
     "prepayment customers in no WAN, intermittent WAN or DCC outage scenarios, equivalent to the commercially "
     "developed solution available from the Secure SMETS1 product.\n\n"
     "DP094 was raised by Utilita, who believes the issue would affect 9% of its customers; one Large Supplier "
     "typically sees 3% of Home Area Networks (HANs) experience connectivity issues with the WAN. The Proposer is "
     "yet to provide a breakdown of the estimated size of the problem; SECAS proposes to issue a Request for "
     "Information (RFI) to SEC Parties to establish the impact of intermittent or no WAN.\n\n"
     "One CSC Member (PS) suggested the RFI should focus on WAN coverage and how this prevents Devices from being "
     "installed, rather than on SMETS2 pre-payment where volumes are relatively low. SECAS suggested the RFI could "
     "cover WAN as a whole and whether Devices can be installed, and agreed to raise broadening the problem "
     "statement with the Proposer. A progress update will be provided at the next CSC meeting.",
     [FURTHER], []),
    ("DP095", "The CSC considered the problem statement for DP095, raised by EDF Energy, which seeks to explore the "
     "current credit cover requirements to identify whether they can be amended to reduce the risk of cost "
     "socialisation across the industry.\n\nSECAS informed CSC members that it is still examining the problem.",
     [FURTHER], []),
    ("DP096", "The CSC considered the problem statement for DP096, which seeks to address a SEC obligation the DCC "
     "is unable to meet: after a power outage lasting more than three minutes the DCC must send Power Outage "
     "Alerts (POAs) to Distribution Network Operators (DNOs) within 60 seconds, and a Power Restoration Alert (PRA) "
     "within 60 seconds of power being restored.\n\n"
     "The Chair (DK) provided an update on Action CSC 10/01: SECAS is still working closely with the DCC and a "
     "meeting has been arranged with the DCC in the w/c 27/01/2020 to fully define the issue before moving to the "
     "Refinement Process.\n\n"
     "One CSC Member (GS) noted it is positive that the proposal was raised and has senior support at the DCC. The "
     "DCC had suggested the legal text could let the detail sit in a subsidiary document; GS stated that all "
     "documentation would then need to be drawn up as part of the solution, and voiced concern that the SEC might "
     "hold something vague and the detail never follow.",
     [FURTHER], []),
    ("DP098", "The CSC considered the problem statement for DP098, which seeks to introduce 21 non-system-impacting "
     "Issue Resolution Proposals (IRPs) to amend the Technical Specifications following transition from BEIS to "
     "the SEC Modifications process.\n\n"
     "SECAS informed the CSC that the legal text has been drafted; it could be targeted for the November 2020 SEC "
     "Release if the SEC Panel considers it in February and it proceeds straight to the Report Phase. The Draft "
     "Proposal is due to be presented to the TABASC at its meeting on 6 February 2020.\n\n"
     "A DCC Representative (RO) noted that DCC Systems may be impacted by some of the IRPs and agreed to provide "
     "details to SECAS as soon as possible; system-impacting IRPs would be removed from the scope of the "
     "modification.",
     [READY, _recommend("Report Phase", ", subject to agreement by the TABASC")],
     [("DCC", "The DCC to provide SECAS with information on any IRPs currently in scope of DP098 that may impact "
              "on DCC systems.")]),
    ("DP100", "The CSC was provided with a verbal update on DP100, which seeks to manage scenarios where the DCC "
     "Systems have suffered an outage or restriction and are then restored: Service Responses queued meanwhile "
     "are sent when the DCC Systems come back online, and Users' adapter systems receive them all at once, "
     "irrespective of priority.\n\n"
     "SECAS informed the CSC that further input is still required from the Sub-Committees and a progress update "
     "will be provided to the CSC next month.",
     [FURTHER], []),
    ("DP101", "The CSC considered the problem statement for DP101, which seeks to resolve a discrepancy between "
     "the SMETS2 and the Measuring Instruments Directive (MID), introduced via SECMP0006 'Specifying the number of "
     "digits for device display', on the number of digits a Large Gas Meter must display.\n\n"
     "SECAS informed the CSC that the issue is clear and understood. Although there are no DCC impacts, SECAS "
     "recommends the Refinement Process to ensure there are no unintended consequences and to coordinate with "
     "other Codes that may be affected (specifically the SPAA). SECAS will also present it to the TABASC on "
     "6 February 2020.\n\n"
     "A CSC Member (PS) questioned whether Suppliers did not realise they were non-compliant with SECMP0006. SECAS "
     "clarified that the SECMP0006 Modification Report had highlighted that the Proposed Solution contradicted the "
     "MID, but industry approved it knowing this. The change will apply to the next Principal Version of the SMETS "
     "(likely version 5); PS asked how Suppliers of SMETS2 Large Gas Meters already installed would be impacted. "
     "SECAS agreed to seek feedback from the TABASC and the Working Group on the draft legal text and this "
     "scenario, and to ensure the implementation approach is clear, as part of the Refinement Process.",
     [READY, _recommend("Refinement Process")], []),
    ("DP104", "The CSC was provided with a verbal update on DP104, raised by Gordon Hextall, Independent Chair of "
     "the Security Sub-Committee (SSC) and the SMKI Policy Management Authority (PMA). The SSC is aware of Users "
     "using SMKI Keys to sign DUIS XML format Service Requests as well as the Pre-Command, and believes a "
     "requirement for the DCC to validate the separation of these keys should be introduced.\n\n"
     "SECAS noted that since the last CSC meeting the document classification for the proposal has been "
     "downgraded from RED to GREEN in accordance with the Panel Information Policy, and that it will be presented "
     "to the Panel for decision on its progression at its February meeting.",
     [("noted", "this Draft Proposal will now be presented at the February 2020 Panel meeting")], []),
    ("DP106", "The CSC considered the problem statement for DP106. A User sending Service Request 12.1 'Request WAN "
     "Matrix' usually receives an Availability Date and WAN Variant; in an exception case the Communications "
     "Service Provider (CSP) for the South and Central regions may answer a SM WAN Coverage request (CSPM-S1 or "
     "CSPM-S2) with an Availability Date but no confirmed WAN Variant, returning \" \" (a space), which a customer "
     "found potentially confusing. The word \"unknown\" has been proposed instead.\n\n"
     "SECAS informed the CSC that the issue is clear and understood; a DCC Assessment is required and therefore "
     "SECAS recommends the proposal proceeds to the Refinement Process.",
     [READY, _recommend("Refinement Process")], []),
    ("DP107", "The CSC considered new Draft Proposal DP107. To send a Critical Command to a SMETS1 Device, the User "
     "must own the relevant certificate on the Device and be the Device's owner in the RDP data; if a Network "
     "Operator replaces the Network Operator Certificate in error, the error cannot be corrected.\n\n"
     "One CSC Member (GS) explained that the SMETS1 Supporting Requirements (S1SR) validate all Service Requests "
     "against the Registered Data Provider (RDP) data as well: the User must own the Network Operator Certificate "
     "and be the correct DNO for the meter. The issue is low risk and only affects DCC-enrolled SMETS1 Devices. A "
     "cost benefit analysis would be needed to assess whether removing the validation justifies the cost.",
     [FURTHER], []),
    ("DP108", "The CSC considered new Draft Proposal DP108. Several procedures may only be undertaken with or "
     "requested of the DCC by Senior Responsible Officers (SROs) or Authorised Responsible Officers (AROs), but "
     "the Self-Service Interface (SSI) does not restrict them to SROs and AROs, for example submitting Anomaly "
     "Detection Threshold (ADT) forecast data.\n\n"
     "One Member (GS) believed more examples are required, as ADT files must already be signed by AROs; SECAS has "
     "requested further examples of the Proposer. The member added that a system change would presumably be "
     "needed to add SROs and AROs to the SSI role table, otherwise the risk of unauthorised access would remain. "
     "SECAS noted that a solution changing the SSI would go through the SSI Change Governance Process; a DCC "
     "Representative (MT) clarified this was not the original intent of the DP and agreed to confirm it with DCC "
     "colleagues. DP108 and DP109 are not interdependent.",
     [FURTHER], []),
    ("DP109", "The CSC considered new Draft Proposal DP109, which seeks to require that the Anomaly Detection "
     "Threshold (ADT) File and Exit Quarantine files be provided to the DCC via the SSI, more securely than by "
     "email (which would still be possible).\n\n"
     "The CSC was supportive of the issue and agreed it was clear. Members believed it should first be presented "
     "to the other Sub-Committees for comment, in particular the SSC, and returned for decision at next month's "
     "meeting.",
     [FURTHER], []),
    ("DP110", "The CSC considered new Draft Proposal DP110, which seeks to amend SEC Appendix D as agreed between "
     "the DCC and the SMKI PMA, to align it with DCC processes.\n\n"
     "One Member (GS) raised that presumably the SMKI PMA is comfortable with the SEC changing to meet DCC "
     "processes rather than the DCC complying with the wording of the SEC. SECAS confirmed this: SEC Appendix D "
     "was drafted before go-live and is no longer fit for purpose.",
     [READY, _recommend("Report Phase")],
     [("SECAS", "SECAS to clarify in the Modification Report the justification for amending the SEC to align with "
                "DCC processes in the Modification Proposal for DP110.")]),
    ("DP111", "The CSC considered new Draft Proposal DP111, which seeks to review the Smart Meter Device Assurance "
     "(SMDA) funding model so that the SMDA can provide long-term test assurance; there is a low risk that the "
     "SMDA may not be able to continue in its current format.\n\n"
     "One member (PS) asked whether the SMDA should consider this separately and what the connection with the SEC "
     "is, and was concerned the problem was too open. Another member (GS) agreed it is a valid issue but was "
     "unclear whether it needs a Modification Proposal or another route. There was a consensus that further work "
     "is needed and that the Draft Proposal should not be converted until the issue is sufficiently understood.",
     [FURTHER], []),
]

ACTION_10_01 = ("DCC to provide the CSC with draft legal text for their proposed solution, and a breakdown of the "
                "previous cost analysis for amending the DCC Systems with detail behind the cost for DP096.")
UPDATE_10_01 = ("An update was provided under the DP096 update of Agenda Item 3. A meeting has been arranged between "
                "SECAS and the DCC in the w/c 27/01/2020 to fully define the issue before proceeding.")
OWNER_ORGS = {"DCC": "Smart DCC", "SECAS": "SECAS"}


class _Loader:
    def __init__(self, ctx: Ctx, report: LoadReport) -> None:
        self.ctx, self.s, self.report = ctx, ctx.session, report

    def person(self, name: str) -> Person | None:
        return self.s.scalar(select(Person).where(Person.full_name == name).order_by(Person.id))

    def org(self, name: str) -> Organisation | None:
        return self.s.scalar(select(Organisation).where(Organisation.name == name))

    def proposal(self, dp: str) -> Proposal | None:
        return self.s.scalar(select(Proposal).where(or_(Proposal.dp_reference == dp, Proposal.reference == dp)))

    def committees(self) -> dict[str, Committee]:
        out = {}
        for c in COMMITTEES:
            found = self.s.scalar(select(Committee).where(Committee.code == c["code"]))
            if found is None:
                org = self.org(c["org"])
                found = Committee(code=c["code"], name=c["name"], kind=c.get("kind", "sub_committee"),
                                  organisation_id=org.id if org else None, quorum=rules.DEFAULT_QUORUM,
                                  process_role=c.get("process_role"), description=c["description"],
                                  source=c["source"], created_at=self.ctx.clock.now())
                self.s.add(found)
            self.report.tally("committees", found.id is None)
            out[c["code"]] = found
        self.s.flush()
        return out

    def members(self, committees: dict[str, Committee]) -> None:
        for code, name, represents, category, chair, secretary, source in MEMBERS:
            person = self.person(name)
            if person is None:
                continue
            c = committees[code]
            exists = any(m.person_id == person.id and m.represents == represents for m in c.members)
            if not exists:
                c.members.append(CommitteeMember(person_id=person.id, represents=represents, party_category=category,
                                                 organisation_id=person.organisation_id, is_chair=chair,
                                                 is_secretary=secretary, source=source))
            self.report.tally("committee members", not exists)
        self.s.flush()

    def meeting(self, c: Committee, number: int, on: date, **fields: Any) -> Meeting:
        found = self.s.scalar(select(Meeting).where(Meeting.committee_id == c.id, Meeting.number == number))
        if found is None:
            now = self.ctx.clock.now()
            found = Meeting(committee=c, number=number, reference=rules.meeting_reference(number, on),
                            meeting_date=on, created_at=now, updated_at=now, **fields)
            self.s.add(found)
            self.s.flush()
            self.report.tally("meetings", True)
        else:
            self.report.tally("meetings", False)
        return found

    def attendance(self, m: Meeting) -> None:
        for name, representing, category, role, tele in ATTENDEES:
            exists = any(a.name == name for a in m.attendees)
            if not exists:
                p = self.person(name)
                m.attendees.append(MeetingAttendee(position=len(m.attendees) + 1, person_id=p.id if p else None,
                                                   name=name, representing=representing, party_category=category,
                                                   role=role, teleconference=tele))
            self.report.tally("attendees", not exists)
        for name, representing in APOLOGIES:
            exists = any(a.name == name for a in m.apologies)
            if not exists:
                p = self.person(name)
                m.apologies.append(MeetingApology(position=len(m.apologies) + 1, person_id=p.id if p else None,
                                                  name=name, representing=representing))
            self.report.tally("apologies", not exists)
        self.s.flush()

    def item(self, m: Meeting, number: int, sub: int, title: str, discussion: str = "") -> AgendaItem:
        found = next((i for i in m.agenda_items if i.number == number and i.sub == sub), None)
        self.report.tally("agenda items", found is None)
        if found is None:
            found = AgendaItem(number=number, sub=sub, title=title, discussion=discussion)
            m.agenda_items.append(found)
            self.s.flush()
        return found

    def decisions(self, item: AgendaItem, decisions: list[tuple[str, str]], proposal: Proposal | None) -> None:
        """AGREED / RECOMMENDED / NOTED, linked to the step already on the proposal's timeline (not re-taken)."""
        texts = [t for _, t in decisions]
        for position, (word, text) in enumerate(decisions, start=1):
            if any(d.position == position for d in item.decisions):
                self.report.tally("minuted decisions", False)
                continue
            step = rules.infer_step(DecisionWord(word), text)
            route = rules.infer_route(text, *texts) if step == "ready_to_convert" else None
            if word == DecisionWord.RECOMMENDED:
                route = rules.infer_route(text)
            timeline_step = step or ("noted" if word == DecisionWord.NOTED else None)
            event = None
            if proposal is not None and timeline_step:
                event = next((e for e in proposal.events
                              if e.step == timeline_step and e.reference == "CSC 11_2801"), None)
            item.decisions.append(Decision(
                position=position, word=word, text=text, proposal_id=proposal.id if proposal else None, step=step,
                route=route.value if route else None, proposal_event_id=event.id if event else None,
                recorded_only=True, created_at=self.ctx.clock.now(),
                created_by_name=f"gbsmart demo loader ({S001})"))
            self.report.tally("minuted decisions", True)

    def action(self, c: Committee, number: int, seq: int, owner: str, text: str, meeting: Meeting | None,
               item: AgendaItem | None) -> Action:
        ref = rules.action_reference(c.code, number, seq)
        found = self.s.scalar(select(Action).where(Action.reference == ref))
        self.report.tally("actions", found is None)
        if found is None:
            org = self.org(OWNER_ORGS[owner])
            found = Action(reference=ref, committee_id=c.id, meeting_number=number, sequence=seq,
                           meeting_id=meeting.id if meeting else None, agenda_item_id=item.id if item else None,
                           owner=owner, owner_organisation_id=org.id if org else None, text=text,
                           status=ActionStatus.OPEN.value, raised_on=meeting.meeting_date if meeting else None,
                           source=S001, created_at=self.ctx.clock.now())
            self.s.add(found)
            self.s.flush()
        return found

    def minutes(self, committees: dict[str, Committee]) -> None:
        csc = committees["CSC"]
        m = self.meeting(csc, 11, date(2020, 1, 28), start_time=time(10, 0), end_time=time(11, 0),
                         venue="Gemserv, 8 Fenchurch Place, London, EC3M 4AJ", status=MeetingStatus.HELD.value,
                         minutes_status=MinutesStatus.DRAFT.value, source=S001)
        self.attendance(m)
        self.item(m, 1, 0, "Welcome and introductions",
                  "The Chair welcomed Members to the Change Sub-Committee (CSC) meeting.")
        self.item(m, 2, 0, "Actions Outstanding")
        self.item(m, 3, 0, "Draft Proposal Report")
        raised: list[tuple[str, str, AgendaItem]] = []
        for sub, (dp, discussion, decisions, actions) in enumerate(DRAFT_PROPOSALS, start=1):
            proposal = self.proposal(dp)
            title = f"{dp} '{proposal.title}'" if proposal else dp
            item = self.item(m, 3, sub, title, discussion)
            if proposal is not None and all(p.id != proposal.id for p in item.proposals):
                item.proposals.append(proposal)
            self.decisions(item, decisions, proposal)
            raised += [(owner, text, item) for owner, text in actions]
        self.item(m, 4, 0, "Any Other Business (AOB)",
                  "There was no further business and the Chair closed the meeting.")
        self.s.flush()

        a10 = self.action(csc, 10, 1, "DCC", ACTION_10_01, None, None)
        if not any(u.meeting_id == m.id for u in a10.updates):
            a10.updates.append(ActionUpdate(meeting_id=m.id, text=UPDATE_10_01, status_after=ActionStatus.OPEN.value,
                                            recorded_on=m.meeting_date, at=self.ctx.clock.now(),
                                            by_name="Louise Evans (Meeting Secretary)"))
            self.report.tally("action updates", True)
        else:
            self.report.tally("action updates", False)
        for seq, (owner, text, item) in enumerate(raised, start=1):
            self.action(csc, 11, seq, owner, text, m, item)
        self.meeting(csc, 12, date(2020, 2, 25), status=MeetingStatus.SCHEDULED.value,
                     minutes_status=MinutesStatus.DRAFT.value, source=f"{S001}: 'Next Meeting: 25 February 2020'")
        self.s.flush()


def load_committees_demo(ctx: Ctx, report: LoadReport | None = None) -> LoadReport:
    """Insert the demo committees and CSC meetings 11_2801 and 12_2502 where missing; a second run adds nothing."""
    report = report if report is not None else LoadReport()
    before = {k: v[0] for k, v in report.counts.items()}
    loader = _Loader(ctx, report)
    committees = loader.committees()
    loader.members(committees)
    loader.minutes(committees)
    added = {k: v[0] - before.get(k, 0) for k, v in report.counts.items() if v[0] - before.get(k, 0)}
    if added:
        record_change(ctx, "demo.load", "dataset", "committees (seed 001)", None, added)
    return report
