"""Major incident reports (issue 13 point 3; DOMAIN.md section 8; seed 003): for a Category 1 or 2 incident, the
DCC issues a report. Reviewers comment on it, and the DCC re-issues it, answering them. The report reads, from the
incident itself:
- its timeline;
- **time to restore** (raised to resolved);
- its **categorisation history**: when it was raised, each change of category, and when it was first recognised as
  major.

The DCC writes the rest in each issue: summary, the services and Users affected, root cause, remediation actions,
and the response to the last issue's comments. It can be printed as a PDF (headless Chromium, as papers are).

Who: the DCC's people issue and re-issue. Anyone who may see the incident may read its report and comment on it
(the Code Administrator, the incident's own organisation; the DCC). Takes a Ctx; never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from gbsmart.core.audit import record_change
from gbsmart.core.clock import utc
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Conflict, Forbidden
from gbsmart.core.types import Text
from gbsmart.models.service import Incident, IncidentEvent, MajorIncidentComment, MajorIncidentReport
from gbsmart.service import incidents
from gbsmart.service.enums import IncidentEventKind


class ReportIssue(BaseModel):
    """One issue of a major incident report (a re-issue answers the comments on the last one)."""

    model_config = ConfigDict(extra="forbid")

    summary: Text = Field(min_length=3, max_length=8000, description="What happened, in a paragraph.")
    services: Text = Field(default="", max_length=4000, description="The services affected, one a line.")
    users: Text = Field(default="", max_length=4000, description="The Users affected, one a line.")
    root_cause: Text = Field(default="", max_length=8000)
    remediation: Text = Field(default="", max_length=8000, description="Remediation actions, one a line.")
    response_to_comments: Text = Field(default="", max_length=8000, description="How this issue answers the "
                                       "comments on the last one (required when there were comments).")


class ReportComment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=3, max_length=8000)


@dataclass(frozen=True)
class Categorisation:
    at: datetime
    before: int | None
    after: int
    why: str


@dataclass(frozen=True)
class ReportView:
    incident: Incident
    major: bool
    recognised_major_at: datetime | None
    time_to_restore: timedelta | None
    categorisation: list[Categorisation]
    timeline: list[IncidentEvent]
    issues: list[MajorIncidentReport]
    comments: dict[int, list[MajorIncidentComment]]

    @property
    def latest(self) -> MajorIncidentReport | None:
        return self.issues[-1] if self.issues else None

    @property
    def restore_text(self) -> str:
        if self.time_to_restore is None:
            return "not restored yet"
        minutes = int(self.time_to_restore.total_seconds() // 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes} min"


def _categorisation(incident: Incident) -> list[Categorisation]:
    out = []
    for e in incident.events:
        at = utc(e.at)
        assert at is not None
        if e.kind == IncidentEventKind.RAISED.value and e.after:
            out.append(Categorisation(at, None, int(e.after), "raised"))
        elif e.kind == IncidentEventKind.CATEGORY.value and e.after:
            out.append(Categorisation(at, int(e.before) if e.before else None, int(e.after), e.text))
    return out


def view(ctx: Ctx, ref: str) -> ReportView:
    incident = incidents.get_incident(ctx, ref)
    history = _categorisation(incident)
    recognised = next((c.at for c in history if c.after <= 2), None)
    issues = list(ctx.session.scalars(select(MajorIncidentReport).where(MajorIncidentReport.incident_id ==
                                                                        incident.id)
                                      .order_by(MajorIncidentReport.version)))
    comments: dict[int, list[MajorIncidentComment]] = {r.id: [] for r in issues}
    if issues:
        for c in ctx.session.scalars(select(MajorIncidentComment).where(
                MajorIncidentComment.report_id.in_(list(comments))).order_by(MajorIncidentComment.id)):
            comments[c.report_id].append(c)
    raised, resolved = utc(incident.raised_at), utc(incident.resolved_at)
    restore = resolved - raised if resolved is not None and raised is not None else None
    return ReportView(incident, recognised is not None, recognised, restore, history, list(incident.events), issues,
                      comments)


def issue(ctx: Ctx, ref: str, data: ReportIssue) -> MajorIncidentReport:
    """Issue the report (version 1), or re-issue it (the next version), as the DCC."""
    if not incidents.is_service_desk(ctx):
        raise Forbidden("Only the DCC's people issue major incident reports.")
    v = view(ctx, ref)
    if not v.major:
        raise Conflict(f"{v.incident.reference} has never been Category 1 or 2: it is not a major incident.")
    latest = v.latest
    if latest is not None and v.comments[latest.id] and not data.response_to_comments.strip():
        from gbsmart.core.errors import Invalid

        raise Invalid("response_to_comments: say how this issue answers the comments on the last one", detail=[
            {"field": "response_to_comments", "message": "say how this issue answers the comments on the last one"}])
    version = (ctx.session.scalar(select(func.max(MajorIncidentReport.version)).where(
        MajorIncidentReport.incident_id == v.incident.id)) or 0) + 1
    row = MajorIncidentReport(incident_id=v.incident.id, version=version, summary=data.summary.strip(),
                              services=data.services.strip(), users=data.users.strip(),
                              root_cause=data.root_cause.strip(), remediation=data.remediation.strip(),
                              response_to_comments=data.response_to_comments.strip(),
                              issued_by=ctx.actor.name[:200], issued_at=ctx.clock.now())
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "major_incident_report.issue", "major_incident_report",
                  f"{v.incident.reference} v{version}", None, {"version": version, "summary": row.summary[:200]})
    return row


def comment(ctx: Ctx, ref: str, data: ReportComment) -> MajorIncidentComment:
    """A reviewer's comment on the latest issue."""
    v = view(ctx, ref)
    if v.latest is None:
        raise Conflict(f"{v.incident.reference} has no report issued yet: there is nothing to comment on.")
    row = MajorIncidentComment(report_id=v.latest.id, by=ctx.actor.name[:200], at=ctx.clock.now(),
                               text=data.text.strip())
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "major_incident_report.comment", "major_incident_report",
                  f"{v.incident.reference} v{v.latest.version}", None, {"comment": row.text[:200]})
    return row


_env = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                   autoescape=select_autoescape(["html"]))


def print_html(ctx: Ctx, v: ReportView) -> str:
    """The report's latest issue as a page to print (every issue's comments, the incident's timeline)."""
    return _env.get_template("major_print.html").render(v=v, printed_for=ctx.actor.name, printed_at=ctx.clock.now(),
                                                        cat=incidents.catalogue(ctx.settings).categories)


def pdf(ctx: Ctx, ref: str) -> tuple[str, bytes]:
    from gbsmart.core.pdf import html_to_pdf

    v = view(ctx, ref)
    if v.latest is None:
        raise Conflict(f"{v.incident.reference} has no report issued yet.")
    return f"{v.incident.reference}-v{v.latest.version}.pdf", html_to_pdf(print_html(ctx, v),
                                                                          ctx.settings.chromium_path)
