"""Demo User Security Assessments: the assessments, SSC decisions and Director's Letter behind the counts of seed
000 (January 2020) and seed 003 (July 2020), with **fictional** Users ("Example ... Ltd") for the RED details.

The seeds give only counts; every User, finding, condition, assessor and SSC meeting number here is invented. The
SSC meetings (40_1801 to 79_1507) are dated within the months the seeds report on. It goes through the
service, so every record obeys the cycle and the status rules. Demo sign-ins: ``supplier1`` (Example Supplier One
Ltd), ``networks11`` (Example Networks Eleven Ltd, which uses the Shared Resource Provider), ``srp`` (Example
Shared Services Ltd, the provider) and ``ssc`` (a member of the SSC). Loading twice changes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import inspect, select

from gbsmart.assessments import service
from gbsmart.assessments.enums import ActionKind, AssessmentKind, Severity, SscStatus, UserType
from gbsmart.assessments.schemas import (
    ActionCreate,
    AssessedUserCreate,
    AssessmentCreate,
    DecisionCreate,
    FindingCreate,
    LetterCreate,
    LetterReview,
)
from gbsmart.committees import service as committees
from gbsmart.committees.schemas import AgendaItemCreate, MeetingCreate, MemberCreate
from gbsmart.core.context import Ctx
from gbsmart.core.security import hash_password
from gbsmart.models.assessments import AssessedUser
from gbsmart.models.committees import Meeting
from gbsmart.models.parties import Organisation, Person, PersonRole

SOURCE = "gbsmart demo: fictional Users behind the counts of seeds 000 and 003"
PROVIDER = "Example Shared Services Ltd"

# organisation, Party category, user type, User Entry, domestic premises, User Roles, uses the provider
USERS: list[tuple[str, str, UserType, date, int, str, bool]] = [
    (PROVIDER, "other", UserType.OTHER, date(2019, 12, 1), 0, "OU", False),
    ("Example Supplier One Ltd", "small_supplier", UserType.SUPPLIER, date(2019, 3, 1), 120_000, "IS GS", False),
    ("Example Networks Two plc", "electricity_network", UserType.NETWORK, date(2016, 9, 1), 2_000_000, "ED", False),
    ("Example Energy Four Ltd", "large_supplier", UserType.SUPPLIER, date(2018, 4, 1), 600_000, "IS GS ES", False),
    ("Example Small Supply Five Ltd", "small_supplier", UserType.SUPPLIER, date(2017, 5, 1), 80_000, "IS", False),
    ("Example Metering Six Ltd", "other", UserType.OTHER, date(2017, 2, 1), 0, "OU", False),
    ("Example Services Seven Ltd", "other", UserType.OTHER, date(2017, 8, 1), 0, "OU", False),
    ("Example Gas Eight Ltd", "gas_network", UserType.NETWORK, date(2017, 7, 1), 40_000, "GT", False),
    ("Example Agent Nine Ltd", "other", UserType.OTHER, date(2016, 12, 1), 0, "OU", False),
    ("Example Retail Ten Ltd", "small_supplier", UserType.SUPPLIER, date(2019, 11, 1), 30_000, "IS", False),
    ("Example Networks Eleven Ltd", "electricity_network", UserType.NETWORK, date(2020, 1, 15), 90_000, "ED", True),
    ("Example Power Thirteen Ltd", "small_supplier", UserType.SUPPLIER, date(2019, 2, 1), 60_000, "IS", True),
    ("Example Distribution Fourteen plc", "electricity_network", UserType.NETWORK, date(2018, 3, 1), 1_500_000,
     "ED", False),
    ("Example Supply Fifteen Ltd", "small_supplier", UserType.SUPPLIER, date(2018, 9, 1), 150_000, "IS GS", False),
    ("Example Heat Seventeen Ltd", "other", UserType.OTHER, date(2018, 6, 1), 0, "OU", False),
    ("Example Gas Eighteen Ltd", "gas_network", UserType.NETWORK, date(2017, 11, 1), 25_000, "GT", False),
    ("Example Meters Nineteen Ltd", "small_supplier", UserType.SUPPLIER, date(2017, 4, 1), 45_000, "IS", False),
]

# the SSC's meetings: number, date
MEETINGS = [(40, date(2017, 1, 18)), (57, date(2018, 7, 18)), (60, date(2018, 12, 12)), (70, date(2019, 10, 16)),
            (73, date(2020, 1, 22)), (79, date(2020, 7, 15))]

F, V, S, U = AssessmentKind.FULL, AssessmentKind.VERIFICATION, AssessmentKind.SELF, AssessmentKind.FOLLOW_UP
# key, User, kind, start, end, SSC meeting number, status, follows (key), reuses the provider's (key)
ASSESSMENTS: list[tuple[str, str, AssessmentKind, date, date, int, SscStatus, str | None, str | None]] = [
    # earlier initial FUSAs: the assurance statuses that the later compliance statuses need
    ("two-1", "Example Networks Two plc", F, date(2016, 9, 15), date(2016, 12, 9), 40, SscStatus.APPROVED, None,
     None),
    ("four-1", "Example Energy Four Ltd", F, date(2018, 4, 16), date(2018, 6, 29), 57, SscStatus.APPROVED, None,
     None),
    ("fourteen-1", "Example Distribution Fourteen plc", F, date(2018, 3, 19), date(2018, 6, 15), 57,
     SscStatus.APPROVED, None, None),
    ("fifteen-1", "Example Supply Fifteen Ltd", F, date(2018, 9, 17), date(2018, 11, 30), 60, SscStatus.APPROVED,
     None, None),
    ("srp", PROVIDER, F, date(2020, 1, 10), date(2020, 3, 20), 79, SscStatus.APPROVED, None, None),
    ("thirteen", "Example Power Thirteen Ltd", F, date(2019, 2, 15), date(2019, 6, 30), 70, SscStatus.DEFERRED,
     None, None),
    # January 2020 (seed 000): one initial FUSA, two second or subsequent FUSAs, five Self-Assessments
    ("one", "Example Supplier One Ltd", F, date(2019, 3, 15), date(2019, 11, 29), 73,
     SscStatus.APPROVED_WITH_CONDITIONS, None, None),
    ("two", "Example Networks Two plc", F, date(2019, 9, 10), date(2019, 12, 13), 73, SscStatus.COMPLIANT, None,
     None),
    ("four", "Example Energy Four Ltd", F, date(2019, 10, 1), date(2019, 12, 20), 73,
     SscStatus.COMPLIANT_WITH_REMEDIATION, None, None),
    ("five", "Example Small Supply Five Ltd", S, date(2019, 11, 1), date(2019, 12, 2), 73, SscStatus.REVIEWED, None,
     None),
    ("six", "Example Metering Six Ltd", S, date(2019, 10, 15), date(2019, 11, 15), 73, SscStatus.REVIEWED, None,
     None),
    ("seven", "Example Services Seven Ltd", S, date(2019, 11, 4), date(2019, 12, 6), 73, SscStatus.REVIEWED, None,
     None),
    ("eight", "Example Gas Eight Ltd", S, date(2019, 10, 21), date(2019, 11, 22), 73, SscStatus.REVIEWED, None,
     None),
    ("nine", "Example Agent Nine Ltd", S, date(2019, 10, 1), date(2019, 11, 1), 73, SscStatus.REVIEWED, None, None),
    # July 2020 (seed 003): assurance for three initial FUSAs (one is the provider's, above) and two Follow-ups;
    # compliance for two VUSAs and one second or subsequent FUSA; three Self-Assessments; one Director's Letter
    ("ten", "Example Retail Ten Ltd", F, date(2019, 12, 2), date(2020, 5, 29), 79, SscStatus.APPROVED, None, None),
    ("eleven", "Example Networks Eleven Ltd", F, date(2020, 2, 3), date(2020, 6, 12), 79,
     SscStatus.APPROVED_WITH_CONDITIONS, None, "srp"),
    ("one-fsa", "Example Supplier One Ltd", U, date(2020, 5, 4), date(2020, 6, 19), 79, SscStatus.APPROVED, "one",
     None),
    ("thirteen-fsa", "Example Power Thirteen Ltd", U, date(2020, 4, 1), date(2020, 6, 5), 79,
     SscStatus.APPROVED_WITH_CONDITIONS, "thirteen", "srp"),
    ("fourteen", "Example Distribution Fourteen plc", V, date(2020, 3, 16), date(2020, 5, 8), 79,
     SscStatus.COMPLIANT_WITH_REMEDIATION, None, None),
    ("fifteen", "Example Supply Fifteen Ltd", V, date(2020, 2, 3), date(2020, 4, 24), 79, SscStatus.COMPLIANT, None,
     None),
    ("four-3", "Example Energy Four Ltd", F, date(2020, 4, 15), date(2020, 6, 26), 79, SscStatus.COMPLIANT, None,
     None),
    ("seventeen", "Example Heat Seventeen Ltd", S, date(2020, 6, 8), date(2020, 7, 3), 79, SscStatus.REVIEWED, None,
     None),
    ("eighteen", "Example Gas Eighteen Ltd", S, date(2020, 3, 2), date(2020, 4, 3), 79, SscStatus.REVIEWED, None,
     None),
    ("nineteen", "Example Meters Nineteen Ltd", S, date(2020, 2, 17), date(2020, 3, 13), 79, SscStatus.REVIEWED,
     None, None),
]

# key, severity, SEC reference, text, on the Shared Resource, (condition or remediation, due) or None
FINDINGS: list[tuple[str, Severity, str, str, bool, tuple[ActionKind, date] | None]] = [
    ("one", Severity.MINOR, "G5.14", "Privileged access to the DUIS signing host was reviewed annually, not "
     "quarterly.", False, (ActionKind.REMEDIATION, date(2020, 6, 30))),
    ("one", Severity.MINOR, "G5.18", "Security logs of the User System were kept for 60 days, not the 180 its "
     "policy sets.", False, (ActionKind.REMEDIATION, date(2021, 3, 31))),
    ("four", Severity.MEDIUM, "G5.23", "Patches to the Smart Metering Key Infrastructure interface hosts were applied "
     "up to 45 days late.", False, (ActionKind.REMEDIATION, date(2020, 4, 30))),
    ("eleven", Severity.MINOR, "G5.14", "Joiners' and leavers' access at the Shared Resource was not reconciled "
     "monthly.", True, (ActionKind.REMEDIATION, date(2020, 12, 31))),
    ("eleven", Severity.MEDIUM, "G5.5", "The User's own incident management plan was not tested in the year.", False,
     (ActionKind.REMEDIATION, date(2020, 10, 30))),
    ("thirteen", Severity.MAJOR, "G5.2", "No information security management system was in place at User Entry.",
     False, None),
    ("fourteen", Severity.MEDIUM, "G5.20", "The DCC User Interface connection's firewall rules allowed traffic the "
     "design does not need.", False, (ActionKind.REMEDIATION, date(2020, 9, 30))),
]

CONDITIONS: list[tuple[str, str, date]] = [
    ("one", "Close both non-compliances and send evidence to SECAS for a Follow-up Security Assessment.",
     date(2020, 6, 30)),
    ("eleven", "Test the incident management plan and report the outcome to the SSC.", date(2020, 11, 30)),
    ("thirteen-fsa", "Send the SSC the ISMS internal audit's report.", date(2021, 1, 29)),
]

PEOPLE = [
    ("supplier1", "Sid Supplier (demo, Example Supplier One Ltd)", "Example Supplier One Ltd", ["party_user"]),
    ("networks11", "Nell Networks (demo, Example Networks Eleven Ltd)", "Example Networks Eleven Ltd",
     ["party_user"]),
    ("srp", "Shay Shared (demo, Example Shared Services Ltd)", PROVIDER, ["party_user"]),
    ("ssc", "Sol Security (demo SSC member)", "Security Sub-Committee", ["committee_member"]),
]


def _org(ctx: Ctx, name: str, category: str) -> Organisation:
    org = ctx.session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = Organisation(name=name, kind="sec_party", party_category=category, source=SOURCE,
                           created_at=ctx.clock.now())
        ctx.session.add(org)
        ctx.session.flush()
    return org


def _people(ctx: Ctx) -> int:
    from gbsmart.demo.loader import DEMO_PASSWORD

    added = 0
    for username, name, org_name, roles in PEOPLE:
        if ctx.session.scalar(select(Person.id).where(Person.username == username)) is not None:
            continue
        org = ctx.session.scalar(select(Organisation).where(Organisation.name == org_name))
        ctx.session.add(Person(username=username, full_name=name, organisation_id=org.id if org else None,
                               password_hash=hash_password(DEMO_PASSWORD), created_at=ctx.clock.now(),
                               role_rows=[PersonRole(role=r) for r in roles]))
        added += 1
    ctx.session.flush()
    return added


def _meetings(ctx: Ctx) -> dict[int, Meeting]:
    out = {}
    for number, day in MEETINGS:
        m = committees.create_meeting(ctx, "SSC", MeetingCreate(number=number, meeting_date=day,
                                                                venue="Teleconference (demo)", status="held"))
        for n, title in ((4, "User Security Assessments"), (5, "Director's Letters"), (6, "Security Self-Assessments")):
            committees.add_agenda_item(ctx, m, AgendaItemCreate(number=n, title=title))
        out[number] = m
    return out


def load_assessments_demo(ctx: Ctx) -> dict[str, int]:
    """Add the demo assessments if they are not there; a second run adds nothing."""
    s = ctx.session
    if not inspect(s.connection()).has_table(AssessedUser.__tablename__):
        return {}  # a database at a revision before the assessments (the migration tests load the demo so)
    provider = s.scalar(select(Organisation).where(Organisation.name == PROVIDER))
    if provider is not None and s.scalar(select(AssessedUser.id).where(AssessedUser.organisation_id == provider.id)):
        return {}
    counts: dict[str, int] = {}
    for name, category, user_type, entry, domestic, roles, uses in USERS:
        _org(ctx, name, category)
        service.register_user(ctx, AssessedUserCreate(
            organisation=name, user_type=user_type, user_entry_date=entry, user_roles=roles,
            domestic_premises=domestic, shared_resource_provider=PROVIDER if uses else None,
            is_shared_resource_provider=name == PROVIDER))
    counts["assessed Users"] = len(USERS)
    counts["demo sign-ins (assessments)"] = _people(ctx)
    if s.scalar(select(Person.id).where(Person.username == "ssc")) is not None:
        committees.add_member(ctx, "SSC", MemberCreate(person="ssc", represents="Security expert (demo)"))
    meetings = _meetings(ctx)
    refs: dict[str, str] = {}
    decided: list[tuple[str, int, SscStatus, AssessmentKind]] = []
    for key, user, kind, start, end, meeting, status, follows, reuses in ASSESSMENTS:
        a = service.create_assessment(ctx, AssessmentCreate(
            user=user, kind=kind, start_date=start, end_date=end, assessor="Example Assurance LLP (demo User CIO)"
            if kind != AssessmentKind.SELF else "The User (self-assessment)", status="reported",
            follows=refs.get(follows) if follows else None, reuses=refs.get(reuses) if reuses else None))
        refs[key] = a.reference
        decided.append((key, meeting, status, kind))
    for key, severity, sec, text, shared, action in FINDINGS:
        f = service.add_finding(ctx, refs[key], FindingCreate(severity=severity, text=text, sec_reference=sec,
                                                              on_shared_resource=shared))
        if action is not None:
            service.add_action(ctx, refs[key], ActionCreate(kind=action[0], due_date=action[1], finding=f.number,
                                                            text="Remedy: " + text[0].lower() + text[1:]))
    for key, text, due in CONDITIONS:
        service.add_action(ctx, refs[key], ActionCreate(kind=ActionKind.CONDITION, text=text, due_date=due))
    # decided in date order, so an assurance status comes before the compliance statuses that need it
    for key, meeting, status, kind in sorted(decided, key=lambda d: MEETINGS_BY_NUMBER[d[1]]):
        item = "6" if kind == AssessmentKind.SELF else "4"
        service.decide(ctx, refs[key], DecisionCreate(meeting=meetings[meeting].reference, agenda_item=item,
                                                      status=status))
    # the first remediation of Example Supplier One was closed before its Follow-up
    first = service.get_assessment(ctx, refs["one"])
    service.close_action(ctx, refs["one"], first.actions[0].id, date(2020, 4, 17))
    letter = service.add_letter(ctx, LetterCreate(
        assessment=refs["fourteen"], received_on=date(2020, 6, 22),
        summary="The Director confirms the firewall rules will be corrected by 30 September 2020 (demo)."))
    service.review_letter(ctx, letter.reference, LetterReview(meeting=meetings[79].reference, agenda_item="5"))
    counts["security assessments"] = len(ASSESSMENTS)
    counts["findings"] = len(FINDINGS)
    counts["SSC meetings"] = len(MEETINGS)
    return counts


MEETINGS_BY_NUMBER: dict[int, Any] = {n: d for n, d in MEETINGS}
