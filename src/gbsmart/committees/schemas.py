"""API shapes for committees, meetings, minutes, decisions and actions."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gbsmart.change.enums import Route
from gbsmart.committees.enums import ActionStatus, AttendeeRole, CommitteeKind, DecisionWord, MeetingStatus
from gbsmart.core.types import DbId, Line, Text
from gbsmart.parties.enums import PartyCategory

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _lower(value: Any) -> Any:
    return re.sub(r"[\s\-]+", "_", value.strip().lower()) if isinstance(value, str) else value


# ---------------------------------------------------------------- input


class CommitteeCreate(BaseModel):
    model_config = _STRICT

    code: Line = Field(min_length=2, max_length=30, pattern=r"^[A-Za-z][A-Za-z0-9 ]*$", examples=["CSC"])
    name: Line = Field(min_length=3, max_length=200, examples=["Change Sub-Committee"])
    kind: CommitteeKind = CommitteeKind.SUB_COMMITTEE
    quorum: int = Field(default=3, ge=1, le=100, description="Members present for the meeting to be quorate.")
    process_role: Line | None = Field(default=None, max_length=30,
                                     description="The role it holds in the change process, e.g. committee_member.")
    organisation: Line | None = Field(default=None, description="The organisation record of the committee, if any.")
    description: Text = Field(default="", max_length=5000)


class CommitteeUpdate(BaseModel):
    model_config = _STRICT

    name: Line | None = Field(default=None, min_length=3, max_length=200)
    quorum: int | None = Field(default=None, ge=1, le=100)
    process_role: Line | None = Field(default=None, max_length=30)
    description: Text | None = Field(default=None, max_length=5000)


class MemberCreate(BaseModel):
    model_config = _STRICT

    person: Line = Field(min_length=1, max_length=200, description="A username or full name.")
    represents: Line = Field(default="", max_length=200, examples=["Large Suppliers", "DCC"])
    party_category: PartyCategory | None = None
    organisation: Line | None = Field(default=None, max_length=200)
    alternate_for: Line | None = Field(default=None, max_length=200,
                                      description="The member (username or full name) this person is alternate of.")
    is_chair: bool = False
    is_secretary: bool = False
    from_date: date | None = None
    to_date: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> MemberCreate:
        if self.from_date and self.to_date and self.to_date < self.from_date:
            raise ValueError("to_date is before from_date")
        return self


class MeetingCreate(BaseModel):
    model_config = _STRICT

    number: int | None = Field(default=None, ge=1, le=9999, description="Default: one after the last meeting.")
    meeting_date: date
    start_time: time | None = None
    end_time: time | None = None
    venue: Line = Field(default="", max_length=300)
    status: MeetingStatus = MeetingStatus.SCHEDULED

    @model_validator(mode="after")
    def _times_in_order(self) -> MeetingCreate:
        if self.start_time and self.end_time and self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class MeetingUpdate(BaseModel):
    model_config = _STRICT

    start_time: time | None = None
    end_time: time | None = None
    venue: Line | None = Field(default=None, max_length=300)
    status: MeetingStatus | None = None


class AttendeeCreate(BaseModel):
    model_config = _STRICT

    person: Line | None = Field(default=None, max_length=200, description="A username or full name, if known.")
    name: Line | None = Field(default=None, max_length=200, description="The name as minuted (default the person's).")
    representing: Line = Field(default="", max_length=200, examples=["Large Suppliers", "SECAS"])
    party_category: PartyCategory | None = None
    role: AttendeeRole = AttendeeRole.MEMBER
    teleconference: bool = False

    @field_validator("role", mode="before")
    @classmethod
    def _role_any_case(cls, value: Any) -> Any:
        return _lower(value)

    @model_validator(mode="after")
    def _someone(self) -> AttendeeCreate:
        if not (self.person or self.name):
            raise ValueError("give the person (username or name) or the name as minuted")
        return self


class ApologyCreate(BaseModel):
    model_config = _STRICT

    person: Line | None = Field(default=None, max_length=200)
    name: Line | None = Field(default=None, max_length=200)
    representing: Line = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _someone(self) -> ApologyCreate:
        if not (self.person or self.name):
            raise ValueError("give the person (username or name) or the name as minuted")
        return self


class DecisionCreate(BaseModel):
    """'The CSC AGREED this Draft Proposal is ready to be converted ...': the word, the rest, and what it acts on."""

    model_config = _STRICT

    word: DecisionWord = Field(description="agreed, recommended, noted or approved")
    text: Text = Field(min_length=3, max_length=5000, examples=["further development is required to define and "
                                                                "understand the issue"])
    proposal: Line | None = Field(default=None, max_length=20, description="DP094, MP102 ...")
    step: Line | None = Field(default=None, max_length=50,
                             description="The change-process step it takes; default inferred from the wording.")
    route: Route | None = Field(default=None, description="For ready_to_convert: refinement or report_phase.")
    take_step: bool = Field(default=True, description="False: minute the decision without taking any step.")

    @field_validator("word", "route", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return _lower(value)


class MinuteDecisionCreate(DecisionCreate):
    agenda_item: Line = Field(min_length=1, max_length=10, description="The item number, e.g. 3 or 3.5.")


class AgendaItemCreate(BaseModel):
    model_config = _STRICT

    number: int | None = Field(default=None, ge=1, le=999, description="Default: the next item number.")
    sub: int = Field(default=0, ge=0, le=999, description="0 for the item; 1, 2 ... for headings within it.")
    title: Line = Field(min_length=2, max_length=300)
    discussion: Text = Field(default="", max_length=50000)
    proposals: list[Line] = Field(default_factory=list, max_length=50)
    paper_id: DbId | None = Field(default=None, ge=1)
    decisions: list[DecisionCreate] = Field(default_factory=list, max_length=20)


class ActionCreate(BaseModel):
    model_config = _STRICT

    committee: Line = Field(min_length=2, max_length=30)
    meeting: Line = Field(min_length=1, max_length=20, description="The meeting raising it: 11_2801 or its number.")
    agenda_item: Line | None = Field(default=None, max_length=10)
    owner: Line = Field(min_length=2, max_length=200, examples=["DCC", "SECAS"])
    owner_organisation: Line | None = Field(default=None, max_length=200)
    owner_person: Line | None = Field(default=None, max_length=200)
    text: Text = Field(min_length=5, max_length=5000)
    due_date: date | None = None


class ActionUpdateCreate(BaseModel):
    model_config = _STRICT

    text: Text = Field(min_length=3, max_length=5000)
    status: ActionStatus = ActionStatus.OPEN
    meeting: Line | None = Field(default=None, max_length=20, description="The meeting it was given at, e.g. 12_2502.")
    recorded_on: date | None = Field(default=None, description="Default: the meeting's date, else today.")

    @field_validator("status", mode="before")
    @classmethod
    def _status_any_case(cls, value: Any) -> Any:
        return _lower(value)


# ---------------------------------------------------------------- output


class MemberRead(BaseModel):
    id: int
    person: str
    username: str
    represents: str
    party_category: str | None
    organisation: str | None
    alternate_for: str | None
    is_chair: bool
    is_secretary: bool
    from_date: date | None
    to_date: date | None
    current: bool


class MeetingSummary(BaseModel):
    committee: str
    reference: str
    number: int
    meeting_date: date
    start_time: time | None
    end_time: time | None
    venue: str
    status: MeetingStatus
    minutes_status: str
    url: str


class CommitteeSummary(BaseModel):
    code: str
    slug: str
    name: str
    kind: CommitteeKind
    quorum: int
    member_count: int
    chair: str | None
    secretary: str | None
    meeting_count: int


class CommitteeRead(CommitteeSummary):
    description: str
    process_role: str | None
    source: str | None
    members: list[MemberRead]
    meetings: list[MeetingSummary]


class AttendeeRead(BaseModel):
    name: str
    username: str | None
    representing: str
    party_category: str | None
    role: AttendeeRole
    teleconference: bool


class ApologyRead(BaseModel):
    name: str
    username: str | None
    representing: str


class DecisionRead(BaseModel):
    word: DecisionWord
    text: str
    sentence: str
    proposal: str | None
    step: str | None
    route: str | None
    proposal_event_seq: int | None
    recorded_only: bool


class ActionUpdateRead(BaseModel):
    meeting: str | None
    text: str
    status_after: ActionStatus
    recorded_on: date
    by: str


class ActionRead(BaseModel):
    reference: str
    committee: str
    meeting_number: int
    meeting: str | None
    agenda_item: str | None
    owner: str
    owner_organisation: str | None
    owner_person: str | None
    text: str
    due_date: date | None
    status: ActionStatus
    overdue: bool
    raised_on: date | None
    closed_on: date | None
    updates: list[ActionUpdateRead]


class AgendaItemRead(BaseModel):
    key: str
    number: int
    sub: int
    title: str
    discussion: str
    paper_id: int | None = Field(description="The paper the item discusses; null when there is none or it does not "
                                             "exist for you (Panel Information Policy)")
    paper_reference: str | None = None
    paper_title: str | None = None
    proposals: list[str]
    decisions: list[DecisionRead]
    actions: list[str]


class QuorumRead(BaseModel):
    present: int
    required: int
    quorate: bool
    description: str


class MeetingRead(MeetingSummary):
    committee_name: str
    attendees: list[AttendeeRead]
    apologies: list[ApologyRead]
    quorum: QuorumRead
    quorate: bool
    agenda: list[AgendaItemRead]
    outstanding_actions: list[ActionRead]
    actions_raised: list[ActionRead]
    next_meeting: MeetingSummary | None
    minutes_approved_at: datetime | None
    minutes_approved_by: str | None
    source: str | None
