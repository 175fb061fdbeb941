"""API shapes of the Smart Metering Inventory. Device IDs travel as EUI-64 text, MPxNs as digit strings."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gbsmart.smi.rules import CspRegion, DeviceType, SmiStatus, eui64_to_int

EUI_EXAMPLE = "00-0D-6F-00-00-12-34-56"


def _eui(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    eui64_to_int(value)  # raises ValueError with a message naming the format
    return value.strip().upper().replace(":", "-")


class DeviceCreate(BaseModel):
    """A device added to the SMI by the DCC (or the Code Administrator)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    device_id: str = Field(description="EUI-64 Device ID", examples=[EUI_EXAMPLE])
    device_type: DeviceType
    manufacturer: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    hardware_version: str | None = Field(default=None, max_length=50)
    firmware_version: str | None = Field(default=None, max_length=50)
    smi_status: SmiStatus = SmiStatus.PENDING
    mpxn: str | None = Field(default=None, pattern=r"^\d{6,13}$", description="MPAN core (13 digits) or MPRN")
    chf_device_id: str | None = Field(default=None, description="The Communications Hub Function (meters)")
    associated_meter_id: str | None = Field(default=None, description="The associated meter (other devices)")
    csp_region: CspRegion = CspRegion.CENTRAL

    _ids = field_validator("device_id", "chf_device_id", "associated_meter_id")(_eui)


class FirmwareUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    firmware_version: str = Field(min_length=1, max_length=50, description="The version now running")


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(default="", max_length=300)


class HistoryRead(BaseModel):
    at: datetime
    from_status: SmiStatus | None
    to_status: SmiStatus
    reason: str


class ModelRead(BaseModel):
    id: int
    manufacturer: str
    model: str
    hardware_version: str
    firmware_version: str
    physical_device_type: str
    status: str


class DeviceSummary(BaseModel):
    device_id: str
    device_type: DeviceType
    smi_status: SmiStatus
    status_date: date
    mpxn: str | None
    csp_region: CspRegion
    model_status: str | None


class DeviceRead(DeviceSummary):
    status_before_suspension: SmiStatus | None
    device_model: ModelRead | None
    chf_device_id: str | None
    associated_meter_id: str | None
    history: list[HistoryRead] = []


class DevicePage(BaseModel):
    items: list[DeviceSummary]
    next_cursor: str | None


class CountRow(BaseModel):
    smi_status: SmiStatus
    device_type: DeviceType
    devices: int


class CountsRead(BaseModel):
    total: int
    by_status: dict[str, int]
    by_type: dict[str, int]
    rows: list[CountRow]


class EventRead(BaseModel):
    event: str
    device_id: str
    user_org_id: int
    user_organisation: str | None
    at: datetime
    extract_sequence: int | None


class EventPage(BaseModel):
    items: list[EventRead]
    next_cursor: str | None
