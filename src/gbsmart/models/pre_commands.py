"""The Pre-Commands the DCC issued on Transform, so that a Signed Pre-Command can be matched to one.

A critical Service Request (Command Variant 4) sent to Transform is answered with a Pre-Command
(``gateway.transform``); the User signs its GBCS payload with its command-signing key and sends it back on Send
Command as a Signed Pre-Command (Command Variants 5, 6, 7) carrying the same RequestID. One row per Pre-Command,
unique per originator and counter (the Transform request's), written before the Pre-Command is returned. The
key that signed the Transform request's DUIS XML is kept (``xml_public_key``, SubjectPublicKeyInfo DER) so that
the DP104 check (seed 001: the Pre-Command must not be signed with the DUIS XML key) covers it too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.gateway.enums import PreCommandState


class GatewayPreCommand(Base):
    __tablename__ = "gateway_pre_commands"
    __table_args__ = (
        enum_check("state", PreCommandState),
        UniqueConstraint("originator", "counter", name="uq_gateway_pre_commands_originator_counter"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(80))          # the Transform request's, as sent
    originator: Mapped[str] = mapped_column(String(23))          # the User ID
    target: Mapped[str] = mapped_column(String(23))              # the Device ID
    counter: Mapped[int] = mapped_column(BigInteger)
    service_reference: Mapped[str] = mapped_column(String(8))
    srv: Mapped[str] = mapped_column(String(12))
    gbcs_version: Mapped[str] = mapped_column(String(8))
    payload: Mapped[bytes] = mapped_column(LargeBinary)          # the Pre-Command's GBCS payload as issued
    xml_public_key: Mapped[bytes] = mapped_column(LargeBinary)   # SPKI DER of the Transform request's XML key
    state: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    command_certificate_serial: Mapped[str | None] = mapped_column(String(50))  # the key that signed it (decimal)
