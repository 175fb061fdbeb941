"""The alerts' vocabulary, stored as values with CHECKs (decision 0018): a new member needs a migration.

Priority classes are not here: they are configuration (``alerts.traffic``), stored as their names."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class OutboundKind(LabelledEnum):
    """What a northbound message is (``northbound_messages.kind``)."""

    DEVICE_ALERT = "device_alert", "Device alert", "orange"
    DCC_ALERT = "dcc_alert", "DCC Alert", "purple"
    RESPONSE = "response", "Service Response", "blue"


class AlertOutcome(LabelledEnum):
    """What became of an ingested device alert (``alerts.outcome``)."""

    ROUTED = "routed", "Routed", "green"                      # queued to every User entitled to it
    THROTTLED = "throttled", "Throttled", "orange"            # counted into a throttle summary instead
    UNKNOWN_DEVICE = "unknown_device", "Unknown device", "red"  # the device is not in the SMI: recorded only
    NO_RECIPIENT = "no_recipient", "No recipient", "grey"     # no User is entitled to it at that time


class OutageState(LabelledEnum):
    """A Communications Hub's power loss, under the power outage rule (``power_outages.state``)."""

    LOST = "lost", "Power lost, waiting", "orange"                   # inside the wait (3 minutes by default)
    RESTORED_EARLY = "restored_early", "Restored inside the wait", "grey"  # nothing is sent
    REPORTED = "reported", "Outage reported (AD1)", "red"           # the Power Outage Event is queued
    RESTORED = "restored", "Restored after the report", "green"      # the restoration is queued too


class OutageScope(LabelledEnum):
    """How many Communications Hubs lost power in the same window (``power_outages.scope``)."""

    ISOLATED = "isolated", "Isolated", "blue"
    WIDE_AREA = "wide_area", "Wide-area", "red"


class BroadcastSeverity(LabelledEnum):
    """A DCC Service Alert broadcast's severity (``service_broadcasts.severity``)."""

    INFO = "info", "Information", "blue"
    WARNING = "warning", "Warning", "orange"
    CRITICAL = "critical", "Critical", "red"
