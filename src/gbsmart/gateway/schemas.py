"""API shapes of the gateway's messages, TRT summary and certificates (read-only: the gateway writes messages)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from gbsmart.core.types import Line, Text
from gbsmart.gateway.enums import MessageState, TrtClass, TrtOutcome


class MessageRead(BaseModel):
    """One DUIS request and what became of it, with its times against its Target Response Time."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    request_id: Line
    originator: Line
    target: Line
    counter: int
    srv: Line
    command_variant: int
    service: Line
    state: MessageState
    code: Line
    explanation: Text
    trt_class: TrtClass | None
    received_at: datetime
    answered_at: datetime | None
    due_at: datetime | None
    completed_at: datetime | None
    delivered_at: datetime | None
    trt_outcome: TrtOutcome


class MessagePage(BaseModel):
    items: list[MessageRead]
    next_cursor: str | None


class TrtSummaryRead(BaseModel):
    trt_class: TrtClass
    label: Line
    trt_seconds: float
    messages: int
    met: int
    missed: int
    pending: int
    within_percent: float | None


class CertificateRead(BaseModel):
    user_id: Line
    serial: Line  # a 20-octet serial does not fit a JSON number every client reads exactly
    issuer: Line
    subject: Line
    valid_from: datetime
    valid_to: datetime
