"""Communications Hub exceptions and returns (issue 13 point 4; seed 000):
- **Exceptions** are installation exceptions counted by category (``incidents.toml``'s ``[hubs]``) and CSP region
  over time.
- **Returns** are hubs sent back to the DCC, with what their triage found.
- **The returns' share**: the returns set against the hubs decommissioned in the SMI over the same period, and the
  no-fault-found rate among those triaged (seed 000: 11% returned, no fault found in 300).

The CSP region of a hub is the SMI's when the hub is there (a Communications Hub Function), else the one given,
else "unknown". Recording: the DCC's people (and the system). Everyone signed in sees the figures, which are totals
without a premises in them. Takes a Ctx; never commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.models.service import ChException, ChReturn
from gbsmart.models.smi import SmiDevice, SmiStatusHistory
from gbsmart.service import incidents
from gbsmart.service.enums import TriageResult
from gbsmart.smi import rules as smi_rules
from gbsmart.smi.enums import DeviceType, SmiStatus

REGIONS = ("North", "Central", "South")
_EUI = re.compile(r"^[0-9A-F]{2}(-[0-9A-F]{2}){7}$")


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", detail=[{"field": field, "message": message}])


def _require_desk(ctx: Ctx) -> None:
    if not incidents.is_service_desk(ctx):
        raise Forbidden("Only the DCC's people record Communications Hub exceptions and returns.")


def _hub(text: str) -> str:
    hub = (text or "").strip().upper()
    if not _EUI.fullmatch(hub):
        raise _invalid("hub_id", "must be a Communications Hub's Device ID such as 00-DB-12-34-56-78-90-A2")
    return hub


def _region(ctx: Ctx, hub: str, given: str | None) -> str:
    device = ctx.session.get(SmiDevice, smi_rules.eui64_to_int(hub))
    if device is not None and device.device_type == smi_rules.DEVICE_TYPE_CODE[DeviceType.CHF]:
        return str(smi_rules.REGION_OF[device.csp_region].value)
    region = (given or "").strip().title()
    if region and region not in REGIONS:
        raise _invalid("csp_region", "must be North, Central or South")
    return region or "unknown"


def record_exception(ctx: Ctx, hub_id: str, category: str, *, csp_region: str | None = None,
                     note: str = "") -> ChException:
    _require_desk(ctx)
    hub = _hub(hub_id)
    known = incidents.catalogue(ctx.settings).hub_exception_categories
    if category not in known:
        raise _invalid("category", f"must be one of: {', '.join(known)}")
    row = ChException(hub_id=hub, category=category, csp_region=_region(ctx, hub, csp_region),
                      raised_at=ctx.clock.now(), raised_by=ctx.actor.name[:200], note=note.strip())
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "ch_exception.record", "ch_exception", str(row.id), None,
                  {"hub_id": hub, "category": category, "csp_region": row.csp_region})
    return row


def close_exception(ctx: Ctx, exception_id: int) -> ChException:
    _require_desk(ctx)
    row = ctx.session.get(ChException, exception_id)
    if row is None:
        raise NotFound(f"No Communications Hub exception {exception_id}.")
    if row.closed_at is not None:
        raise Conflict(f"Exception {exception_id} was closed already.")
    row.closed_at = ctx.clock.now()
    record_change(ctx, "ch_exception.close", "ch_exception", str(row.id), None, {"closed_at": row.closed_at})
    return row


def record_return(ctx: Ctx, hub_id: str, *, reason: str = "", csp_region: str | None = None) -> ChReturn:
    _require_desk(ctx)
    hub = _hub(hub_id)
    row = ChReturn(hub_id=hub, csp_region=_region(ctx, hub, csp_region), returned_at=ctx.clock.now(),
                   reason=reason.strip(), triage=TriageResult.PENDING.value, recorded_by=ctx.actor.name[:200])
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "ch_return.record", "ch_return", str(row.id), None, {"hub_id": hub})
    return row


def triage(ctx: Ctx, return_id: int, result: TriageResult, note: str = "") -> ChReturn:
    _require_desk(ctx)
    row = ctx.session.get(ChReturn, return_id)
    if row is None:
        raise NotFound(f"No Communications Hub return {return_id}.")
    if result is TriageResult.PENDING:
        raise _invalid("result", "must be fault_found or no_fault_found")
    before = {"triage": row.triage}
    row.triage, row.triaged_at, row.triage_note = result.value, ctx.clock.now(), note.strip()
    record_change(ctx, "ch_return.triage", "ch_return", str(row.id), before, {"triage": row.triage})
    return row


@dataclass(frozen=True)
class HubFigures:
    """Exceptions and returns over [start, end)."""

    start: datetime
    end: datetime
    exceptions: dict[str, dict[str, int]]       # category -> region -> raised in the period
    open_exceptions: dict[str, int]             # category -> still open now
    returns: int
    triage: dict[str, int]                      # TriageResult value -> returns
    decommissioned: int                         # hubs decommissioned in the SMI in the period

    @property
    def return_share(self) -> float | None:
        return None if self.decommissioned == 0 else 100.0 * self.returns / self.decommissioned

    @property
    def no_fault_found_rate(self) -> float | None:
        triaged = self.triage.get(TriageResult.FAULT_FOUND.value, 0) + self.triage.get(
            TriageResult.NO_FAULT_FOUND.value, 0)
        return None if triaged == 0 else 100.0 * self.triage.get(TriageResult.NO_FAULT_FOUND.value, 0) / triaged


def figures(ctx: Ctx, start: datetime, end: datetime) -> HubFigures:
    s = ctx.session
    e = ChException
    by: dict[str, dict[str, int]] = {}
    for category, region, n in s.execute(select(e.category, e.csp_region, func.count())
                                         .where(e.raised_at >= start, e.raised_at < end)
                                         .group_by(e.category, e.csp_region)):
        by.setdefault(category, {})[region] = int(n)
    still_open = {c: int(n) for c, n in s.execute(select(e.category, func.count()).where(e.closed_at.is_(None))
                                                  .group_by(e.category))}
    r = ChReturn
    triage_counts = {t: int(n) for t, n in s.execute(select(r.triage, func.count())
                                                     .where(r.returned_at >= start, r.returned_at < end)
                                                     .group_by(r.triage))}
    h, d = SmiStatusHistory, SmiDevice
    decommissioned = s.scalar(select(func.count(func.distinct(h.device_id))).join(d, d.device_id == h.device_id)
                              .where(h.to_status == smi_rules.STATUS_CODE[SmiStatus.DECOMMISSIONED],
                                     d.device_type == smi_rules.DEVICE_TYPE_CODE[DeviceType.CHF],
                                     h.at >= start, h.at < end)) or 0
    return HubFigures(start, end, by, still_open, sum(triage_counts.values()), triage_counts, int(decommissioned))
