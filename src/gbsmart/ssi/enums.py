"""The Self-Service Interface's vocabulary. ``AuditKind`` is not stored (the audit trail reads other domains'
tables), so it needs no CHECK constraint."""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class AuditKind(LabelledEnum):
    """What a row of the service audit trail is (``ssi.audit``)."""

    REQUEST = "request", "Request", "blue"        # a DUIS Service Request the gateway answered (its journal row)
    RESPONSE = "response", "Response", "teal"     # a device's Service Response to an accepted request
    ALERT = "alert", "Alert", "orange"            # a device alert or DCC Alert sent to the User
    INCIDENT = "incident", "Incident", "purple"   # an incident of the User's organisation
