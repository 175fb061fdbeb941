"""Service management tables (issue 13). One owner per table, named beside it.

``incidents``: each incident raised by a User or the DCC, its category (1 most severe), type and answers to its
type's questions (JSON), who holds it now, and its SLA clock as of its last change: ``sla_used_seconds`` of its
Target Resolution Time used up to ``sla_since``, and while the clock runs, ``due_at``, the instant it breaches
(so lists sort and filter by it in SQL). ``incident_events``: its timeline, one row per change, in order: the
status history the SLA clock is computed from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.service.enums import AssigneeKind, IncidentEventKind, IncidentStatus, TriageResult

_ID = BigInteger().with_variant(Integer(), "sqlite")


class Incident(Base):
    """Owner: ``service.incidents``."""

    __tablename__ = "incidents"
    __table_args__ = (
        enum_check("status", IncidentStatus),
        enum_check("assignee_kind", AssigneeKind),
        CheckConstraint("category BETWEEN 1 AND 9", name="category"),
        Index("ix_incidents_status_due", "status", "due_at"),
        Index("ix_incidents_organisation", "organisation_id", "raised_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)        # INC0000000486
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    type_key: Mapped[str] = mapped_column(String(40))                       # a type of service/incidents.toml
    category: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    answers: Mapped[str] = mapped_column(Text, default="{}")                # the type's questions answered (JSON)
    user_id: Mapped[str | None] = mapped_column(String(23))                 # the DCC User ID affected, if one
    csp_region: Mapped[str | None] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))  # whose incident it is
    raised_by: Mapped[str] = mapped_column(String(200))
    raised_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    assignee_kind: Mapped[str] = mapped_column(String(20))
    assignee: Mapped[str] = mapped_column(String(200))                      # "DCC Service Desk", "CSP North" ...
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(Text, default="")
    sla_used_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    sla_since: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)            # while the clock runs
    breached: Mapped[bool] = mapped_column(Boolean, default=False)          # resolved after its target

    events: Mapped[list[IncidentEvent]] = relationship(back_populates="incident", order_by="IncidentEvent.id",
                                                       cascade="all, delete-orphan")


class IncidentEvent(Base):
    """Owner: ``service.incidents``."""

    __tablename__ = "incident_events"
    __table_args__ = (enum_check("kind", IncidentEventKind), Index("ix_incident_events_incident", "incident_id"))

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    before: Mapped[str | None] = mapped_column(String(200))
    after: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")

    incident: Mapped[Incident] = relationship(back_populates="events")


class PerformanceException(Base):
    """Owner: ``service.performance``. The Performance Measurement Exception List: an event (a request's RequestID,
    a northbound message id, an incident reference) left out of one measure, with why, and who decided."""

    __tablename__ = "performance_exceptions"
    __table_args__ = (Index("ix_performance_exceptions_measure_ref", "measure", "ref", unique=True),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    measure: Mapped[str] = mapped_column(String(8))             # CPM1 ... CPM6
    ref: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MajorIncidentReport(Base):
    """Owner: ``service.major``. One issue of a major incident's report (Category 1 or 2): what the DCC says of its
    impact, cause and remediation; a re-issue is a new version that answers the reviewers' comments."""

    __tablename__ = "major_incident_reports"
    __table_args__ = (Index("ix_major_incident_reports_incident", "incident_id", "version", unique=True),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    services: Mapped[str] = mapped_column(Text, default="")        # the services affected, one a line
    users: Mapped[str] = mapped_column(Text, default="")           # the Users affected, one a line
    root_cause: Mapped[str] = mapped_column(Text, default="")
    remediation: Mapped[str] = mapped_column(Text, default="")     # the remediation actions, one a line
    response_to_comments: Mapped[str] = mapped_column(Text, default="")
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MajorIncidentComment(Base):
    """Owner: ``service.major``. A reviewer's comment on one issue of a major incident report."""

    __tablename__ = "major_incident_comments"
    __table_args__ = (Index("ix_major_incident_comments_report", "report_id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("major_incident_reports.id", ondelete="CASCADE"))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(Text)


class ChException(Base):
    """Owner: ``service.hubs``. A Communications Hub installation exception (seed 000: "Incomplete or no address",
    "No Incident for Outage" ...), counted by category and CSP region over time."""

    __tablename__ = "ch_exceptions"
    __table_args__ = (Index("ix_ch_exceptions_raised", "raised_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    hub_id: Mapped[str] = mapped_column(String(23))
    category: Mapped[str] = mapped_column(String(80))          # one of incidents.toml's [hubs] categories
    csp_region: Mapped[str] = mapped_column(String(20))        # North, Central, South or unknown
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


class ChReturn(Base):
    """Owner: ``service.hubs``. A Communications Hub returned to the DCC, and what its triage found."""

    __tablename__ = "ch_returns"
    __table_args__ = (enum_check("triage", TriageResult), Index("ix_ch_returns_returned", "returned_at"))

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    hub_id: Mapped[str] = mapped_column(String(23))
    csp_region: Mapped[str] = mapped_column(String(20))
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    triage: Mapped[str] = mapped_column(String(20))
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triage_note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(200))


class SsiAvailabilitySpan(Base):
    """Owner: ``service.availability``. What a probe saw of the Self-Service Interface: one row per run of equal
    results (``up`` or down) from ``started_at`` to ``ended_at``; time no probe watched is in no row (no data, not
    down). ``source``: ``probe`` (the gateway process's probe of the portal) or ``simulation``."""

    __tablename__ = "ssi_availability_spans"
    __table_args__ = (
        Index("ix_ssi_availability_ended", "ended_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    up: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(20), default="probe")
    detail: Mapped[str] = mapped_column(Text, default="")  # a down span: what the probe got (status or error)
