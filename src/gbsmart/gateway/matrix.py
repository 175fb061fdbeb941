"""The 129 DUIS Service Request Variants (SRV) and the web service each one must be sent to.

``duis-request-matrix.json`` beside this module is a copy of ``shared/duis/duis-request-matrix.json``, the
request matrix of the DUIS document (SEC Appendix AD, section 3) as extracted by the DCC's open tools
(``@smartdcc/duis-parser`` ships the same table): per SRV its name, critical flag, on-demand, future-dated
response pattern, DCC-scheduled, non-device flag and eligible User Roles.

DUIS has three web services (DCC Boxed's paths): Non-Device (``/api/v1/serviceD``) for requests the DCC
answers itself, Transform (``/api/v1/serviceT``) where a critical device request goes first to come back as
a Pre-Command for the User to sign, and Send Command (``/api/v1/serviceS``) for every other device request,
the Signed Pre-Command included (DOMAIN.md section 6; the CommandVariant table of the DUIS schema).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

MATRIX_FILE = Path(__file__).with_name("duis-request-matrix.json")

#: the DUIS User Role codes the matrix uses, with their names (SEC Section A)
USER_ROLES = MappingProxyType({
    "IS": "Import Supplier",
    "ES": "Export Supplier",
    "GS": "Gas Supplier",
    "ED": "Electricity Distributor",
    "GT": "Gas Transporter",
    "OU": "Other User",
    "RSA": "Registered Supplier Agent",
})


class WebService(StrEnum):
    """The DUIS web service a request is sent to, with DCC Boxed's path."""

    SEND_COMMAND = "serviceS"
    TRANSFORM = "serviceT"
    NON_DEVICE = "serviceD"

    @property
    def label(self) -> str:
        return {"serviceS": "Send Command", "serviceT": "Transform", "serviceD": "Non-Device"}[self.value]

    @property
    def path(self) -> str:
        return f"/api/v1/{self.value}"


#: Command Variants (DUIS schema, type CommandVariant): 4 asks for a Pre-Command (Transform); 5, 6 and 7 carry
#: the User's Signed Pre-Command; 8 is a DCC-only (non-device) request; 1, 2 and 3 are other device requests.
TRANSFORM_VARIANTS = frozenset({4})
SIGNED_PRE_COMMAND_VARIANTS = frozenset({5, 6, 7})
NON_DEVICE_VARIANTS = frozenset({8})


@dataclass(frozen=True, slots=True)
class ServiceRequestVariant:
    """One row of the DUIS request matrix."""

    srv: str
    service_reference: str
    name: str
    critical: bool
    on_demand: bool
    future_dated: str  # "No", "DSP", "Device" or "DSP & Device": who answers a future-dated request
    dcc_scheduled: bool
    non_device: bool
    eligible_roles: frozenset[str]
    note: str = ""  # what the DUIS document adds under the name, e.g. who else may send it

    @property
    def future_dated_allowed(self) -> bool:
        return self.future_dated != "No"


def _yes(value: Any, field: str, srv: str) -> bool:
    if value not in ("Yes", "No"):
        raise ValueError(f"SRV {srv}: {field} is {value!r}, expected Yes or No")
    return bool(value == "Yes")


def _row(raw: dict[str, Any]) -> ServiceRequestVariant:
    srv = str(raw["Service Reference Variant"])
    roles = frozenset(raw["Eligible User Roles"])
    if unknown := roles - USER_ROLES.keys():
        raise ValueError(f"SRV {srv}: unknown User Role(s) {sorted(unknown)}")
    name, _, note = str(raw["Service Request Name"]).partition("\n")
    return ServiceRequestVariant(
        srv=srv,
        service_reference=str(raw["Service Reference"]),
        name=name.strip(),
        critical=_yes(raw["Critical"], "Critical", srv),
        on_demand=_yes(raw["On Demand"], "On Demand", srv),
        future_dated=str(raw["Future Dated Response Pattern"]),
        dcc_scheduled=_yes(raw["DCC Scheduled"], "DCC Scheduled", srv),
        non_device=_yes(raw["Non-Device Request"], "Non-Device Request", srv),
        eligible_roles=roles,
        note=" ".join(note.split()).removeprefix("(").removesuffix(")"),
    )


def load_matrix(path: Path = MATRIX_FILE) -> MappingProxyType[str, ServiceRequestVariant]:
    """The request matrix in ``path``, by SRV (e.g. ``"4.1.1"``); an SRV listed twice is refused."""
    rows = [_row(raw) for raw in json.loads(path.read_text(encoding="utf-8"))]
    by_srv = {row.srv: row for row in rows}
    if len(by_srv) != len(rows):
        raise ValueError(f"{path}: some Service Request Variant is listed more than once")
    return MappingProxyType(by_srv)


@lru_cache(maxsize=1)
def request_matrix() -> MappingProxyType[str, ServiceRequestVariant]:
    """The packaged request matrix, loaded once per process."""
    return load_matrix()


def service_for(variant: ServiceRequestVariant, command_variant: int) -> WebService:
    """The web service a request for ``variant`` with ``command_variant`` must be sent to (else DUIS E13).

    Non-device SRVs go to Non-Device; a critical device SRV goes first to Transform (Command Variant 4) and
    its Signed Pre-Command (5, 6, 7) then to Send Command; every other device request goes to Send Command.
    """
    if variant.non_device:
        return WebService.NON_DEVICE
    if variant.critical and command_variant not in SIGNED_PRE_COMMAND_VARIANTS:
        return WebService.TRANSFORM
    return WebService.SEND_COMMAND
