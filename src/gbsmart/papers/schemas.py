"""Pydantic models of the papers API: what a paper, an appendix, a re-classification and a report request look like."""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from gbsmart.core.types import DbId, Line, Text
from gbsmart.papers.enums import AccessChannel, Classification, PaperAction, PaperStatus

#: words the paper URLs use for themselves, so no paper may take them as its reference
RESERVED_REFERENCES = frozenset({"NEW", "COUNT", "EXPORT", "EXPORT.CSV", "REPORTS"})
REFERENCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{2,39}$")
LETTER_RE = re.compile(r"^[A-Z]{1,2}$")


def _reference(value: str) -> str:
    value = value.strip()
    if not REFERENCE_RE.fullmatch(value):
        raise ValueError("use 3 to 40 letters, digits, '_' or '-', like SECP_77_1402_19")
    if value.upper() in RESERVED_REFERENCES:
        raise ValueError(f"{value!r} is reserved; choose another reference")
    return value


class PaperCreate(BaseModel):
    reference: Line = Field(..., description="e.g. SECP_77_1402_19")
    title: Line = Field(..., min_length=3, max_length=300)
    purpose: Text = Field("", max_length=5000)
    action: PaperAction = PaperAction.FOR_INFORMATION
    author: Line | None = Field(None, description="Username of the author (default: you)")
    author_organisation: Line | None = Field(None, max_length=200, description="Default: the author's organisation")
    paper_date: date | None = Field(None, description="Default: today")
    committee_code: Line | None = Field(None, max_length=30, description='e.g. "CSC", "SSC"')
    meeting_id: DbId | None = None
    body: Text = Field("", description="Markdown")
    classification: Classification = Classification.GREEN
    recipients: list[Line | DbId] = Field(default_factory=list, description="Named recipients: usernames or ids")

    _ref = field_validator("reference")(_reference)

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        v = v.strip()
        if len(v) < 3:
            raise ValueError("give the paper a title of at least 3 characters")
        return v


class PaperUpdate(BaseModel):
    """Changes to a draft paper; fields left out stay as they are."""

    title: Line | None = Field(None, min_length=3, max_length=300)
    purpose: Text | None = Field(None, max_length=5000)
    action: PaperAction | None = None
    author_organisation: Line | None = Field(None, max_length=200)
    paper_date: date | None = None
    committee_code: Line | None = Field(None, max_length=30)
    meeting_id: DbId | None = None
    body: Text | None = None


class AppendixCreate(BaseModel):
    letter: Line | None = Field(None, description="A, B, ... (default: the next letter)")
    title: Line = Field(..., min_length=3, max_length=300)
    body: Text = Field("", description="Markdown")
    classification: Classification

    @field_validator("letter")
    @classmethod
    def _letter(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        v = v.strip().upper()
        if not LETTER_RE.fullmatch(v):
            raise ValueError("an appendix letter is A to Z (or AA to ZZ)")
        return v


class ReclassifyRequest(BaseModel):
    classification: Classification
    reason: Text = Field("", max_length=5000, description="Required when lowering the classification")
    appendix: Line | None = Field(None, description="Re-classify this appendix instead of the paper")


class RecipientsUpdate(BaseModel):
    add: list[Line | DbId] = Field(default_factory=list, description="Usernames or person ids to name")
    remove: list[Line | DbId] = Field(default_factory=list, description="Usernames or person ids to remove")


class ReportRequest(BaseModel):
    period_start: date
    period_end: date
    reference: Line | None = None
    classification: Classification = Classification.GREEN

    @field_validator("reference")
    @classmethod
    def _ref(cls, v: str | None) -> str | None:
        return _reference(v) if v and v.strip() else None

    @model_validator(mode="after")
    def _period(self) -> ReportRequest:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        return self


class AppendixSummary(BaseModel):
    letter: str
    title: str
    classification: Classification


class AppendixRead(AppendixSummary):
    paper_reference: str
    effective_classification: Classification
    body: str


class ReclassificationRead(BaseModel):
    at: datetime
    by: str
    appendix: str | None
    from_classification: Classification
    to_classification: Classification
    reason: str


class PaperSummary(BaseModel):
    reference: str
    title: str
    classification: Classification
    action: PaperAction
    status: PaperStatus
    author: str
    author_organisation: str
    paper_date: date
    committee_code: str | None
    appendices: list[AppendixSummary]


class PaperRead(PaperSummary):
    purpose: str
    meeting_id: int | None
    body: str
    marking: Classification = Field(..., description="The strictest classification of what you were given")
    issued_at: datetime | None
    appendices: list[AppendixRead]  # type: ignore[assignment]
    recipients: list[str] | None = Field(None, description="Shown to the author, Code Administrators and RED holders")
    reclassifications: list[ReclassificationRead]


class PaperPage(BaseModel):
    """One page of the papers you may see, newest first."""

    items: list[PaperSummary]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null on the last page")


class PaperCounts(BaseModel):
    papers: dict[str, int]
    appendices: dict[str, int]
    total: int


class AccessRecordRead(BaseModel):
    """One access to RED material of a paper: who, when, what and how."""

    at: datetime
    username: str
    name: str = Field(..., description="The person's full name")
    organisation: str | None = Field(None, description="The person's organisation (as it is now)")
    what: str = Field(..., description='e.g. "SECP_77_1402_19 Appendix A"')
    appendix: str | None = Field(None, description="The appendix letter; null for the paper itself")
    channel: AccessChannel = Field(..., description="page, api, pdf, search, export or cli")
    request_id: str | None = None


class AccessLogPage(BaseModel):
    reference: str
    items: list[AccessRecordRead] = Field(..., description="Newest first")
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next (older) page")
