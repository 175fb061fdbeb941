"""Demo incidents from the seed papers (`gbsmart demo load`): the aged incidents the Operations Group discusses in
seed 000 ("Incorrect or no credentials (DNO)", "Incorrect CH variant installed"), assigned back to the Users who
must act, and a major incident restored in 3 h 4 min as seed 003 reports one. Each is raised and worked through
the same use cases as the portal (``service.incidents``), on a clock set back to when it happened, so its timeline
and SLA are computed, not typed in. Loading twice adds nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import inspect, select

from gbsmart.core.clock import FixedClock
from gbsmart.core.context import Ctx
from gbsmart.models.parties import DccUser, Organisation
from gbsmart.models.service import Incident
from gbsmart.service import incidents
from gbsmart.service.enums import AssigneeKind, IncidentStatus
from gbsmart.service.schemas import IncidentAssign, IncidentCreate, IncidentRecategorise, IncidentStatusChange

#: (days ago, title, type, category, answers, what happens next)
AGED: list[tuple[float, str, str, int, dict[str, str], str]] = [
    (41, "DNO certificate missing on a new ESME", "no_credentials_dno", 4,
     {"mpxn": "1012345678901", "device_id": "00-DB-12-34-56-78-91-01"}, "user"),
    (33, "DNO certificate missing on a replacement ESME", "no_credentials_dno", 4,
     {"mpxn": "1012345678902", "device_id": "00-DB-12-34-56-78-91-02"}, "user"),
    (19, "Single band hub installed where dual band is needed", "wrong_ch_variant", 4,
     {"device_id": "00-DB-12-34-56-78-92-01", "installed_variant": "single band", "needed_variant": "dual band"},
     "user"),
    (6, "Hub installed at a premises with no address", "incomplete_address", 5,
     {"mpxn": "1012345678903", "postcode": "LS1 4AP"}, "service_provider"),
    (0.2, "On-demand reads late in CSP North", "service_request_failure", 3, {"srv": "4.1.1"}, "service_provider"),
]
MAJOR_TITLE = "Service Requests failing for Users in CSP Central and South"


def load_service_demo(ctx: Ctx) -> dict[str, int]:
    s = ctx.session
    if not inspect(s.connection()).has_table(Incident.__tablename__):
        return {"incidents": 0}  # a database at a revision before incidents (the migration tests load the demo so)
    if s.scalar(select(Incident.id).limit(1)) is not None:
        return {"incidents": 0}
    users = list(s.execute(select(DccUser.eui64, Organisation.kind).join(Organisation)
                           .where(Organisation.kind == "sec_party").order_by(DccUser.eui64)).all())
    if not users:
        return {"incidents": 0}
    now = ctx.clock.now()
    made = 0
    for n, (days, title, kind, category, answers, then) in enumerate(AGED):
        clock = FixedClock(now - timedelta(days=days))
        at = replace(ctx, clock=clock)
        i = incidents.raise_incident(at, IncidentCreate(title=title, type=kind, category=category, answers=answers,
                                                        user_id=users[n % len(users)][0],
                                                        csp_region=("North", "Central", "South")[n % 3]))
        clock.advance(hours=2)
        if then == "user":
            incidents.assign(at, i.reference, IncidentAssign(kind=AssigneeKind.USER, note=(
                "Please install the correct credentials / hub and confirm here.")))
        else:
            incidents.assign(at, i.reference, IncidentAssign(kind=AssigneeKind.SERVICE_PROVIDER, to=(
                "CSP North" if "North" in title else "DSP")))
        made += 1
    # the major incident: recognised as category 2, raised to 1 when its reach was known, restored in 3 h 4 min
    clock = FixedClock(now - timedelta(days=12, hours=5))
    at = replace(ctx, clock=clock)
    major = incidents.raise_incident(at, IncidentCreate(
        title=MAJOR_TITLE, type="service_request_failure", category=2, answers={"srv": "all"},
        description="Service Requests from Users in two CSP regions answered with errors (seed 003)."))
    clock.advance(minutes=25)
    incidents.recategorise(at, major.reference, IncidentRecategorise(
        category=1, reason="Two CSP regions and every User affected"))
    incidents.assign(at, major.reference, IncidentAssign(kind=AssigneeKind.SERVICE_PROVIDER, to="DSP"))
    clock.advance(hours=2, minutes=39)
    incidents.change_status(at, major.reference, IncidentStatusChange(
        status=IncidentStatus.RESOLVED, note="Failed message broker node replaced; service restored"))
    made += 1
    # its report, reviewed and re-issued (seed 003: "the report is reviewed and re-issued with comments")
    from gbsmart.service import major as reports

    clock.advance(days=2)
    first = reports.ReportIssue(
        summary="Service Requests from Users in CSP Central and South were answered with errors for 3 h 4 min.",
        services="Service Requests (DUIS)\nDevice alerts", users="Every User in CSP Central and South",
        root_cause="A message broker node of the DSP failed and was not failed over.",
        remediation="Replace the node (done)\nFail over automatically\nAlert on queue depth")
    reports.issue(at, major.reference, first)
    clock.advance(days=5)
    reports.comment(at, major.reference, reports.ReportComment(text="Give a date for the automatic fail-over."))
    clock.advance(days=2)
    reports.issue(at, major.reference, first.model_copy(update={
        "response_to_comments": "Automatic fail-over goes live with the January release."}))
    # Communications Hub exceptions and returns over the last month (seed 000: "Incomplete or no address" the
    # biggest exception; no fault found in the returned hubs)
    from gbsmart.service import hubs
    from gbsmart.service.enums import TriageResult

    exceptions = [("Incomplete or no address", "North")] * 5 + [("Incomplete or no address", "South")] * 3 + [
        ("No Incident for Outage", "Central")] * 2 + [("No SM WAN coverage", "North")]
    for n, (exception_category, region) in enumerate(exceptions):
        at = replace(ctx, clock=FixedClock(now - timedelta(days=28 - 2 * n)))
        hubs.record_exception(at, f"00-DB-DE-00-00-00-01-{n:02X}", exception_category, csp_region=region)
    for n in range(3):
        clock = FixedClock(now - timedelta(days=20 - 5 * n))
        at = replace(ctx, clock=clock)
        back = hubs.record_return(at, f"00-DB-DE-00-00-00-02-{n:02X}", reason="No SM WAN after installation",
                                  csp_region=("North", "Central", "South")[n])
        clock.advance(days=3)
        if n < 2:
            hubs.triage(at, back.id, TriageResult.NO_FAULT_FOUND, "Works on the bench")
    s.flush()
    return {"incidents": made}

