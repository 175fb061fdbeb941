"""API shapes of the Smart Metering Inventory. Device IDs travel as EUI-64 text, MPxNs as digit strings."""

from __future__ import annotations

import re
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gbsmart.core.types import DbId, Line, Text
from gbsmart.smi.enums import CspRegion, DeviceType, Fuel, SmiStatus
from gbsmart.smi.rules import eui64_to_int

EUI_EXAMPLE = "00-0D-6F-00-00-12-34-56"
MPXN_PATTERN = re.compile(r"[1-9](?:\d{5,9}|\d{12})")
MPXN_FORMS = "give an MPAN core (13 digits) or an MPRN (6 to 10 digits), digits only"


def _eui(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    eui64_to_int(value)  # raises ValueError with a message naming the format
    return value.strip().upper().replace(":", "-")


class DeviceCreate(BaseModel):
    """A device added to the SMI by the DCC (or the Code Administrator)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    device_id: Line = Field(description="EUI-64 Device ID", examples=[EUI_EXAMPLE])
    device_type: DeviceType
    manufacturer: Line | None = Field(default=None, max_length=100)
    model: Line | None = Field(default=None, max_length=100)
    hardware_version: Line | None = Field(default=None, max_length=50)
    firmware_version: Line | None = Field(default=None, max_length=50)
    smi_status: SmiStatus = SmiStatus.PENDING
    mpxn: Line | None = Field(default=None, json_schema_extra={"pattern": MPXN_PATTERN.pattern},
                             description="MPAN core (13 digits) or MPRN (6 to 10 digits), as in rules.mpxn_fuel")
    chf_device_id: Line | None = Field(default=None, description="The Communications Hub Function (meters)")
    associated_meter_id: Line | None = Field(default=None, description="The associated meter (other devices)")
    csp_region: CspRegion = CspRegion.CENTRAL

    _ids = field_validator("device_id", "chf_device_id", "associated_meter_id")(_eui)

    @field_validator("mpxn")
    @classmethod
    def _mpxn(cls, value: str | None) -> str | None:
        if value is not None and not MPXN_PATTERN.fullmatch(value):
            raise ValueError(MPXN_FORMS)  # the same words at the API, the page and the CLI
        return value


class FirmwareUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    firmware_version: Line = Field(min_length=1, max_length=50, description="The version now running")


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text = Field(default="", max_length=300)


class StatusTransition(BaseModel):
    """An ordinary SMI Status change (whitelist, install, withdraw, recovery ...), as the lifecycle allows."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    smi_status: SmiStatus = Field(description="The status to move to")
    reason: Text = Field(default="", max_length=300)


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


# ---------------------------------------------------------------- registration data


class RegistrationCreate(BaseModel):
    """From ``valid_from`` this Supplier and this Network Operator serve the MPxN (the DCC or the Code Administrator).

    The service checks the MPxN's form, the Parties' categories and the dates, and names the field of each problem.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    mpxn: Line | int = Field(description="MPAN core (13 digits) or MPRN (6 to 10 digits)", examples=["1200000123456"])
    fuel: Fuel | None = Field(default=None, description="E (MPAN) or G (MPRN); from the MPxN's form if omitted")
    supplier: Line | DbId = Field(description="The Supplier Party: organisation name, short name or id",
                                examples=["British Gas"])
    network_operator: Line | DbId = Field(description="The Electricity (MPAN) or Gas (MPRN) Network Party: name, "
                                        "short name or id", examples=["Northern Powergrid"])
    valid_from: date = Field(description="The day this registration starts (not in the future)")
    supplier_user_id: Line | None = Field(default=None, description="The Supplier's DCC User ID (EUI-64), optional")
    network_operator_user_id: Line | None = Field(default=None,
                                                 description="The Network Operator's DCC User ID (EUI-64), optional")


class OrganisationRef(BaseModel):
    id: int
    name: str | None


class RegistrationRead(BaseModel):
    mpxn: str
    fuel: Fuel
    supplier: OrganisationRef
    network_operator: OrganisationRef
    supplier_user_id: str | None
    network_operator_user_id: str | None
    valid_from: date
    valid_to: date | None = Field(description="The day the next registration started; null: current")
    current: bool


class RegistrationHistory(BaseModel):
    mpxn: str
    fuel: Fuel
    current: RegistrationRead | None
    history: list[RegistrationRead] = Field(description="Every registration of the MPxN, oldest first")
