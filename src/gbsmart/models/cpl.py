"""The Central Products List as SECAS keeps it: Device Models, assurance certificates, technical specification
and GBCS versions, CPL entries (fields (a)-(h)) with their timeline, submissions and their validation failures,
CPA expiry notices and scheduled removals.

Sources: DOMAIN.md section 4; seed 004 ("Certified Product List (CPL) Challenges", SECAS); seed 000 section 3.5
(the L+G GSME removal with three more months for Suppliers).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.cpl.enums import (
    CertificateKind,
    EntryStatus,
    NoticeKind,
    PhysicalDeviceType,
    SubmissionKind,
    SubmissionStatus,
)
from gbsmart.models.parties import Organisation


class TechnicalSpecification(Base):
    """A version of SMETS1, SMETS2 or CHTS, which may be end-dated."""

    __tablename__ = "cpl_technical_specifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20), nullable=False)
    version: Mapped[str] = mapped_column(String(20), nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    __table_args__ = (UniqueConstraint("name", "version"),)

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


class GbcsVersion(Base):
    """A version of the Great Britain Companion Specification, which may be end-dated (seed 004, GBCS v1.1)."""

    __tablename__ = "cpl_gbcs_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    @property
    def label(self) -> str:
        return f"GBCS v{self.version}"


class DeviceModel(Base):
    """Manufacturer, model, hardware version and firmware version (SEC A1 'Device Model')."""

    __tablename__ = "cpl_device_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    hardware_version: Mapped[str] = mapped_column(String(50), nullable=False)
    firmware_version: Mapped[str] = mapped_column(String(50), nullable=False)
    physical_device_type: Mapped[str] = mapped_column(String(20), nullable=False)

    __table_args__ = (
        UniqueConstraint("manufacturer", "model", "hardware_version", "firmware_version"),
        enum_check("physical_device_type", PhysicalDeviceType),
    )

    @property
    def label(self) -> str:
        return f"{self.manufacturer} {self.model} (HW {self.hardware_version}, FW {self.firmware_version})"


entry_certificates = Table(
    "cpl_entry_certificates",
    Base.metadata,
    Column("entry_id", ForeignKey("cpl_entries.id", ondelete="CASCADE"), primary_key=True),
    Column("certificate_id", ForeignKey("cpl_certificates.id"), primary_key=True),
)


class Certificate(Base):
    """A ZigBee, DLMS or CPA Assurance Certificate; only CPA certificates expire (seed 004)."""

    __tablename__ = "cpl_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    number: Mapped[str] = mapped_column(String(80), nullable=False)
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    firmware_version: Mapped[str | None] = mapped_column(String(50), nullable=True)
    expiry_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    conditional: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    conditional_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    entries: Mapped[list[CplEntry]] = relationship(secondary=entry_certificates, back_populates="certificates")

    __table_args__ = (UniqueConstraint("kind", "number"), enum_check("kind", CertificateKind))

    @property
    def expiry_label(self) -> str:
        """CPA certificates issued from 2022 carry a 'renewal date' rather than an 'expiry date' (DOMAIN.md 4)."""
        return "Renewal date" if self.issued_on and self.issued_on.year >= 2022 else "Expiry date"


class CplEntry(Base):
    """One Device Model on the CPL with fields (a)-(h), its status and its submitter."""

    __tablename__ = "cpl_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_model_id: Mapped[int] = mapped_column(ForeignKey("cpl_device_models.id"), unique=True, nullable=False)
    release_notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    technical_specification_id: Mapped[int] = mapped_column(ForeignKey("cpl_technical_specifications.id"),
                                                            nullable=False)
    gbcs_version_id: Mapped[int | None] = mapped_column(ForeignKey("cpl_gbcs_versions.id"), nullable=True)
    cpa_expiry: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    image_creator: Mapped[str | None] = mapped_column(String(200), nullable=True)
    image_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # signed: the submission was digitally signed (CPL Requirements 2(h)). An entry approved from a submission keeps
    # its DER signature and the signer's PEM certificates, checked when submitted (cpl/signatures.py); an entry
    # loaded as already listed (CPL sheet, demo without a PKI) may be signed=True with no signature: "signed, as
    # recorded".
    signed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    signer_certificates: Mapped[str | None] = mapped_column(Text, nullable=True)
    mapping_evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    smets1: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    status_since: Mapped[date] = mapped_column(Date, nullable=False)
    submitter_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    submitter_name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    device_model: Mapped[DeviceModel] = relationship(lazy="joined")
    technical_specification: Mapped[TechnicalSpecification] = relationship(lazy="joined")
    gbcs_version: Mapped[GbcsVersion | None] = relationship(lazy="joined")
    submitter_org: Mapped[Organisation | None] = relationship()
    certificates: Mapped[list[Certificate]] = relationship(
        secondary=entry_certificates, back_populates="entries", order_by="Certificate.kind", lazy="selectin")
    events: Mapped[list[CplEntryEvent]] = relationship(
        back_populates="entry", order_by="CplEntryEvent.seq", cascade="all, delete-orphan")
    notices: Mapped[list[ExpiryNotice]] = relationship(
        back_populates="entry", order_by="ExpiryNotice.sent_on", cascade="all, delete-orphan")
    removals: Mapped[list[ScheduledRemoval]] = relationship(
        back_populates="entry", order_by="ScheduledRemoval.id", cascade="all, delete-orphan")

    __table_args__ = (enum_check("status", EntryStatus),)

    @property
    def ordered_certificates(self) -> list[Certificate]:
        """ZigBee, then DLMS, then CPA."""
        order = [k.value for k in CertificateKind]
        return sorted(self.certificates, key=lambda c: (order.index(c.kind), c.number))

    def certificate(self, kind: str) -> Certificate | None:
        return next((c for c in self.certificates if c.kind == kind), None)


class CplEntryEvent(Base):
    """A line of an entry's human-readable timeline; status changes carry from/to (the status history)."""

    __tablename__ = "cpl_entry_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("cpl_entries.id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    happened_on: Mapped[date] = mapped_column(Date, nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    reference: Mapped[str | None] = mapped_column(String(300), nullable=True)

    entry: Mapped[CplEntry] = relationship(back_populates="events")

    __table_args__ = (
        UniqueConstraint("entry_id", "seq"),
        enum_check("from_status", EntryStatus),
        enum_check("to_status", EntryStatus),
    )


class Submission(Base):
    """A CPL submission (new entry or firmware update): submitted, then validated or refused, then approved."""

    __tablename__ = "cpl_submissions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, index=True)
    manufacturer: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    hardware_version: Mapped[str] = mapped_column(String(50), nullable=False)
    firmware_version: Mapped[str] = mapped_column(String(50), nullable=False)
    physical_device_type: Mapped[str] = mapped_column(String(20), nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    signed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # it carries a signature
    signature: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # DER ECDSA P-256/SHA-256
    signer_certificates: Mapped[str | None] = mapped_column(Text, nullable=True)  # PEM: signer's, then intermediates
    submitter_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    submitter_name: Mapped[str] = mapped_column(String(200), nullable=False)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("cpl_entries.id"), nullable=True)

    failures: Mapped[list[ValidationFailure]] = relationship(
        back_populates="submission", order_by="ValidationFailure.id", cascade="all, delete-orphan")
    submitter_org: Mapped[Organisation | None] = relationship()

    __table_args__ = (enum_check("kind", SubmissionKind), enum_check("status", SubmissionStatus))

    @property
    def label(self) -> str:
        return f"{self.manufacturer} {self.model} (HW {self.hardware_version}, FW {self.firmware_version})"


class ValidationFailure(Base):
    """Why a submission was refused: the field, the rule and a message that cites its source."""

    __tablename__ = "cpl_validation_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("cpl_submissions.id", ondelete="CASCADE"), nullable=False)
    field: Mapped[str] = mapped_column(String(60), nullable=False)
    rule: Mapped[str] = mapped_column(String(60), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)

    submission: Mapped[Submission] = relationship(back_populates="failures")


class ExpiryNotice(Base):
    """A 12- or 6-month CPA expiry notice sent to the submitter, recorded once per entry, kind and expiry date."""

    __tablename__ = "cpl_expiry_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("cpl_entries.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    cpa_expiry: Mapped[date] = mapped_column(Date, nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    sent_on: Mapped[date] = mapped_column(Date, nullable=False)
    recipient: Mapped[str] = mapped_column(String(200), nullable=False)

    entry: Mapped[CplEntry] = relationship(back_populates="notices")

    __table_args__ = (UniqueConstraint("entry_id", "kind", "cpa_expiry"), enum_check("kind", NoticeKind))


class ScheduledRemoval(Base):
    """A removal the Panel decided (minute cited), effective on a date, optionally after a grace period."""

    __tablename__ = "cpl_scheduled_removals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("cpl_entries.id", ondelete="CASCADE"), nullable=False)
    minute_reference: Mapped[str] = mapped_column(String(300), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    to_status: Mapped[str] = mapped_column(String(12), nullable=False)
    effective_on: Mapped[date] = mapped_column(Date, nullable=False)
    grace_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    takes_effect_on: Mapped[date] = mapped_column(Date, nullable=False)
    decided_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    entry: Mapped[CplEntry] = relationship(back_populates="removals")

    __table_args__ = (
        Index("ix_cpl_scheduled_removals_pending", "applied_at", "takes_effect_on"),
        enum_check("to_status", EntryStatus),
    )
