"""Alerts and the northbound cache (issue 11). One owner per table, named beside it.

``alerts``: every device alert ingested (from the device simulator or the API), with what became of it (routed,
throttled, unknown device, no recipient), so volumes by code, CSP region and time come from data.
``alert_volume_minutes``: those alerts counted per minute, code, CSP region and outcome (the dashboard reads it).
``alert_throttle_summaries``: the throttled alerts of one (device, code), summarised with a sequence id and a
count (DUIS ``ThrottledAlertSequenceId`` / ``ThrottledAlertCount``), so nothing vanishes unseen.
``northbound_messages``: every message on its way to a User (device alerts, DCC Alerts, Service Responses), kept
durably until the User's endpoint takes it or it expires (the northbound cache); ``priority`` is a configured
priority class's name; ``body`` is the signed DUIS message when it was made at once, else it is rendered from
``payload`` (JSON) when it is sent. ``deadline_at``: when it must be delivered by (an AD1: 60 s after the wait).
``power_outages``: each Communications Hub power loss under the power outage rule, with its AD1 and restoration.
``alert_deadline_breaches``: every deadline missed, with its cause.
``service_broadcasts``: the DCC Service Alerts broadcast the portal shows (seed 004: Alert Broadcast Refresh).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gbsmart.alerts.enums import AlertOutcome, BroadcastSeverity, OutageScope, OutageState, OutboundKind
from gbsmart.core.db import Base, UTCDateTime, enum_check

_ID = BigInteger().with_variant(Integer(), "sqlite")


class Alert(Base):
    """Owner: ``alerts.intake``."""

    __tablename__ = "alerts"
    __table_args__ = (
        enum_check("outcome", AlertOutcome),
        Index("ix_alerts_received", "received_at"),
        Index("ix_alerts_code_received", "code", "received_at"),
        Index("ix_alerts_device_received", "device_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(23))           # EUI-64 with dashes, upper case
    code: Mapped[str] = mapped_column(String(8))                 # GBCS alert code, hex upper case: "8F3E"
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)   # when the device raised it
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)   # when the DCC took it
    source: Mapped[str] = mapped_column(String(20))              # "simulator" or "api:<source name>"
    csp_region: Mapped[str | None] = mapped_column(String(20))   # the device's CSP Region, when known
    outcome: Mapped[str] = mapped_column(String(20))
    recipients: Mapped[int] = mapped_column(Integer, default=0)  # northbound messages made for it
    throttle_sequence_id: Mapped[int | None] = mapped_column(BigInteger)  # its summary, when throttled
    detail: Mapped[str] = mapped_column(Text, default="")


class AlertVolumeMinute(Base):
    """Owner: ``alerts.rollup`` (written by ``alerts.intake`` with the alerts). Device alerts received per UTC
    minute, code, CSP Region (``""``: not known) and outcome: what the dashboard's volumes read."""

    __tablename__ = "alert_volume_minutes"

    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    csp_region: Mapped[str] = mapped_column(String(20), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20), primary_key=True)
    alerts: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertThrottleSummary(Base):
    """Owner: ``alerts.throttle``."""

    __tablename__ = "alert_throttle_summaries"
    __table_args__ = (Index("ix_alert_throttle_device_code", "device_id", "code"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    sequence_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    device_id: Mapped[str] = mapped_column(String(23))
    code: Mapped[str] = mapped_column(String(8))
    count: Mapped[int] = mapped_column(Integer)                  # alerts throttled into it
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    emitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when its summary alert was queued


class NorthboundMessage(Base):
    """Owner: ``alerts.northbound``."""

    __tablename__ = "northbound_messages"
    __table_args__ = (
        enum_check("kind", OutboundKind),
        Index("ix_northbound_pending", "delivered_at", "expired_at", "user_id"),
        Index("ix_northbound_user_created", "user_id", "created_at"),
        Index("ix_northbound_deadline", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(120), unique=True)  # also X-DUIS-Response-ID when POSTed
    user_id: Mapped[str] = mapped_column(String(23))             # the DCC User ID it goes to
    kind: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(40))            # a configured priority class's name
    code: Mapped[str] = mapped_column(String(8), default="")     # GBCS alert code, DCC Alert code ("AD1") or E/I code
    alert_id: Mapped[int | None] = mapped_column(BigInteger)     # the ingested device alert, when it is one
    payload: Mapped[str] = mapped_column(Text, default="{}")     # JSON the renderer of its kind turns into the body
    body: Mapped[bytes | None] = mapped_column(LargeBinary)      # the signed DUIS message, once made
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)    # kept at least until then (device alerts: 2 days)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)   # expired undelivered: reported, not dropped
    expiry_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PowerOutage(Base):
    """Owner: ``alerts.outage``."""

    __tablename__ = "power_outages"
    __table_args__ = (
        enum_check("state", OutageState),
        enum_check("scope", OutageScope),
        Index("ix_power_outages_state", "state"),
        Index("ix_power_outages_hub_lost", "comms_hub_id", "lost_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    comms_hub_id: Mapped[str] = mapped_column(String(23))
    mpxn: Mapped[str | None] = mapped_column(String(20))         # the premises' MPAN, when registered
    distributor: Mapped[str | None] = mapped_column(String(23))  # the Electricity Distributor's User ID
    state: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str | None] = mapped_column(String(20))        # isolated or wide-area, once the window closes
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_at: Mapped[datetime] = mapped_column(UTCDateTime)
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ad1_due_at: Mapped[datetime] = mapped_column(UTCDateTime)    # lost_at + wait + deadline
    ad1_message_id: Mapped[str | None] = mapped_column(String(120))
    ad1_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restoration_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    restoration_message_id: Mapped[str | None] = mapped_column(String(120))
    restoration_delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertDeadlineBreach(Base):
    """Owner: ``alerts.outage`` (deadlines) with ``alerts.northbound`` (delivery times)."""

    __tablename__ = "alert_deadline_breaches"
    __table_args__ = (Index("ix_alert_breaches_recorded", "recorded_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(120))
    what: Mapped[str] = mapped_column(String(40))                # e.g. "AD1 Power Outage Event"
    subject: Mapped[str] = mapped_column(String(40))             # e.g. the Communications Hub's ID
    user_id: Mapped[str] = mapped_column(String(23))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cause: Mapped[str] = mapped_column(Text)                     # plain English: why it was late
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceBroadcast(Base):
    """Owner: ``alerts.broadcasts``."""

    __tablename__ = "service_broadcasts"
    __table_args__ = (enum_check("severity", BroadcastSeverity), Index("ix_service_broadcasts_starts", "starts_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(12))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
