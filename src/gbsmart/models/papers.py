"""Papers under the Panel Information Policy: papers, appendices, named recipients, re-classifications, RED access.

A paper's ``committee_code`` (e.g. "CSC") and ``meeting_id`` point at the committees domain by value, without a
foreign key, so papers do not depend on how committees are stored. Classification values are those of
``gbsmart.papers.enums.Classification`` (white, green, amber, red).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.models.parties import Person
from gbsmart.papers.enums import AccessChannel, Classification, PaperAction, PaperStatus


class Paper(Base):
    """A paper to the Panel or a sub-committee (seed 000: SECP_77_1402_19), with its classification."""

    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False, default="")
    action: Mapped[str] = mapped_column(String(20), nullable=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True, index=True)
    author_name: Mapped[str] = mapped_column(String(200), nullable=False)
    author_organisation: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    paper_date: Mapped[date] = mapped_column(Date, nullable=False)
    committee_code: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    meeting_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    classification: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    source: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    author: Mapped[Person | None] = relationship(foreign_keys=[author_id])
    appendices: Mapped[list[PaperAppendix]] = relationship(
        back_populates="paper", order_by="PaperAppendix.letter", cascade="all, delete-orphan"
    )
    recipients: Mapped[list[PaperRecipient]] = relationship(
        back_populates="paper", order_by="PaperRecipient.id", cascade="all, delete-orphan"
    )
    reclassifications: Mapped[list[PaperReclassification]] = relationship(
        back_populates="paper", order_by="PaperReclassification.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        enum_check("action", PaperAction),
        enum_check("status", PaperStatus),
        enum_check("classification", Classification),
    )


class PaperAppendix(Base):
    """An appendix, which may carry a stricter classification than its paper (seed 000 Appendix A is RED)."""

    __tablename__ = "paper_appendices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), nullable=False)
    letter: Mapped[str] = mapped_column(String(5), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    classification: Mapped[str] = mapped_column(String(10), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    paper: Mapped[Paper] = relationship(back_populates="appendices")

    __table_args__ = (UniqueConstraint("paper_id", "letter"), enum_check("classification", Classification))


class PaperRecipient(Base):
    """A person named as a recipient of the paper's RED material."""

    __tablename__ = "paper_recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    paper: Mapped[Paper] = relationship(back_populates="recipients")
    person: Mapped[Person] = relationship(foreign_keys=[person_id])

    __table_args__ = (UniqueConstraint("paper_id", "person_id"),)


class PaperReclassification(Base):
    """One change of classification of a paper or of one of its appendices: who, when, from, to and why."""

    __tablename__ = "paper_reclassifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), nullable=False, index=True)
    appendix_id: Mapped[int | None] = mapped_column(
        ForeignKey("paper_appendices.id", ondelete="CASCADE"), nullable=True
    )
    appendix_letter: Mapped[str | None] = mapped_column(String(5), nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    from_classification: Mapped[str] = mapped_column(String(10), nullable=False)
    to_classification: Mapped[str] = mapped_column(String(10), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    paper: Mapped[Paper] = relationship(back_populates="reclassifications")

    __table_args__ = (
        enum_check("from_classification", Classification),
        enum_check("to_classification", Classification),
    )


class RedAccessRecord(Base):
    """One access to RED material: who, when, what, and through which channel (page, API, PDF, search, export)."""

    __tablename__ = "red_access_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(80), nullable=False)
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("papers.id", ondelete="SET NULL"), nullable=True)
    paper_reference: Mapped[str] = mapped_column(String(40), nullable=False)
    appendix_letter: Mapped[str | None] = mapped_column(String(5), nullable=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    what: Mapped[str] = mapped_column(String(300), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (
        Index("ix_red_access_records_paper", "paper_reference", "at"),
        Index("ix_red_access_records_person", "person_id", "at"),
        enum_check("channel", AccessChannel),
    )
