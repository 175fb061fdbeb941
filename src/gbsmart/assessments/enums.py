"""The vocabulary of User Security Assessments (DOMAIN.md section 9; seeds 000, 003, 004)."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class UserType(LabelledEnum):
    """The Party type the assessment cycle depends on, with the User's size (seed 004, SECMP0044)."""

    SUPPLIER = "supplier", "Supplier", "blue"
    NETWORK = "network", "Network Operator", "teal"
    OTHER = "other", "Other User", "grey"


class UserSize(LabelledEnum):
    LARGE = "large", "Large", "purple"
    SMALL = "small", "Small", "cyan"


class AssessmentKind(LabelledEnum):
    """The four kinds of assessment; a Full one is *initial* for a User's first, else second or subsequent."""

    FULL = "full", "Full User Security Assessment", "purple"
    VERIFICATION = "verification", "Verification User Security Assessment", "blue"
    SELF = "self", "Security Self-Assessment", "teal"
    FOLLOW_UP = "follow_up", "Follow-up Security Assessment", "orange"

    @property
    def short(self) -> str:
        return {"full": "FUSA", "verification": "VUSA", "self": "SSA", "follow_up": "FSA"}[self.value]


class AssessmentStatus(LabelledEnum):
    SCHEDULED = "scheduled", "Scheduled", "grey"
    IN_PROGRESS = "in_progress", "In progress", "cyan"
    REPORTED = "reported", "Reported to the SSC", "orange"
    DECIDED = "decided", "Decided by the SSC", "green"


class StatusKind(LabelledEnum):
    """What the SSC sets: an assurance status after an initial assessment, a compliance status after later ones."""

    ASSURANCE = "assurance", "Assurance status", "purple"
    COMPLIANCE = "compliance", "Compliance status", "blue"
    REVIEW = "review", "Reviewed", "grey"


class SscStatus(LabelledEnum):
    """The statuses the SSC sets (DOMAIN.md section 9); the compliance ones are gbsmart's reading."""

    APPROVED = "approved", "Approved", "green"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions", "Approved subject to conditions", "yellow"
    DEFERRED = "deferred", "Deferred", "orange"
    REJECTED = "rejected", "Rejected", "red"
    COMPLIANT = "compliant", "Compliant", "green"
    COMPLIANT_WITH_REMEDIATION = "compliant_with_remediation", "Compliant subject to remediation", "yellow"
    NON_COMPLIANT = "non_compliant", "Non-compliant", "red"
    REVIEWED = "reviewed", "Reviewed", "grey"


class Severity(LabelledEnum):
    MINOR = "minor", "Minor", "yellow"
    MEDIUM = "medium", "Medium", "orange"
    MAJOR = "major", "Major", "red"


class ActionKind(LabelledEnum):
    CONDITION = "condition", "Condition", "purple"
    REMEDIATION = "remediation", "Remediation action", "orange"


class ItemStatus(LabelledEnum):
    OPEN = "open", "Open", "orange"
    CLOSED = "closed", "Closed", "green"
