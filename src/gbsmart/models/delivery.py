"""Where the DCC's asynchronous device responses go, and the responses not yet taken.

``gateway_endpoints``: each DCC User ID's registered response endpoint (one URL; ``gbsmart gateway endpoint
set``). ``gateway_responses``: every device response the simulator made (the signed DUIS Response, I0 or an
E-code), written before it is first POSTed and kept until the User's endpoint takes it (``delivered_at``), with
the attempts made, when the next one is due and why the last one failed. A response is never deleted here: a
delivered one is the record of what the User was sent. One row per accepted request (originator and counter,
like the journal; ``log_seq`` is the request log's sequence number).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gbsmart.core.db import Base, UTCDateTime


class GatewayEndpoint(Base):
    __tablename__ = "gateway_endpoints"

    user_id: Mapped[str] = mapped_column(String(23), primary_key=True)   # DCC User ID, EUI-64 with dashes
    url: Mapped[str] = mapped_column(String(2000))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GatewayResponse(Base):
    __tablename__ = "gateway_responses"
    __table_args__ = (
        UniqueConstraint("originator", "counter", name="uq_gateway_responses_originator_counter"),
        Index("ix_gateway_responses_log_seq", "log_seq"),
        Index("ix_gateway_responses_undelivered", "delivered_at", "originator"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(80))       # the request's RequestID, as sent
    response_id: Mapped[str] = mapped_column(String(80))      # the ResponseID: the same for every re-POST
    originator: Mapped[str] = mapped_column(String(23))       # the User ID the response goes to
    counter: Mapped[int] = mapped_column(BigInteger)
    log_seq: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(8))              # I0, or E20 / E21
    body: Mapped[bytes] = mapped_column(LargeBinary)          # the signed DUIS Response, as POSTed
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
