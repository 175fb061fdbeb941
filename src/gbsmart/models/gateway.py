"""The gateway's message journal: one row per DUIS request the gateway answered with a DUIS Response.

The durable request log (``gateway.log``, decision 0022) is the record of what was accepted; the journal is
what the portal, the CLI and the Code Performance Measures read: who sent what, to which device, what the DCC
answered and why (the plain-English explanation of a refusal), and the times a request passed through
(received, answered, completed by the device, delivered to the User) beside its Target Response Time. The
gateway writes it in batches (``gateway.journal.Journal``); refused requests are rows too (``state`` refused),
never updated. An accepted request's row carries the request log's sequence number (``log_seq``), so rows lost
in a crash are found again from the log. Requests refused before a DUIS Response (HTTP 4xx: not provably the
User's) are not journalled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.gateway.enums import MessageState, TrtClass


class GatewayMessage(Base):
    __tablename__ = "gateway_messages"
    __table_args__ = (
        enum_check("state", MessageState),
        enum_check("trt_class", TrtClass),
        Index("ix_gateway_messages_request_id", "request_id"),
        Index("ix_gateway_messages_originator_received", "originator", "received_at"),
        Index("ix_gateway_messages_target_received", "target", "received_at"),
        Index("ix_gateway_messages_log_seq", "log_seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(80))          # originator:target:counter as sent
    originator: Mapped[str] = mapped_column(String(23))          # the User ID, EUI-64 with dashes
    target: Mapped[str] = mapped_column(String(23))              # a Device ID, or the DCC's User ID
    counter: Mapped[int] = mapped_column(BigInteger)
    srv: Mapped[str] = mapped_column(String(12))                 # Service Reference Variant, e.g. 4.1.1
    command_variant: Mapped[int] = mapped_column(SmallInteger)
    service: Mapped[str] = mapped_column(String(8))              # WebService value: serviceS / serviceT / serviceD
    state: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(8))                 # the latest DUIS Response Code: I99, I0, E4 ...
    explanation: Mapped[str] = mapped_column(Text, default="")   # plain English: what was wrong, what to do
    trt_class: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)    # the synchronous answer (I99 / I0 / E..)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)         # received_at + its TRT
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)   # the device's (asynchronous) response
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)   # taken by the User's endpoint
    log_seq: Mapped[int | None] = mapped_column(BigInteger)
