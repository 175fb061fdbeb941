"""The gateway's vocabulary: what became of a DUIS request (``MessageState``) and which Target Response Time
applies to it (``TrtClass``, DOMAIN.md section 6). Stored as their values, each column CHECKed (decision 0018):
a new member needs a migration."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class MessageState(LabelledEnum):
    REFUSED = "refused", "Refused", "red"                    # answered with an E-code; nothing done
    ANSWERED = "answered", "Answered", "green"               # a non-device request answered synchronously
    ACKNOWLEDGED = "acknowledged", "Acknowledged", "blue"    # I99 given; the device's response is awaited
    COMPLETED = "completed", "Completed", "teal"             # the device's response (I0 / E20 ...) is made
    DELIVERED = "delivered", "Delivered", "green"            # that response reached the User's endpoint
    UNDELIVERED = "undelivered", "Undelivered", "orange"     # the User's endpoint has not taken it yet; kept
    QUARANTINED = "quarantined", "Quarantined", "purple"     # held by an Anomaly Detection Threshold
    RELEASED = "released", "Released", "blue"                # released from quarantine by the User
    DELETED = "deleted", "Deleted", "grey"                   # deleted from quarantine by the User


class TrtClass(LabelledEnum):
    TRANSFORM = "transform", "Transform", "blue"
    ON_DEMAND = "on_demand", "On-demand device response", "teal"
    FUTURE_DATED = "future_dated", "Future-dated device response", "cyan"
    NON_DEVICE = "non_device", "Non-device response", "grey"


class TrtOutcome(LabelledEnum):
    """How a message stands against its Target Response Time (``gateway.rules.trt_outcome``; not stored)."""

    MET = "met", "Within TRT", "green"
    MISSED = "missed", "TRT missed", "red"
    PENDING = "pending", "Pending", "blue"
    NONE = "none", "No TRT", "grey"


class PreCommandState(LabelledEnum):
    """What became of a Pre-Command the DCC issued on Transform (``gateway.transform``)."""

    ISSUED = "issued", "Issued", "blue"          # returned to the User; its Signed Pre-Command is awaited
    ACCEPTED = "accepted", "Signed and accepted", "green"  # the User's Signed Pre-Command was acknowledged (I99)
