"""Pydantic models of incidents for the API, the pages and the CLI (``XCreate`` in, ``XRead`` out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gbsmart.core.types import Line, Text
from gbsmart.service.enums import AssigneeKind, IncidentStatus


class IncidentCreate(BaseModel):
    """A new incident. ``answers`` are the questions of its ``type`` (``GET /api/v1/incidents/types`` lists them)."""

    model_config = ConfigDict(extra="forbid")

    title: Line = Field(min_length=3, max_length=200, description="One line: what is wrong.")
    description: Text = Field(default="", max_length=8000, description="What happened, what was tried.")
    type: Line = Field(min_length=1, max_length=40, description="An incident type's key, e.g. wrong_ch_variant.")
    category: int = Field(description="1 (most severe) to 5: sets the Target Resolution Time.")
    answers: dict[str, Any] = Field(default_factory=dict, description="The type's questions, by key.")
    user_id: Line | None = Field(default=None, max_length=23, description="The DCC User ID affected, if one.")
    csp_region: Line | None = Field(default=None, max_length=20, description="North, Central or South, if known.")

    @field_validator("user_id", "csp_region", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class IncidentAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AssigneeKind = Field(description="dcc, service_provider or user (back to the User: the clock stops).")
    to: Line = Field(default="", max_length=200, description="Who: 'DCC Service Desk', 'CSP North' ... "
                     "(blank: the DCC Service Desk, or the User's organisation).")
    note: Text = Field(default="", max_length=4000)


class IncidentStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: IncidentStatus
    note: Text = Field(default="", max_length=4000, description="Why (a resolution needs one).")


class IncidentRecategorise(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: int
    reason: Text = Field(min_length=3, max_length=4000, description="Why the severity changed.")


class IncidentNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=8000)


class IncidentEventRead(BaseModel):
    at: datetime
    kind: str
    actor: str
    before: str | None
    after: str | None
    text: str


class IncidentRead(BaseModel):
    reference: str
    title: str
    description: str
    type: str
    type_name: str
    category: int
    category_name: str
    target: str
    status: IncidentStatus
    assignee_kind: AssigneeKind
    assignee: str
    organisation: str | None
    user_id: str | None
    csp_region: str | None
    answers: dict[str, str]
    raised_by: str
    raised_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str
    sla_running: bool
    sla_used_seconds: float
    sla_left_seconds: float
    sla_left: str
    due_at: datetime | None
    breached: bool
    events: list[IncidentEventRead] | None = None


class ExceptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measure: Line = Field(max_length=8, description="CPM1 ... CPM5 or PM2")
    ref: Line = Field(max_length=120, description="The RequestID, northbound message id or incident reference.")
    reason: Text = Field(default="", max_length=4000, description="Why it is left out (required).")
