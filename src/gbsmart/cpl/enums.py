"""The vocabulary of the Central Products List (DOMAIN.md section 4; seed 004): Physical Device Types, certificate
kinds, entry statuses, submissions and CPA expiry notices.

``EntryStatus`` is also the SMI's view of a Device Model's status (``smi_device_models.status``).
"""

from __future__ import annotations

from gbsmart.core.enums import LabelledEnum


class PhysicalDeviceType(LabelledEnum):
    """The Physical Device Types of SEC Section A1 (seed 004)."""

    CH = "CH", "Communications Hub", "purple"
    ESME_SINGLE = "ESME_SINGLE", "Single Element Electricity Metering Equipment", "yellow"
    ESME_TWIN = "ESME_TWIN", "Twin Element Electricity Metering Equipment", "yellow"
    ESME_POLYPHASE = "ESME_POLYPHASE", "Polyphase Electricity Metering Equipment", "yellow"
    GSME = "GSME", "Gas Smart Meter", "orange"
    PPMID = "PPMID", "Pre-Payment Meter Interface Device", "cyan"
    HCALCS = "HCALCS", "HAN Connected Auxiliary Load Control Switch", "blue"
    IHD = "IHD", "IHD", "grey"
    TYPE2 = "TYPE2", "Type 2 Device (Other)", "grey"

    @property
    def short(self) -> str:
        """The short name used in the SEC's papers: CH, ESME, GSME, PPMID, HCALCS, IHD, Type 2."""
        return {"ESME_SINGLE": "ESME", "ESME_TWIN": "ESME", "ESME_POLYPHASE": "ESME", "TYPE2": "Type 2 Device"}.get(
            self.value, self.value)


class CertificateKind(LabelledEnum):
    """The three kinds of Assurance Certificate (seed 004)."""

    ZIGBEE = "zigbee", "ZigBee", "blue"
    DLMS = "dlms", "DLMS", "purple"
    CPA = "cpa", "CPA", "teal"


class EntryStatus(LabelledEnum):
    """The DUIS statuses of a CPL entry (DOMAIN.md section 4)."""

    ACTIVE = "Active", "Active", "green"
    CANCELLED = "Cancelled", "Cancelled", "grey"
    EXPIRED = "Expired", "Expired", "orange"
    WITHDRAWN = "Withdrawn", "Withdrawn", "red"


class SubmissionKind(LabelledEnum):
    NEW_ENTRY = "new_entry", "New entry", "blue"
    FIRMWARE_UPDATE = "firmware_update", "Firmware update", "cyan"


class SubmissionStatus(LabelledEnum):
    SUBMITTED = "submitted", "Submitted", "grey"
    VALIDATED = "validated", "Validated: awaiting SECAS", "blue"
    REFUSED = "refused", "Refused", "red"
    APPROVED = "approved", "Approved", "green"


class NoticeKind(LabelledEnum):
    """Notices to the submitter before a CPA certificate expires (seed 004: twelve and six months)."""

    TWELVE_MONTHS = "12_months", "12-month CPA expiry notice", "yellow"
    SIX_MONTHS = "6_months", "6-month CPA expiry notice", "orange"

    @property
    def months(self) -> int:
        return 12 if self is NoticeKind.TWELVE_MONTHS else 6
