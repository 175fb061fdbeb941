"""The vocabulary of committees and minutes (DOMAIN.md section 3; seed 001)."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class CommitteeKind(LabelledEnum):
    PANEL = "panel", "SEC Panel", "purple"
    SUB_COMMITTEE = "sub_committee", "Sub-committee", "blue"


class MeetingStatus(LabelledEnum):
    SCHEDULED = "scheduled", "Scheduled", "cyan"
    HELD = "held", "Held", "green"
    CANCELLED = "cancelled", "Cancelled", "red"


class MinutesStatus(LabelledEnum):
    DRAFT = "draft", "Draft Minutes", "orange"
    APPROVED = "approved", "Approved Minutes", "green"


class DecisionWord(LabelledEnum):
    """How the minutes word a decision: 'The CSC **AGREED** ...' (seed 001)."""

    AGREED = "agreed", "AGREED", "green"
    RECOMMENDED = "recommended", "RECOMMENDED", "blue"
    NOTED = "noted", "NOTED", "grey"
    APPROVED = "approved", "APPROVED", "teal"


class ActionStatus(LabelledEnum):
    OPEN = "open", "Open", "orange"
    CLOSED = "closed", "Closed", "green"


class AttendeeRole(LabelledEnum):
    """An attendee's role; Chair, members and alternates count towards the quorum, the others do not."""

    CHAIR = "chair", "Chair", "purple"
    MEMBER = "member", "Member", "blue"
    ALTERNATE = "alternate", "Alternate", "cyan"
    MEETING_SECRETARY = "meeting_secretary", "Meeting Secretary", "teal"
    PARTICIPANT = "participant", "Other participant", "grey"

    @property
    def counts_for_quorum(self) -> bool:
        return self in (AttendeeRole.CHAIR, AttendeeRole.MEMBER, AttendeeRole.ALTERNATE)
