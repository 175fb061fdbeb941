"""The vocabulary of committees and minutes (DOMAIN.md section 3; seed 001)."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class CommitteeKind(LabelledEnum):
    PANEL = "panel"
    SUB_COMMITTEE = "sub_committee"

    __labels__ = {
        "panel": ("SEC Panel", "purple"),
        "sub_committee": ("Sub-committee", "blue"),
    }


class MeetingStatus(LabelledEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"

    __labels__ = {
        "scheduled": ("Scheduled", "cyan"),
        "held": ("Held", "green"),
        "cancelled": ("Cancelled", "red"),
    }


class MinutesStatus(LabelledEnum):
    DRAFT = "draft"
    APPROVED = "approved"

    __labels__ = {
        "draft": ("Draft Minutes", "orange"),
        "approved": ("Approved Minutes", "green"),
    }


class DecisionWord(LabelledEnum):
    """How the minutes word a decision: 'The CSC **AGREED** ...' (seed 001)."""

    AGREED = "agreed"
    RECOMMENDED = "recommended"
    NOTED = "noted"
    APPROVED = "approved"

    __labels__ = {
        "agreed": ("AGREED", "green"),
        "recommended": ("RECOMMENDED", "blue"),
        "noted": ("NOTED", "grey"),
        "approved": ("APPROVED", "teal"),
    }


class ActionStatus(LabelledEnum):
    OPEN = "open"
    CLOSED = "closed"

    __labels__ = {
        "open": ("Open", "orange"),
        "closed": ("Closed", "green"),
    }


class AttendeeRole(LabelledEnum):
    """An attendee's role; Chair, members and alternates count towards the quorum, the others do not."""

    CHAIR = "chair"
    MEMBER = "member"
    ALTERNATE = "alternate"
    MEETING_SECRETARY = "meeting_secretary"
    PARTICIPANT = "participant"

    __labels__ = {
        "chair": ("Chair", "purple"),
        "member": ("Member", "blue"),
        "alternate": ("Alternate", "cyan"),
        "meeting_secretary": ("Meeting Secretary", "teal"),
        "participant": ("Other participant", "grey"),
    }

    @property
    def counts_for_quorum(self) -> bool:
        return self in (AttendeeRole.CHAIR, AttendeeRole.MEMBER, AttendeeRole.ALTERNATE)
