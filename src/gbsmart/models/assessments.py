"""User Security Assessments: the assessed Users and their portfolios, assessments, findings, conditions and
remediation actions, the SSC's status decisions and Director's Letters (DOMAIN.md section 9; seeds 000, 003, 004).

An SSC decision cites the committee's minuted decision (``decisions.id``, by table name), so the meeting's minute
is the decision's reference. Everything here but the counts is RED (``assessments.access``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gbsmart.assessments.enums import (
    ActionKind,
    AssessmentKind,
    AssessmentStatus,
    ItemStatus,
    Severity,
    SscStatus,
    StatusKind,
    UserSize,
    UserType,
)
from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.models.parties import Organisation


class AssessedUser(Base):
    """A DCC User (a Party's organisation) under the assessment cycle, from its User Entry date."""

    __tablename__ = "assessed_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), unique=True, nullable=False)
    user_type: Mapped[str] = mapped_column(String(20), nullable=False)
    user_entry_date: Mapped[date] = mapped_column(Date, nullable=False)
    user_roles: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    is_shared_resource_provider: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: the Shared Resource Provider this User uses, if any (SECMP0044)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])
    provider: Mapped[Organisation | None] = relationship(foreign_keys=[provider_id])
    portfolios: Mapped[list[AssessmentPortfolio]] = relationship(
        back_populates="user", order_by="AssessmentPortfolio.as_of", cascade="all, delete-orphan")

    __table_args__ = (enum_check("user_type", UserType),)


class AssessmentPortfolio(Base):
    """The User's own portfolio from a date: what decides Large or Small (SECMP0044: its own portfolio only)."""

    __tablename__ = "assessment_portfolios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("assessed_users.id", ondelete="CASCADE"), nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    domestic_premises: Mapped[int] = mapped_column(Integer, nullable=False)
    non_domestic_premises: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    user: Mapped[AssessedUser] = relationship(back_populates="portfolios")

    __table_args__ = (UniqueConstraint("user_id", "as_of"),)


class SecurityAssessment(Base):
    """One assessment of a User: its kind, the year of the cycle it falls in, the assessor, dates and status."""

    __tablename__ = "security_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("assessed_users.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    initial: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    cycle_number: Mapped[int] = mapped_column(Integer, nullable=False)
    cycle_year: Mapped[int] = mapped_column(Integer, nullable=False)
    size: Mapped[str] = mapped_column(String(10), nullable=False)
    user_role: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    assessor: Mapped[str] = mapped_column(String(200), nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="scheduled")
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: a Follow-up's assessment
    follows_id: Mapped[int | None] = mapped_column(ForeignKey("security_assessments.id"), nullable=True)
    #: the Shared Resource Provider's assessment whose result this one reuses (SECMP0044)
    reuses_id: Mapped[int | None] = mapped_column(ForeignKey("security_assessments.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    user: Mapped[AssessedUser] = relationship()
    follows: Mapped[SecurityAssessment | None] = relationship(remote_side="SecurityAssessment.id",
                                                              foreign_keys=[follows_id])
    reuses: Mapped[SecurityAssessment | None] = relationship(remote_side="SecurityAssessment.id",
                                                             foreign_keys=[reuses_id])
    findings: Mapped[list[AssessmentFinding]] = relationship(
        back_populates="assessment", order_by="AssessmentFinding.number", cascade="all, delete-orphan")
    actions: Mapped[list[AssessmentAction]] = relationship(
        back_populates="assessment", order_by="AssessmentAction.id", cascade="all, delete-orphan")
    decisions: Mapped[list[AssessmentDecision]] = relationship(
        back_populates="assessment", order_by="AssessmentDecision.id", cascade="all, delete-orphan")

    __table_args__ = (enum_check("kind", AssessmentKind), enum_check("status", AssessmentStatus),
                      enum_check("size", UserSize))


class AssessmentFinding(Base):
    """A non-compliance the assessment identified: RED."""

    __tablename__ = "assessment_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("security_assessments.id", ondelete="CASCADE"),
                                               nullable=False)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    severity: Mapped[str] = mapped_column(String(10), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    sec_reference: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    #: about the Shared Resource Provider's part: its provider sees it too
    on_shared_resource: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    assessment: Mapped[SecurityAssessment] = relationship(back_populates="findings")

    __table_args__ = (UniqueConstraint("assessment_id", "number"), enum_check("severity", Severity),
                      enum_check("status", ItemStatus))


class AssessmentAction(Base):
    """A condition of an assurance status, or a remediation action for a finding, with its due date."""

    __tablename__ = "assessment_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("security_assessments.id", ondelete="CASCADE"),
                                               nullable=False)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("assessment_findings.id", ondelete="SET NULL"),
                                                   nullable=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="open")
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    assessment: Mapped[SecurityAssessment] = relationship(back_populates="actions")
    finding: Mapped[AssessmentFinding | None] = relationship()

    __table_args__ = (enum_check("kind", ActionKind), enum_check("status", ItemStatus))


class AssessmentDecision(Base):
    """A status the SSC set (or a review it minuted) at a meeting; ``decision_id`` is the minute."""

    __tablename__ = "assessment_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("security_assessments.id", ondelete="CASCADE"),
                                               nullable=False)
    status_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(30), nullable=False)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), nullable=False)
    meeting_reference: Mapped[str] = mapped_column(String(60), nullable=False)
    decided_on: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    assessment: Mapped[SecurityAssessment] = relationship(back_populates="decisions")

    __table_args__ = (enum_check("status_kind", StatusKind), enum_check("status", SscStatus))


class DirectorsLetter(Base):
    """A Director's Letter following an assessment, and the SSC's review of it (the minute)."""

    __tablename__ = "directors_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True, nullable=False)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("security_assessments.id", ondelete="CASCADE"),
                                               nullable=False)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reviewed_decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), nullable=True)
    reviewed_meeting: Mapped[str | None] = mapped_column(String(60), nullable=True)
    reviewed_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    assessment: Mapped[SecurityAssessment] = relationship()
