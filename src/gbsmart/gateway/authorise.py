"""Authorisation of a DUIS Service Request, in DUIS order, with DUIS Response Codes and a plain-English reason.

``authorise(index, request, service, at)`` is the one call the gateway server (and later the portal) makes per
request: pure, no database access, always a ``Decision``. It checks, in this order, and answers the first
failure (DUIS section 3.2; decision 0021 records where DUIS leaves the detail to us):

====  ======================================================================================================
E1    the originator User ID is unknown, or holds no User Role
E2    none of its User Roles is eligible for the Service Request Variant (request matrix); or no such SRV
E19   a device request's target Device ID is not in the Smart Metering Inventory
E4    the User is not the device's Supplier / Network Operator (for its role and the MPxN's fuel) at ``at``
E5    the device's SMI Status does not allow the request (``status_refusal``)
E12   the Command Variant does not fit the SRV (critical: 4 to 7; other device: 1 to 3; non-device: 8)
E13   the request was sent to another web service than the one its SRV and Command Variant go to
====  ======================================================================================================

The data behind it lives in ``AuthorisationIndex``: the request matrix, a ``UserIndex`` (DCC User ID ->
organisation and User Roles), a ``RegistrationIndex`` (MPxN -> Supplier / Network Operator periods, numpy
columns) and the SMI's ``StatusIndex`` (device status, type, MPxN), each loaded set-based and refreshed.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.matrix import (
    NON_DEVICE_VARIANTS,
    SIGNED_PRE_COMMAND_VARIANTS,
    TRANSFORM_VARIANTS,
    USER_ROLES,
    ServiceRequestVariant,
    WebService,
    request_matrix,
    service_for,
)
from gbsmart.smi.enums import Fuel, SmiStatus
from gbsmart.smi.lookup import StatusIndex
from gbsmart.smi.rules import EUI64_OFFSET, NETWORK_USER_ROLES, SUPPLIER_USER_ROLES, eui64_to_int

#: SRVs a Suspended device still accepts: firmware updates, so a device on a withdrawn model can be mended
SUSPENDED_ALLOWS = frozenset({"11.1", "11.2", "11.3"})
#: SRVs a device in Recovery accepts: its security credentials replaced, its firmware mended (decision 0021)
RECOVERY_ALLOWS = frozenset({"6.15.1", "6.15.2", "11.1", "11.2", "11.3"})
#: Statuses in which a device accepts no device request at all (decision 0021)
NO_REQUESTS = MappingProxyType({
    SmiStatus.PENDING: "it is Pending: the DCC has not yet been told it is installed",
    SmiStatus.WHITELISTED: "it is Whitelisted: it has not yet been installed and joined to a Communications Hub",
    SmiStatus.DECOMMISSIONED: "it is Decommissioned: it has been removed from service for good",
    SmiStatus.WITHDRAWN: "it is Withdrawn: it was removed from the inventory before it was ever used",
})
#: User Roles whose right to act on a device is not decided by the registration data (decision 0021)
UNREGISTERED_ROLES = frozenset({"OU", "RSA"})
_DAY_MAX = np.iinfo(np.int32).max
_FUEL_CODE = {Fuel.ELECTRICITY.value: 1, Fuel.GAS.value: 2}
_FUEL_OF = {1: Fuel.ELECTRICITY, 2: Fuel.GAS}
#: per fuel code (as ``Registration.fuel`` is read: unknown codes as electricity), the roles that make a User the
#: Supplier / the Network Operator
_SUPPLIER_ROLES = {code: frozenset(SUPPLIER_USER_ROLES[fuel]) for code, fuel in _FUEL_OF.items()}
_NETWORK_ROLES = {code: frozenset(NETWORK_USER_ROLES[fuel]) for code, fuel in _FUEL_OF.items()}
_CRITICAL_VARIANTS = TRANSFORM_VARIANTS | SIGNED_PRE_COMMAND_VARIANTS
_EUI64_TEXT = re.compile(r"[0-9A-F]{2}(?:-[0-9A-F]{2}){7}")


@dataclass(frozen=True, slots=True)
class Decision:
    """What authorisation decided: accepted (``code`` None), or the DUIS Response Code and why, in plain English."""

    code: str | None
    explanation: str = ""
    variant: ServiceRequestVariant | None = None

    @property
    def accepted(self) -> bool:
        return self.code is None


# ---------------------------------------------------------------- the indexes


@dataclass(frozen=True, slots=True)
class DccUserEntry:
    """One DCC User ID: the organisation that holds it and its User Roles."""

    organisation_id: int
    roles: frozenset[str]


@dataclass
class UserIndex:
    """DCC User ID (upper-case EUI-64) -> ``DccUserEntry``; a few thousand entries, so a dict."""

    users: dict[str, DccUserEntry] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> UserIndex:
        """Every DCC User ID with its roles, in one query."""
        rows = session.execute(text("SELECT u.eui64, u.organisation_id, r.role FROM dcc_users u "
                                    "LEFT JOIN dcc_user_roles r ON r.dcc_user_id = u.id ORDER BY u.eui64"))
        users = {}
        for eui, group in itertools.groupby(rows, key=lambda row: row[0]):
            members = list(group)
            users[eui.upper()] = DccUserEntry(int(members[0][1]), frozenset(r[2] for r in members if r[2]))
        return cls(users)

    def get(self, user_id: str) -> DccUserEntry | None:
        return self.users.get(user_id)

    def __len__(self) -> int:
        return len(self.users)


@dataclass(frozen=True, slots=True)
class Registration:
    """Who served an MPxN over ``[valid_from, valid_to)`` (``valid_to`` None: still does)."""

    mpxn: int
    fuel: Fuel
    supplier_org_id: int
    network_operator_org_id: int
    valid_from: date
    valid_to: date | None


class RegistrationIndex:
    """MPxN -> registration periods, as numpy columns sorted by (MPxN, start): 28 bytes a period."""

    def __init__(self, mpxn: np.ndarray | None = None, start: np.ndarray | None = None,
                 end: np.ndarray | None = None, supplier: np.ndarray | None = None,
                 network: np.ndarray | None = None, fuel: np.ndarray | None = None) -> None:
        self.mpxn = mpxn if mpxn is not None else np.empty(0, dtype=np.int64)
        self.start = start if start is not None else np.empty(0, dtype=np.int32)  # date.toordinal()
        self.end = end if end is not None else np.empty(0, dtype=np.int32)  # exclusive; int32 max: open
        self.supplier = supplier if supplier is not None else np.empty(0, dtype=np.int32)
        self.network = network if network is not None else np.empty(0, dtype=np.int32)
        self.fuel = fuel if fuel is not None else np.empty(0, dtype=np.uint8)
        self._views: tuple | None = None  # memoryviews of the columns, for ``at``'s bisect (made on first use)

    @classmethod
    def from_rows(cls, rows: list[Registration]) -> RegistrationIndex:
        """An index of ``rows`` (any order)."""
        rows = sorted(rows, key=lambda r: (r.mpxn, r.valid_from))
        return cls(np.array([r.mpxn for r in rows], dtype=np.int64),
                   np.array([r.valid_from.toordinal() for r in rows], dtype=np.int32),
                   np.array([r.valid_to.toordinal() if r.valid_to else _DAY_MAX for r in rows], dtype=np.int32),
                   np.array([r.supplier_org_id for r in rows], dtype=np.int32),
                   np.array([r.network_operator_org_id for r in rows], dtype=np.int32),
                   np.array([_FUEL_CODE[Fuel(r.fuel).value] for r in rows], dtype=np.uint8))

    @classmethod
    def load(cls, session: Session) -> RegistrationIndex:
        """Every registration period, in one ordered scan (dates read as text: both databases write ISO dates)."""
        cur = session.execute(text(
            "SELECT mpxn, CAST(valid_from AS VARCHAR(10)), CAST(valid_to AS VARCHAR(10)), supplier_org_id, "
            "network_operator_org_id, fuel FROM smi_registrations ORDER BY mpxn, valid_from, id"))
        columns: list[list] = [[], [], [], [], [], []]
        for mpxn, start, end, supplier, network, fuel in cur:
            columns[0].append(mpxn)
            columns[1].append(date.fromisoformat(start).toordinal())
            columns[2].append(date.fromisoformat(end).toordinal() if end else _DAY_MAX)
            columns[3].append(supplier)
            columns[4].append(network)
            columns[5].append(_FUEL_CODE.get(fuel, 0))
        dtypes = (np.int64, np.int32, np.int32, np.int32, np.int32, np.uint8)
        return cls(*(np.array(c, dtype=t) for c, t in zip(columns, dtypes, strict=True)))

    def _columns(self) -> tuple:
        views = self._views
        if views is None or views[0].obj is not self.mpxn:  # bisect on memoryviews: no numpy call per look-up
            views = self._views = tuple(np.ascontiguousarray(c).data for c in (
                self.mpxn, self.start, self.end, self.supplier, self.network, self.fuel))
        return views

    def at(self, mpxn: int, day: date) -> Registration | None:
        """The registration of ``mpxn`` on ``day``, or None if no Supplier was registered then."""
        keys, starts, ends, suppliers, networks, fuels = self._columns()
        lo = bisect.bisect_left(keys, mpxn)
        hi = bisect.bisect_right(keys, mpxn, lo)
        wanted = day.toordinal()
        for i in range(hi - 1, lo - 1, -1):
            if starts[i] <= wanted < ends[i]:
                end = ends[i]
                return Registration(mpxn, _FUEL_OF.get(fuels[i], Fuel.ELECTRICITY), suppliers[i], networks[i],
                                    date.fromordinal(starts[i]), None if end == _DAY_MAX else date.fromordinal(end))
        return None

    def parties_at(self, mpxn: int, day: int) -> tuple[int, int, int] | None:
        """(fuel code, Supplier org, Network Operator org) of ``mpxn`` on ``day`` (an ordinal), as ``at`` finds
        them but without building a ``Registration``: what ``authorise`` asks for every device request."""
        keys, starts, ends, suppliers, networks, fuels = self._columns()
        lo = bisect.bisect_left(keys, mpxn)
        hi = bisect.bisect_right(keys, mpxn, lo)
        for i in range(hi - 1, lo - 1, -1):
            if starts[i] <= day < ends[i]:
                return fuels[i], suppliers[i], networks[i]
        return None

    def __len__(self) -> int:
        return len(self.mpxn)


@dataclass
class AuthorisationIndex:
    """Everything ``authorise`` reads, held in memory: loaded once at start, then ``refresh``-ed."""

    users: UserIndex
    registrations: RegistrationIndex
    devices: StatusIndex
    matrix: Mapping[str, ServiceRequestVariant] = field(default_factory=request_matrix)

    @classmethod
    def load(cls, session: Session) -> AuthorisationIndex:
        return cls(UserIndex.load(session), RegistrationIndex.load(session), StatusIndex.load(session))

    def refresh(self, session: Session) -> None:
        """Re-read Users and registrations (small), and the devices whose status changed since the last load."""
        self.users = UserIndex.load(session)
        self.registrations = RegistrationIndex.load(session)
        self.devices.refresh(session)


# ---------------------------------------------------------------- the rules


def status_refusal(status: SmiStatus, srv: str) -> str | None:
    """Why a device with SMI Status ``status`` cannot take SRV ``srv`` (DUIS E5), or None if it can."""
    if status is SmiStatus.SUSPENDED and srv not in SUSPENDED_ALLOWS:
        return ("it is Suspended (its Device Model is no longer on the Central Products List): a Suspended device "
                "accepts only firmware requests (11.1, 11.2, 11.3) until it runs firmware on the CPL again")
    if status is SmiStatus.RECOVERY and srv not in RECOVERY_ALLOWS:
        return ("it is in Recovery: until it is recovered it accepts only security credential updates (6.15.1, "
                "6.15.2) and firmware requests (11.1, 11.2, 11.3)")
    if status in NO_REQUESTS:
        return f"{NO_REQUESTS[status]}, so it accepts no device requests"
    return None


def command_variant_refusal(variant: ServiceRequestVariant, command_variant: int) -> str | None:
    """Why ``command_variant`` does not fit ``variant`` (DUIS E12), or None if it does."""
    if variant.non_device:
        if command_variant not in NON_DEVICE_VARIANTS:
            return (f"{variant.srv} {variant.name} is a non-device request, which the DCC answers itself: send it "
                    f"with Command Variant 8, not {command_variant}")
        return None
    if command_variant in NON_DEVICE_VARIANTS:
        return (f"{variant.srv} {variant.name} is a device request, but Command Variant 8 is for non-device "
                "requests only: use 1, 2 or 3" + (" (4 to 7 for a critical request)" if variant.critical else ""))
    critical_variants = _CRITICAL_VARIANTS
    if variant.critical and command_variant not in critical_variants:
        return (f"{variant.srv} {variant.name} is critical: send it with Command Variant 4 to Transform first, then "
                f"the Signed Pre-Command with 5, 6 or 7; {command_variant} is for non-critical requests")
    if not variant.critical and command_variant in critical_variants:
        return (f"{variant.srv} {variant.name} is not critical: send it with Command Variant 1, 2 or 3; "
                f"{command_variant} is for critical requests (Transform and Signed Pre-Commands)")
    return None


def _role_names(roles: frozenset[str] | set[str]) -> str:
    return ", ".join(f"{r} ({USER_ROLES.get(r, 'unknown')})" for r in sorted(roles)) or "none"


def _registration_refusal(index: AuthorisationIndex, user: DccUserEntry, roles: frozenset[str], device_id: str,
                          mpxn: int | None, at: datetime) -> str | None:
    """Why the User may not act on the device at ``at`` under any of its eligible ``roles`` (DUIS E4), or None."""
    if roles & UNREGISTERED_ROLES:
        return None
    day = at.date()
    if mpxn is None:
        return (f"device {device_id} has no MPAN or MPRN in the Smart Metering Inventory, so no Supplier or Network "
                "Operator is registered for it: ask the DCC to record its MPxN")
    parties = index.registrations.parties_at(mpxn, day.toordinal())
    if parties is None:
        return (f"no Supplier or Network Operator is registered for MPxN {mpxn} (device {device_id}) on "
                f"{day:%d %b %Y}: the registration data must name your organisation first")
    code, supplier, network = parties
    code = code if code in _FUEL_OF else 1  # as ``RegistrationIndex.at`` reads an unknown fuel code
    if roles & _SUPPLIER_ROLES[code] and user.organisation_id == supplier:
        return None
    if roles & _NETWORK_ROLES[code] and user.organisation_id == network:
        return None
    fuel = _FUEL_OF[code]
    fuel_name = "electricity" if fuel is Fuel.ELECTRICITY else "gas"
    return (f"on {day:%d %b %Y} your organisation is not the registered {fuel_name} Supplier (roles "
            f"{'/'.join(SUPPLIER_USER_ROLES[fuel])}) or Network Operator (role {NETWORK_USER_ROLES[fuel][0]}) of "
            f"MPxN {mpxn}, which device {device_id} serves: only they may send this request to it")


def authorise(index: AuthorisationIndex, request: DuisRequest, service: WebService, at: datetime) -> Decision:
    """The decision on ``request`` received on ``service`` at ``at``: the first DUIS check it fails, or accepted."""
    originator = request.request_id.originator
    user = index.users.get(originator)
    if user is None:
        return Decision("E1", f"User ID {originator} (the RequestID's first part) is not a DCC User ID the DCC "
                              "knows: check the RequestID, or ask the DCC to register the User ID for your "
                              "organisation")
    if not user.roles:
        return Decision("E1", f"User ID {originator} holds no User Role: ask the DCC to record the User Role it "
                              "acts in (Import Supplier, Electricity Distributor, ...)")
    srv = request.service_reference_variant
    variant = index.matrix.get(srv)
    if variant is None:
        return Decision("E2", f"{srv[:20]!r} is not a Service Request Variant of DUIS: check the "
                              "ServiceReferenceVariant in the Header")
    eligible = user.roles & variant.eligible_roles
    if not eligible:
        return Decision("E2", f"{srv} {variant.name} may be sent only by the User Roles "
                              f"{_role_names(variant.eligible_roles)}; User ID {originator} holds "
                              f"{_role_names(user.roles)}: send it from a User ID with an eligible role", variant)
    if not variant.non_device:
        target = request.request_id.target
        try:  # the codec's form (upper-case hex pairs and hyphens) read directly; any other through eui64_to_int
            stored = (int(target.replace("-", ""), 16) - EUI64_OFFSET if _EUI64_TEXT.fullmatch(target)
                      else eui64_to_int(target))
            found = index.devices.status(stored)
        except ValueError:  # the codec only passes EUI-64s; another caller might not
            found = None
        if found is None:
            return Decision("E19", f"device {target} (the RequestID's second part) is not in the Smart Metering "
                                   "Inventory: check the Device ID, or add the device to the inventory first",
                            variant)
        status, _device_type, _model_status, mpxn = found
        why = _registration_refusal(index, user, eligible, target, mpxn, at)
        if why is not None:
            return Decision("E4", why[:1].upper() + why[1:] + ".", variant)
        why = status_refusal(status, srv)
        if why is not None:
            return Decision("E5", f"Device {target} cannot take {srv} {variant.name}: {why}.", variant)
    why = command_variant_refusal(variant, request.command_variant)
    if why is not None:
        return Decision("E12", why[:1].upper() + why[1:] + ".", variant)
    wanted = service_for(variant, request.command_variant)
    if wanted is not service:
        return Decision("E13", f"{srv} {variant.name} with Command Variant {request.command_variant} goes to the "
                               f"{wanted.label} service ({wanted.path}), not {service.label} ({service.path}): "
                               "send it there", variant)
    accepted = _ACCEPTED.get(id(variant))
    if accepted is None or accepted.variant is not variant:
        accepted = _ACCEPTED[id(variant)] = Decision(None, "", variant)
    return accepted


#: the one (frozen) acceptance of each Service Request Variant object (by identity), made once, not per request
_ACCEPTED: dict[int, Decision] = {}
