"""The vocabulary of the Smart Metering Inventory (DOMAIN.md section 5): Device Types, SMI Statuses, CSP Regions,
device events and fuels.

Device Type, SMI Status, CSP Region and device event are stored as small-integer codes, 1-based in declaration order
(``codes``; ``gbsmart.smi.rules.STATUS_CODE`` and the rest are built from it, and the models' CHECK constraints
allow exactly those codes). Changing the order of an enumeration here changes the meaning of stored rows: append
only. A Device Model's status is the CPL's ``gbsmart.cpl.enums.EntryStatus``.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from gbsmart.core.enums import LabelledEnum

E = TypeVar("E", bound=Enum)


class DeviceType(LabelledEnum):
    ESME = "ESME", "Electricity Smart Metering Equipment", "yellow"
    GSME = "GSME", "Gas Smart Metering Equipment", "orange"
    GPF = "GPF", "Gas Proxy Function", "orange"
    CHF = "CHF", "Communications Hub Function", "purple"
    HCALCS = "HCALCS", "HAN Connected Auxiliary Load Control Switch", "teal"
    PPMID = "PPMID", "Pre-Payment Meter Interface Device", "cyan"
    IHD = "IHD", "In-Home Display", "blue"
    CAD = "CAD", "Consumer Access Device", "grey"


class SmiStatus(LabelledEnum):
    PENDING = "Pending", "Pending", "grey"
    WHITELISTED = "Whitelisted", "Whitelisted", "cyan"
    INSTALLED_NOT_COMMISSIONED = "InstalledNotCommissioned", "Installed, not commissioned", "blue"
    COMMISSIONED = "Commissioned", "Commissioned", "green"
    DECOMMISSIONED = "Decommissioned", "Decommissioned", "grey"
    WITHDRAWN = "Withdrawn", "Withdrawn", "grey"
    SUSPENDED = "Suspended", "Suspended", "red"
    RECOVERY = "Recovery", "Recovery", "orange"
    RECOVERED = "Recovered", "Recovered", "teal"


class CspRegion(LabelledEnum):
    NORTH = "North"
    CENTRAL = "Central"
    SOUTH = "South"


class DeviceEvent(LabelledEnum):
    DEVICE_SUSPENDED = "DeviceSuspended", "DeviceSuspended", "red"
    DEVICE_RESTORED = "DeviceRestored", "DeviceRestored", "green"


class Fuel(LabelledEnum):
    """The fuel of an MPxN: an MPAN core is electricity, an MPRN gas (stored as its value, ``E`` or ``G``)."""

    ELECTRICITY = "E", "Electricity (MPAN)", "yellow"
    GAS = "G", "Gas (MPRN)", "orange"


def codes(enum: type[E]) -> dict[E, int]:
    """The stored small-integer code of each member: 1-based, in declaration order."""
    return {member: i for i, member in enumerate(enum, start=1)}
