"""API shapes for the change process."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gbsmart.change.enums import Consultation, ProposalPath, Route, Vote, VotingCategory
from gbsmart.core.types import Line, Text


class DraftProposalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Line = Field(min_length=5, max_length=300, description="A short, specific title.")
    problem_statement: Text = Field(min_length=20, max_length=20000, description="What is the problem?")
    proposer_organisation: Line | None = Field(
        default=None, description="Raise on behalf of this organisation (Code Administrator only)."
    )
    date_raised: date | None = None


class StepCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    step: Line = Field(min_length=1, max_length=50, examples=["further_development"])
    reason: Text = Field(default="", max_length=10000, description="Why, in the decider's words.")
    reference: Line | None = Field(
        default=None, max_length=300, description="The minute or document that decided it, e.g. 'CSC 11_2801'."
    )
    decided_on: date | None = Field(default=None, description="The date of the decision; default today.")
    path: ProposalPath | None = None
    route: Route | None = None
    release: Line | None = Field(default=None, description="A SEC Release name, for target_release.")
    mp_reference: Line | None = Field(default=None, pattern=r"^(MP\d{3,4}|SECMP\d{4})$")
    pa_status: Line | None = Field(default=None, max_length=50)


class VoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party: Line | None = Field(default=None, description="The Party voting; default the caller's own Party.")
    vote: Vote
    comment: Text = Field(default="", max_length=5000)


class ResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party: Line | None = None
    supports: bool | None = None
    comments: Text = Field(min_length=1, max_length=20000)


class DocumentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Line = Field(min_length=2, max_length=80, examples=["Draft Modification Report"])
    title: Line = Field(min_length=2, max_length=300)
    body: Text = Field(default="", max_length=200000)


class ReleaseCreate(BaseModel):
    """A SEC Release the Code Administrator adds to the landscape (a scheduled one or an ad-hoc one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line = Field(min_length=3, max_length=100, examples=["June 2027 Release"])
    release_date: date = Field(description="The day it goes live: today or later.")
    kind: Literal["scheduled", "ad_hoc"] = "scheduled"


class TallyVote(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party: Line = Field(min_length=1, max_length=200)
    category: VotingCategory
    vote: Vote


class TallyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    votes: list[TallyVote] = Field(max_length=10000)

    @field_validator("votes")
    @classmethod
    def _one_vote_per_party(cls, votes: list[TallyVote]) -> list[TallyVote]:
        seen: dict[str, int] = {}
        for i, v in enumerate(votes):
            key = v.party.strip().casefold()
            if key in seen:
                raise ValueError(f"party '{v.party}' votes twice (positions {seen[key]} and {i}); one vote per Party")
            seen[key] = i
        return votes


class CategoryTallyRead(BaseModel):
    approve: int
    reject: int
    abstain: int
    return_to_panel: int
    collective: Vote | None


class TallyRead(BaseModel):
    valid: bool
    outcome: Vote | None
    categories: dict[str, CategoryTallyRead]
    reasons: list[str]


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    step: str
    from_state: str | None
    to_state: str
    actor_name: str
    at: datetime
    decided_on: date
    reason: str
    reference: str | None
    data: dict | None


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    added_at: datetime


class ProposalSummary(BaseModel):
    reference: str
    dp_reference: str | None
    title: str
    state: str
    state_label: str
    path: str | None
    proposer: str
    date_raised: date
    release: str | None
    release_status: str | None


class ProposalRead(ProposalSummary):
    problem_statement: str
    summary: str
    latest_progress: str
    route: str | None
    pa_status: str | None
    change_board_determination: str | None
    change_board_date: date | None
    authority_determination: str | None
    authority_date: date | None
    implementation_date: date | None
    source: str | None
    interests: list[dict]
    impacts: list[dict]
    timeline: list[EventRead]
    documents: list[DocumentRead]
    allowed_steps: list[dict]


class ProposalPage(BaseModel):
    items: list[ProposalSummary]
    next_cursor: str | None


class StepInfo(BaseModel):
    step: str
    label: str
    actors: str
    requires: list[str]
    fields: list[str] = Field(description="The request fields the step reads beyond decided_on, reference, reason.")
    you_may: bool
    help: str


class VoteRead(BaseModel):
    party: str
    category: str
    vote: str
    round: int
    at: datetime


class ResponseRead(BaseModel):
    party: str
    consultation: Consultation
    round: int
    supports: bool | None
    comments: str
    at: datetime
