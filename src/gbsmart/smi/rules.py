"""Pure rules of the Smart Metering Inventory: codes, EUI-64 Device IDs and the SMI Status lifecycle.

DOMAIN.md section 5: a Device whose Device Model is not (or no longer) Active on the CPL is Suspended,
and returns to its previous status when its model is Active again or its firmware is upgraded to a
listed version. No I/O here; the services and the set-based SQL use these codes and tables.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import TypeVar

from gbsmart.cpl.enums import EntryStatus
from gbsmart.smi.enums import CspRegion, DeviceEvent, DeviceType, Fuel, SmiStatus, codes

# ---------------------------------------------------------------- EUI-64 Device IDs

#: Device IDs are unsigned 64-bit; databases store signed 64-bit. We subtract 2**63, which keeps the
#: order (00-00-...-00 is the smallest stored value, FF-FF-...-FF the largest), so keyset pages and
#: the sorted look-up index follow Device ID order.
EUI64_OFFSET = 1 << 63
_EUI_RE = re.compile(r"^[0-9A-Fa-f]{2}([-: ]?[0-9A-Fa-f]{2}){7}$")


def eui64_to_int(eui: str | int) -> int:
    """The stored (signed) integer of an EUI-64 written as ``00-0D-6F-00-00-12-34-56`` (or 16 hex digits)."""
    if isinstance(eui, int):
        value = eui
    else:
        text = eui.strip()
        if not _EUI_RE.match(text):
            raise ValueError(f"{eui!r} is not an EUI-64: write 8 hex bytes, e.g. 00-0D-6F-00-00-12-34-56")
        value = int(re.sub(r"[-: ]", "", text), 16)
    if not 0 <= value < 1 << 64:
        raise ValueError(f"{eui!r} is outside the 64-bit EUI range")
    return value - EUI64_OFFSET


def int_to_eui64(stored: int) -> str:
    """The EUI-64 text (upper-case hex bytes joined by '-') of a stored Device ID."""
    if not -EUI64_OFFSET <= stored < EUI64_OFFSET:
        raise ValueError(f"{stored} is not a stored Device ID (signed 64-bit)")
    raw = f"{stored + EUI64_OFFSET:016X}"
    return "-".join(raw[i : i + 2] for i in range(0, 16, 2))


# ---------------------------------------------------------------- the enumerations' stored codes


_E = TypeVar("_E", bound=Enum)


def _codes(enum: type[_E]) -> tuple[dict[_E, int], dict[int, _E]]:
    forward = codes(enum)
    return forward, {i: member for member, i in forward.items()}


#: Stored small-integer codes (1-based, in declaration order: ``smi.enums.codes``) and their inverses. Changing the
#: order of an enumeration in smi/enums.py changes the meaning of stored rows: append only.
DEVICE_TYPE_CODE, DEVICE_TYPE_OF = _codes(DeviceType)
STATUS_CODE, STATUS_OF = _codes(SmiStatus)
REGION_CODE, REGION_OF = _codes(CspRegion)
EVENT_CODE, EVENT_OF = _codes(DeviceEvent)
MODEL_STATUS_CODE, MODEL_STATUS_OF = _codes(EntryStatus)

SUSPENDED = STATUS_CODE[SmiStatus.SUSPENDED]
assert SUSPENDED == 7  # models.smi.SUSPENDED_CODE

#: The CPL's Physical Device Type of each Device Type; IHD and CAD (Type 2) need not be on the CPL.
PHYSICAL_TYPE_OF: dict[DeviceType, str | None] = {
    DeviceType.ESME: "ESME",
    DeviceType.GSME: "GSME",
    DeviceType.GPF: "CH",
    DeviceType.CHF: "CH",
    DeviceType.HCALCS: "HCALCS",
    DeviceType.PPMID: "PPMID",
    DeviceType.IHD: None,
    DeviceType.CAD: None,
}


def requires_cpl(device_type: DeviceType) -> bool:
    """All Device Types but IHD and Type 2 (CAD) must be on the CPL to be used (DOMAIN.md section 4)."""
    return PHYSICAL_TYPE_OF[device_type] is not None


# ---------------------------------------------------------------- the SMI Status lifecycle

S = SmiStatus

#: Ordinary transitions (by service request or installation). Suspension and restoration are not
#: here: only the CPL rule (``cpl_target``) suspends, and restoration returns to the remembered status.
TRANSITIONS: dict[SmiStatus, frozenset[SmiStatus]] = {
    S.PENDING: frozenset({S.WHITELISTED, S.WITHDRAWN}),
    S.WHITELISTED: frozenset({S.INSTALLED_NOT_COMMISSIONED, S.DECOMMISSIONED, S.WITHDRAWN}),
    S.INSTALLED_NOT_COMMISSIONED: frozenset({S.COMMISSIONED, S.DECOMMISSIONED, S.WITHDRAWN}),
    S.COMMISSIONED: frozenset({S.DECOMMISSIONED, S.RECOVERY}),
    S.RECOVERY: frozenset({S.RECOVERED, S.DECOMMISSIONED}),
    S.RECOVERED: frozenset({S.COMMISSIONED, S.DECOMMISSIONED}),
    S.DECOMMISSIONED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.SUSPENDED: frozenset(),
}

#: Statuses a device may be added to the inventory in.
INITIAL_STATUSES = frozenset({S.PENDING, S.WHITELISTED, S.INSTALLED_NOT_COMMISSIONED, S.COMMISSIONED})

#: Statuses the CPL rule suspends from: every live status (not the end states, not Suspended itself).
SUSPENDABLE = frozenset(set(SmiStatus) - {S.DECOMMISSIONED, S.WITHDRAWN, S.SUSPENDED})
SUSPENDABLE_CODES = tuple(sorted(STATUS_CODE[s] for s in SUSPENDABLE))


class TransitionRefused(ValueError):
    """A status change the lifecycle does not allow; the message says which are allowed."""


def allowed_from(status: SmiStatus) -> list[SmiStatus]:
    return sorted(TRANSITIONS[status], key=lambda s: STATUS_CODE[s])


def check_transition(current: SmiStatus, target: SmiStatus) -> None:
    """Refuse ``current`` -> ``target`` unless the lifecycle allows it, naming what is allowed."""
    if target in TRANSITIONS[current]:
        return
    allowed = ", ".join(s.value for s in allowed_from(current)) or "none"
    extra = " A Suspended device returns to its previous status only when its Device Model is Active on the CPL " \
            "again or its firmware is updated to an Active version." if current is S.SUSPENDED else ""
    raise TransitionRefused(
        f"An SMI Status cannot change from {current.value} to {target.value}; allowed from {current.value}: "
        f"{allowed}.{extra}"
    )


def cpl_target(status: SmiStatus, previous: SmiStatus | None, model_active: bool) -> SmiStatus:
    """The status the CPL rule gives a device: Suspended if its model is not Active, else restored."""
    if not model_active and status in SUSPENDABLE:
        return S.SUSPENDED
    if model_active and status is S.SUSPENDED:
        return previous or S.PENDING
    return status


def commission_refusal(model_known: bool, model_status: str | None, device_type: DeviceType) -> str | None:
    """Why commissioning is refused (model unknown or not Active on the DCC's view of the CPL), or None."""
    if not requires_cpl(device_type):
        return None
    if not model_known:
        return (f"device_model: a {device_type.value} may be commissioned only with a Device Model on the CPL; "
                "this device's model is not in the SMI's copy of the CPL.")
    if model_status != EntryStatus.ACTIVE:
        return (f"device_model: a {device_type.value} may be commissioned only if its Device Model is Active on "
                f"the CPL; it is {model_status}.")
    return None


# ---------------------------------------------------------------- registration data


#: Party Categories (``models.parties.PartyCategory`` values) a registered Supplier may have ...
SUPPLIER_CATEGORIES = ("large_supplier", "small_supplier")
#: ... and the one the Network Operator of each fuel must have.
NETWORK_CATEGORY = {Fuel.ELECTRICITY: "electricity_network", Fuel.GAS: "gas_network"}
#: DCC User Roles (``models.parties.UserRole`` values) the DCC User ID of each registered User must hold.
SUPPLIER_USER_ROLES = {Fuel.ELECTRICITY: ("IS", "ES"), Fuel.GAS: ("GS",)}
NETWORK_USER_ROLES = {Fuel.ELECTRICITY: ("ED",), Fuel.GAS: ("GT",)}

MPAN_CORE_DIGITS = 13
MPRN_DIGITS = (6, 10)
_MPXN_FORMS = "an MPAN core (13 digits, electricity) or an MPRN (6 to 10 digits, gas), digits only"


def mpxn_fuel(mpxn: str | int) -> Fuel:
    """The fuel of an MPxN by its form: an MPAN core has 13 digits, an MPRN 6 to 10 (DUIS: at most 10).

    Both are stored as numbers, so neither may start with 0 (the leading zero would be lost).
    """
    text = str(mpxn).strip()
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"{text!r} is not an MPxN: give {_MPXN_FORMS}")
    if text[0] == "0":
        raise ValueError(f"{text!r} starts with 0: an MPAN core or MPRN starts with a non-zero digit")
    if len(text) == MPAN_CORE_DIGITS:
        return Fuel.ELECTRICITY
    if MPRN_DIGITS[0] <= len(text) <= MPRN_DIGITS[1]:
        return Fuel.GAS
    raise ValueError(f"{text!r} has {len(text)} digits: give {_MPXN_FORMS}")
