"""API shapes of User Security Assessments: what may be sent (``*Create``) and what is returned (``*Read``)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from gbsmart.assessments.enums import (
    ActionKind,
    AssessmentKind,
    AssessmentStatus,
    Severity,
    SscStatus,
    StatusKind,
    UserType,
)
from gbsmart.core.types import Line, Text

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
_ROLES = re.compile(r"^(IS|ES|GS|ED|GT|OU|RSA)( (IS|ES|GS|ED|GT|OU|RSA))*$")


def _lower(value: Any) -> Any:
    return re.sub(r"[\s\-]+", "_", value.strip().lower()) if isinstance(value, str) else value


class _Enums(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _any_case(cls, value: Any, info: ValidationInfo) -> Any:
        return _lower(value) if info.field_name in {"user_type", "kind", "status", "severity"} else value


def _roles(value: str) -> str:
    roles = " ".join(value.replace(",", " ").upper().split())
    if roles and not _ROLES.match(roles):
        raise ValueError("User Roles are IS, ES, GS, ED, GT, OU or RSA, separated by spaces")
    return roles


class AssessedUserCreate(_Enums):
    """Put a User under the assessment cycle, with its own portfolio at User Entry."""

    model_config = _STRICT

    organisation: Line = Field(min_length=2, max_length=200, description="The Party, by name or short name.")
    user_type: UserType = Field(description="supplier, network or other")
    user_entry_date: date = Field(description="Year 1 of the cycle starts here.")
    user_roles: Line = Field(default="", max_length=40, description="IS GS ED ... (space-separated)")
    domestic_premises: int = Field(ge=0, le=100_000_000)
    non_domestic_premises: int = Field(default=0, ge=0, le=100_000_000)
    shared_resource_provider: Line | None = Field(default=None, max_length=200,
                                                  description="The Shared Resource Provider it uses, if any.")
    is_shared_resource_provider: bool = False

    @field_validator("user_roles")
    @classmethod
    def _roles_ok(cls, value: str) -> str:
        return _roles(value)


class PortfolioCreate(BaseModel):
    model_config = _STRICT

    as_of: date
    domestic_premises: int = Field(ge=0, le=100_000_000)
    non_domestic_premises: int = Field(default=0, ge=0, le=100_000_000)


class AssessmentCreate(_Enums):
    model_config = _STRICT

    user: Line = Field(min_length=2, max_length=200, description="The assessed User's organisation.")
    kind: AssessmentKind = Field(description="full, verification, self or follow_up")
    start_date: date = Field(description="When the assessment began: it decides the year of the cycle.")
    end_date: date | None = None
    assessor: Line = Field(min_length=2, max_length=200, description="The User CIO or the SECAS assessor.")
    user_role: Line = Field(default="", max_length=40, description="The User Roles assessed (default: all).")
    status: AssessmentStatus = AssessmentStatus.IN_PROGRESS
    summary: Text = Field(default="", max_length=20_000)
    follows: Line | None = Field(default=None, max_length=30, description="A Follow-up: the assessment it follows.")
    reuses: Line | None = Field(default=None, max_length=30,
                                description="The Shared Resource Provider's assessment whose result it reuses.")

    @field_validator("user_role")
    @classmethod
    def _role_ok(cls, value: str) -> str:
        return _roles(value)

    @model_validator(mode="after")
    def _dates(self) -> AssessmentCreate:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.kind == AssessmentKind.FOLLOW_UP and not self.follows:
            raise ValueError("a Follow-up Security Assessment names the assessment it follows (follows)")
        if self.kind != AssessmentKind.FOLLOW_UP and self.follows:
            raise ValueError("only a Follow-up Security Assessment follows another assessment")
        return self


class FindingCreate(_Enums):
    model_config = _STRICT

    severity: Severity = Field(description="minor, medium or major")
    text: Text = Field(min_length=3, max_length=5000)
    sec_reference: Line = Field(default="", max_length=50, description="The SEC obligation, e.g. G5.14")
    on_shared_resource: bool = Field(default=False, description="About the Shared Resource Provider's part.")


class ActionCreate(BaseModel):
    model_config = _STRICT

    kind: ActionKind
    text: Text = Field(min_length=3, max_length=5000)
    due_date: date
    finding: int | None = Field(default=None, ge=1, le=10_000, description="The finding's number, for remediation.")

    @field_validator("kind", mode="before")
    @classmethod
    def _k(cls, value: Any) -> Any:
        return _lower(value)


class DecisionCreate(_Enums):
    """The SSC sets a status at a meeting: minuted there, under an agenda item."""

    model_config = _STRICT

    meeting: Line = Field(min_length=2, max_length=20, description="The SSC meeting's reference, e.g. 74_2201.")
    agenda_item: Line = Field(min_length=1, max_length=10, description="The item number, e.g. 4 or 4.2.")
    status: SscStatus = Field(description="approved, approved_with_conditions, deferred, rejected, compliant, "
                                          "compliant_with_remediation, non_compliant or reviewed")


class LetterCreate(BaseModel):
    model_config = _STRICT

    assessment: Line = Field(min_length=2, max_length=30, description="The assessment the letter follows.")
    received_on: date
    summary: Text = Field(default="", max_length=20_000)


class LetterReview(BaseModel):
    model_config = _STRICT

    meeting: Line = Field(min_length=2, max_length=20)
    agenda_item: Line = Field(min_length=1, max_length=10)


# ---------------------------------------------------------------- output


class FindingRead(BaseModel):
    number: int
    severity: Severity
    text: str
    sec_reference: str
    on_shared_resource: bool
    status: str
    closed_on: date | None


class ActionRead(BaseModel):
    id: int
    kind: ActionKind
    text: str
    due_date: date
    finding: int | None
    status: str
    closed_on: date | None
    overdue: bool


class DecisionRead(BaseModel):
    status_kind: StatusKind
    status: SscStatus
    meeting: str
    decided_on: date


class AssessmentRead(BaseModel):
    reference: str
    user: str
    kind: AssessmentKind
    kind_label: str
    initial: bool
    cycle_number: int
    cycle_year: int
    size: str
    user_role: str
    assessor: str
    start_date: date
    end_date: date | None
    status: AssessmentStatus
    follows: str | None
    reuses: str | None
    summary: str
    #: False for a Shared Resource Provider reading a served User's assessment: only its findings on the resource
    whole: bool
    findings: list[FindingRead]
    actions: list[ActionRead]
    decisions: list[DecisionRead]


class LetterRead(BaseModel):
    reference: str
    assessment: str
    received_on: date
    summary: str
    reviewed_meeting: str | None
    reviewed_on: date | None
