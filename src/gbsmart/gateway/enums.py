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
    FIRMWARE = "firmware", "Firmware payload delivery", "indigo"  # trt_firmware_srvs: the payload at the device


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


class AdtBreach(LabelledEnum):
    """Which Anomaly Detection Threshold a quarantined request crossed (DUIS QuarantinedRequest's choice)."""

    USER = "user", "User threshold (ADUserThresholdBreach)", "purple"
    DCC = "dcc", "DCC-wide threshold (ADDCCThresholdBreach)", "red"


class QuarantineStatus(LabelledEnum):
    """A quarantined request: held until a signed action file releases or deletes it."""

    HELD = "held", "Held", "purple"
    RELEASED = "released", "Released, to be processed", "blue"      # the gateway picks it up at its next refresh
    PROCESSED = "processed", "Released and processed", "green"
    DELETED = "deleted", "Deleted", "grey"


class QuarantineAction(LabelledEnum):
    RELEASE = "release", "Release", "blue"
    DELETE = "delete", "Delete", "grey"


class DccAlertKind(LabelledEnum):
    """DCC Alerts the gateway raises (DUIS DCCAlert's choice); recorded in ``dcc_alerts`` for delivery."""

    QUARANTINED_REQUEST = "QuarantinedRequest", "Quarantined request", "purple"
