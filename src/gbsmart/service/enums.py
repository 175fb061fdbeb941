"""The incidents' vocabulary, stored as values with CHECKs (decision 0018): a new member needs a migration.

Categories and incident types are not here: they are rule data (``service/incidents.toml``)."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class IncidentStatus(LabelledEnum):
    """Where an incident is (``incidents.status``); the SLA clock runs in open and in progress only."""

    OPEN = "open", "Open", "blue"
    IN_PROGRESS = "in_progress", "In progress", "purple"
    AWAITING_USER = "awaiting_user", "Waiting for the User", "orange"   # assigned back to the User: clock stopped
    RESOLVED = "resolved", "Resolved", "green"
    CLOSED = "closed", "Closed", "grey"


class AssigneeKind(LabelledEnum):
    """Who works on an incident now (``incidents.assignee_kind``)."""

    DCC = "dcc", "DCC", "purple"
    SERVICE_PROVIDER = "service_provider", "Service Provider", "cyan"
    USER = "user", "The User", "orange"


class IncidentEventKind(LabelledEnum):
    """One line of an incident's timeline (``incident_events.kind``)."""

    RAISED = "raised", "Raised", "blue"
    STATUS = "status", "Status", "purple"
    ASSIGNED = "assigned", "Assigned", "cyan"
    CATEGORY = "category", "Category", "red"
    NOTE = "note", "Note", "grey"


class TriageResult(LabelledEnum):
    """What the triage of a returned Communications Hub found (``ch_returns.triage``)."""

    PENDING = "pending", "Awaiting triage", "grey"
    FAULT_FOUND = "fault_found", "Fault found", "red"
    NO_FAULT_FOUND = "no_fault_found", "No fault found", "green"
