"""Anomaly Detection Thresholds, the requests they quarantine, the warnings and DCC Alerts they raise.

``adt_thresholds`` holds a User's warning and quarantine thresholds per Service Request Variant and period
(set by a signed ADT file, or by the DCC with the CLI); ``adt_dcc_thresholds`` the DCC-wide quarantine threshold
per variant, across all Users. The gateway counts in memory (``gateway.adt``); these tables are read at start
and at each refresh. ``gateway_quarantine`` keeps each quarantined request with its body until a Senior or
Authorised Responsible Officer's signed action file releases or deletes it; ``adt_warnings`` one row per
(User, SRV, period) whose warning threshold was crossed; ``dcc_alerts`` the DCC Alerts raised, recorded for the
alert delivery to send (``delivered_at`` empty until then). ``responsible_officer_certificates`` are the
certificates whose keys sign action files, each held by a person.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.gateway.enums import AdtBreach, DccAlertKind, QuarantineStatus

_ID = BigInteger().with_variant(Integer(), "sqlite")


class AdtThreshold(Base):
    __tablename__ = "adt_thresholds"
    __table_args__ = (UniqueConstraint("user_id", "srv"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(23))             # the DCC User ID, EUI-64 with dashes
    srv: Mapped[str] = mapped_column(String(12))
    period_seconds: Mapped[int] = mapped_column(Integer)
    warning: Mapped[int | None] = mapped_column(Integer)         # more requests than this in a period: warned
    quarantine: Mapped[int | None] = mapped_column(Integer)      # more than this: quarantined
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(200))             # who set it (a person, or "ADT file <sha256>")
    file_sha256: Mapped[str | None] = mapped_column(String(64))  # the signed ADT file it came from


class AdtDccThreshold(Base):
    __tablename__ = "adt_dcc_thresholds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    srv: Mapped[str] = mapped_column(String(12), unique=True)
    period_seconds: Mapped[int] = mapped_column(Integer)
    quarantine: Mapped[int] = mapped_column(Integer)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(200))


class AdtWarning(Base):
    __tablename__ = "adt_warnings"
    __table_args__ = (UniqueConstraint("user_id", "srv", "period_start"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(23))
    srv: Mapped[str] = mapped_column(String(12))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_seconds: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(80))          # the request that crossed it
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuarantinedRequest(Base):
    __tablename__ = "gateway_quarantine"
    __table_args__ = (
        enum_check("breach", AdtBreach),
        enum_check("status", QuarantineStatus),
        UniqueConstraint("originator", "counter"),
        Index("ix_gateway_quarantine_status", "status"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(80))
    originator: Mapped[str] = mapped_column(String(23))
    counter: Mapped[int] = mapped_column(BigInteger)
    srv: Mapped[str] = mapped_column(String(12))
    service: Mapped[str] = mapped_column(String(8))
    log_seq: Mapped[int] = mapped_column(BigInteger)             # also the DCC Alert's QuarantineEventRef
    breach: Mapped[str] = mapped_column(String(8))
    threshold: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)                  # the request's place in its period
    status: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)                      # the signed request as received (UTF-8 XML)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    actioned_by: Mapped[str | None] = mapped_column(String(200))  # the officer whose key signed the action file
    action_file_sha256: Mapped[str | None] = mapped_column(String(64))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DccAlert(Base):
    __tablename__ = "dcc_alerts"
    __table_args__ = (enum_check("kind", DccAlertKind), Index("ix_dcc_alerts_user_raised", "user_id", "raised_at"))

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(23))             # to whom it goes
    request_id: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[str] = mapped_column(Text)                    # e.g. "ADUserThresholdBreach QuarantineEventRef 17"
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # empty: recorded, not yet delivered


class ResponsibleOfficerCertificate(Base):
    __tablename__ = "responsible_officer_certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the DER certificate, hex
    certificate_pem: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
