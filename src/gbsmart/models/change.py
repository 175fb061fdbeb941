"""Proposals and their timeline, documents, consultation responses, Change Board votes, releases, impacts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gbsmart.change.enums import Consultation, ProposalPath, ProposalState, Route, Vote, VotingCategory
from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.models.parties import Organisation, Person


class Release(Base):
    """A SEC Release: scheduled (February, June, November) or ad-hoc."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    release_date: Mapped[date] = mapped_column(Date, nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="scheduled")
    expected: Mapped[bool] = mapped_column(default=False, nullable=False)
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)

    proposals: Mapped[list[Proposal]] = relationship(back_populates="release", order_by="Proposal.reference")


class Proposal(Base):
    """A Draft Proposal or Modification Proposal, whichever stage it has reached."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    dp_reference: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    state: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    path: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    route: Mapped[str | None] = mapped_column(String(20), nullable=True)
    proposer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    proposer_name: Mapped[str] = mapped_column(String(200), nullable=False)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    date_raised: Mapped[date] = mapped_column(Date, nullable=False)
    problem_statement: Mapped[str] = mapped_column(Text, nullable=False, default="")
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    latest_progress: Mapped[str] = mapped_column(Text, nullable=False, default="")
    pa_status: Mapped[str | None] = mapped_column(String(50), nullable=True)
    change_board_determination: Mapped[str | None] = mapped_column(String(50), nullable=True)
    change_board_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    authority_determination: Mapped[str | None] = mapped_column(String(50), nullable=True)
    authority_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    implementation_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"), nullable=True, index=True)
    release_status: Mapped[str | None] = mapped_column(String(50), nullable=True)
    change_board_round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    consultation_round: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    proposer_org: Mapped[Organisation | None] = relationship(foreign_keys=[proposer_org_id])
    raised_by: Mapped[Person | None] = relationship(foreign_keys=[raised_by_id])
    release: Mapped[Release | None] = relationship(back_populates="proposals")
    events: Mapped[list[ProposalEvent]] = relationship(
        back_populates="proposal", order_by="ProposalEvent.seq", cascade="all, delete-orphan"
    )
    documents: Mapped[list[ProposalDocument]] = relationship(
        back_populates="proposal", order_by="ProposalDocument.id", cascade="all, delete-orphan"
    )
    impacts: Mapped[list[ProposalImpact]] = relationship(
        back_populates="proposal", order_by="ProposalImpact.id", cascade="all, delete-orphan"
    )
    interests: Mapped[list[ProposalInterest]] = relationship(
        back_populates="proposal", order_by="ProposalInterest.id", cascade="all, delete-orphan"
    )
    votes: Mapped[list[ChangeBoardVote]] = relationship(
        back_populates="proposal", order_by="ChangeBoardVote.id", cascade="all, delete-orphan"
    )
    responses: Mapped[list[ConsultationResponse]] = relationship(
        back_populates="proposal", order_by="ConsultationResponse.id", cascade="all, delete-orphan"
    )

    __table_args__ = (enum_check("state", ProposalState), enum_check("path", ProposalPath), enum_check("route", Route))


class ProposalEvent(Base):
    """One step in a proposal's life: who took it, when, why, and the minute or document that decided it."""

    __tablename__ = "proposal_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[str] = mapped_column(String(50), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(30), nullable=True)
    to_state: Mapped[str] = mapped_column(String(30), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    decided_on: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    reference: Mapped[str | None] = mapped_column(String(300), nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    proposal: Mapped[Proposal] = relationship(back_populates="events")

    __table_args__ = (
        UniqueConstraint("proposal_id", "seq"),
        enum_check("from_state", ProposalState),
        enum_check("to_state", ProposalState),
    )


class ProposalDocument(Base):
    __tablename__ = "proposal_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(80), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("proposal_events.id"), nullable=True)

    proposal: Mapped[Proposal] = relationship(back_populates="documents")


class ProposalImpact(Base):
    """A tick in the impact matrix: an affected Party group or a part of the SEC."""

    __tablename__ = "proposal_impacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), nullable=False)
    group: Mapped[str] = mapped_column(String(30), nullable=False)
    area: Mapped[str] = mapped_column(String(120), nullable=False)

    proposal: Mapped[Proposal] = relationship(back_populates="impacts")

    __table_args__ = (UniqueConstraint("proposal_id", "group", "area"),)


class ProposalInterest(Base):
    """A sub-committee's registered interest in a proposal (seeds 000 and 003)."""

    __tablename__ = "proposal_interests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), nullable=False)
    committee: Mapped[str] = mapped_column(String(30), nullable=False)
    noted_on: Mapped[date] = mapped_column(Date, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)

    proposal: Mapped[Proposal] = relationship(back_populates="interests")

    __table_args__ = (UniqueConstraint("proposal_id", "committee", "noted_on"),)


class ConsultationResponse(Base):
    """A Party's response to a Refinement or Modification Report Consultation."""

    __tablename__ = "consultation_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), nullable=False)
    consultation: Mapped[str] = mapped_column(String(30), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    respondent_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    supports: Mapped[bool | None] = mapped_column(nullable=True)
    comments: Mapped[str] = mapped_column(Text, nullable=False, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    proposal: Mapped[Proposal] = relationship(back_populates="responses")
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (
        UniqueConstraint("proposal_id", "consultation", "round", "organisation_id"),
        enum_check("consultation", Consultation),
    )


class ChangeBoardVote(Base):
    """One Party's vote in one Change Board round (SECMP0041: one vote per Party)."""

    __tablename__ = "change_board_votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    category: Mapped[str] = mapped_column(String(30), nullable=False)
    vote: Mapped[str] = mapped_column(String(20), nullable=False)
    cast_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    comment: Mapped[str] = mapped_column(Text, nullable=False, default="")

    proposal: Mapped[Proposal] = relationship(back_populates="votes")
    organisation: Mapped[Organisation] = relationship()

    __table_args__ = (
        UniqueConstraint("proposal_id", "round", "organisation_id"),
        Index("ix_change_board_votes_round", "proposal_id", "round"),
        enum_check("category", VotingCategory),
        enum_check("vote", Vote),
    )
