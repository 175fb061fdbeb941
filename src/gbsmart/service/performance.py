"""Code Performance Measures per calendar month, computed from what the message path and the service desk recorded
(issue 13 point 5; DOMAIN.md section 8), never typed in:

- **CPM1 / CPM2**: on-demand / future-dated Service Responses within their Target Response Time, from the gateway's
  journal (``gateway_messages``: ``trt_class``, ``due_at`` and the device's ``completed_at``; refused requests are
  not counted, as ``gateway.rules.counts_device_response`` says). A response not made by its due time counts as
  missed once that time has passed; one still in time is pending and not counted. CPM1's on-demand responses
  include the firmware payload deliveries (seeds 000 and 003 name PM2 as the factor in CPM1).
- **CPM3**: alerts with a deadline (an AD1 Power Outage Event: 60 s after the wait) delivered by it, from the
  northbound cache's rows (``northbound_messages.deadline_at`` and ``delivered_at``).
- **CPM4 / CPM5**: Category 1–2 / 3–5 incidents resolved in the month within their Target Resolution Time
  (``incidents.breached``, kept by ``service.incidents``).
- **CPM6**: Self-Service Interface availability, from what the SSI probe recorded (``service.availability``):
  up time over observed time, in minutes; time no probe watched is no data, not down.
- **PM2** (a Service Provider measure): firmware payloads delivered within their Target Response Time, from the
  journal's rows of the firmware TRT class (``trt_firmware_srvs``: 11.1 Update Firmware, 11.4 PPMID firmware;
  due ``trt_firmware_seconds`` after the request, done when the payload reached the device).
  ``causes`` splits a month's CPM1 misses by SRV and CSP Region, so a report can say whether PM2 is the cause.

A month with nothing to count says **no data**, never 100%. Levels (target and minimum) are rule data
(``service/performance.toml``). ``items`` lists what is behind a figure, missed first: the drill-down. The figures
are totals and everyone signed in sees them; the drill-down shows the DCC's and the Code Administrator's people
every item, and others only their own organisation's requests, alerts and incidents.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from gbsmart.config import Settings
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.gateway.enums import MessageState, TrtClass
from gbsmart.models.alerts import NorthboundMessage
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser
from gbsmart.models.service import Incident, PerformanceException
from gbsmart.service import availability

PACKAGED = files("gbsmart.service").joinpath("performance.toml")
MEASURES = ("CPM1", "CPM2", "CPM3", "CPM4", "CPM5", "CPM6", "PM2")
#: the measures whose events the exception list can name (CPM6 counts minutes, not events)
EXCEPTABLE = ("CPM1", "CPM2", "CPM3", "CPM4", "CPM5", "PM2")
JOURNAL_MEASURES = ("CPM1", "CPM2", "PM2")
ITEM_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Level:
    code: str
    name: str
    target: float
    minimum: float


@functools.lru_cache(maxsize=8)
def _levels(path: Path | None) -> dict[str, Level]:
    text = path.read_text() if path is not None else PACKAGED.read_text()
    source = str(path) if path is not None else "performance.toml (packaged)"
    try:
        data = tomllib.loads(text).get("measures") or {}
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: is not TOML ({exc})") from None
    out = {}
    for code in MEASURES:
        row = data.get(code)
        if not isinstance(row, dict):
            raise ValueError(f"{source}: measures.{code}: missing")
        target, minimum = row.get("target"), row.get("minimum")
        for name, value in (("target", target), ("minimum", minimum)):
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 100:
                raise ValueError(f"{source}: measures.{code}.{name}: must be a percentage from 0 to 100")
        assert isinstance(target, int | float) and isinstance(minimum, int | float)
        if minimum > target:
            raise ValueError(f"{source}: measures.{code}.minimum: must not be above the target")
        out[code] = Level(code, str(row.get("name") or code), float(target), float(minimum))
    return out


def levels(settings: Settings) -> dict[str, Level]:
    return _levels(settings.service_performance_file)


def parse_month(text: str | None, today: date) -> date:
    """``2026-11`` -> 1 November 2026 (default: the current month)."""
    if not text:
        return today.replace(day=1)
    match = re.fullmatch(r"\s*(\d{4})-(\d{2})\s*", text)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise Invalid(f"month: {text!r} is not a month as YYYY-MM", detail=[
            {"field": "month", "message": "must be a month as YYYY-MM, e.g. 2026-11"}])
    return date(int(match.group(1)), int(match.group(2)), 1)


def report_month(text: str | None, today: date) -> date:
    """The month a monthly report is for: ``text`` (YYYY-MM), or by default last month (the last complete one)."""
    if text:
        return parse_month(text, today)
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass(frozen=True, slots=True)
class Figure:
    """One measure in one month: ``share`` is None with no data."""

    level: Level
    month: date
    counted: int
    met: int

    @property
    def missed(self) -> int:
        return self.counted - self.met

    @property
    def share(self) -> float | None:
        return None if self.counted == 0 else 100.0 * self.met / self.counted

    @property
    def standing(self) -> str:
        """``no data``, ``target met``, ``below target`` or ``below minimum``."""
        if self.share is None:
            return "no data"
        if self.share >= self.level.target:
            return "target met"
        return "below target" if self.share >= self.level.minimum else "below minimum"

    @property
    def share_text(self) -> str:
        return "no data" if self.share is None else f"{self.share:.2f}%"


# ---------------------------------------------------------------- the rules of each measure, as SQL

def _journal_where(classes: tuple[TrtClass, ...], start: datetime, end: datetime, now: datetime
                   ) -> list[ColumnElement[bool]]:
    m = GatewayMessage
    return [m.trt_class.in_([c.value for c in classes]), m.state != MessageState.REFUSED.value, m.due_at.is_not(None),
            m.received_at >= start, m.received_at < end,
            or_(m.completed_at.is_not(None), m.due_at < now)]  # pending (still in time) is not counted


def _journal_met() -> ColumnElement[bool]:
    m = GatewayMessage
    return and_(m.completed_at.is_not(None), m.completed_at <= m.due_at)


def _alerts_where(start: datetime, end: datetime, now: datetime) -> list[ColumnElement[bool]]:
    n = NorthboundMessage
    return [n.deadline_at.is_not(None), n.deadline_at >= start, n.deadline_at < end,
            or_(n.delivered_at.is_not(None), n.deadline_at < now)]


def _alerts_met() -> ColumnElement[bool]:
    n = NorthboundMessage
    return and_(n.delivered_at.is_not(None), n.delivered_at <= n.deadline_at)


def _incidents_where(categories: tuple[int, ...], start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    i = Incident
    return [i.category.in_(categories), i.resolved_at.is_not(None), i.resolved_at >= start, i.resolved_at < end]


def _incidents_met() -> ColumnElement[bool]:
    return Incident.breached.is_(False)


def _not_excepted(code: str, column: Any) -> ColumnElement[bool]:
    """Leave out the events the exception list names for ``code``."""
    listed = select(PerformanceException.ref).where(PerformanceException.measure == code)
    condition: ColumnElement[bool] = column.not_in(listed)
    return condition


#: the TRT classes each journal measure counts
JOURNAL_CLASSES = {"CPM1": (TrtClass.ON_DEMAND, TrtClass.FIRMWARE), "CPM2": (TrtClass.FUTURE_DATED,),
                   "PM2": (TrtClass.FIRMWARE,)}


def _where(code: str, start: datetime, end: datetime, now: datetime) -> tuple[Any, list[ColumnElement[bool]],
                                                                             ColumnElement[bool]]:
    """(table, conditions, met) of measure ``code`` over [start, end), exceptions left out."""
    if code in JOURNAL_CLASSES:
        return GatewayMessage, [*_journal_where(JOURNAL_CLASSES[code], start, end, now),
                                _not_excepted(code, GatewayMessage.request_id)], _journal_met()
    if code == "CPM3":
        return NorthboundMessage, [*_alerts_where(start, end, now),
                                   _not_excepted(code, NorthboundMessage.message_id)], _alerts_met()
    categories = (1, 2) if code == "CPM4" else (3, 4, 5, 6, 7, 8, 9)
    return Incident, [*_incidents_where(categories, start, end), _not_excepted(code, Incident.reference)], \
        _incidents_met()


def _count(ctx: Ctx, table: Any, where: list[ColumnElement[bool]], met: ColumnElement[bool]) -> tuple[int, int]:
    counted, ok = ctx.session.execute(select(func.count(), func.sum(case((met, 1), else_=0)))
                                      .select_from(table).where(*where)).one()
    return int(counted or 0), int(ok or 0)


def _of_organisation(code: str, organisation_id: int) -> list[ColumnElement[bool]]:
    """Measure ``code``'s events that are one organisation's: its User IDs' requests and alerts, its incidents."""
    own = select(DccUser.eui64).where(DccUser.organisation_id == organisation_id)
    if code in JOURNAL_CLASSES:
        return [GatewayMessage.originator.in_(own)]
    if code == "CPM3":
        return [NorthboundMessage.user_id.in_(own)]
    return [Incident.organisation_id == organisation_id]


def month_figures(ctx: Ctx, month: date, *, organisation_id: int | None = None) -> list[Figure]:
    """Every measure for ``month`` (the first of a month); with ``organisation_id``, counted over that organisation's
    own requests, alerts and incidents only (a DCC User's home). CPM6, the SSI's availability, is the same for all."""
    start, end = month_bounds(month)
    now = ctx.clock.now()
    lv = levels(ctx.settings)
    counts: dict[str, tuple[int, int]] = {}
    for code in EXCEPTABLE:
        table, where, met = _where(code, start, end, now)
        if organisation_id is not None:
            where = [*where, *_of_organisation(code, organisation_id)]
        counts[code] = _count(ctx, table, where, met)
    seen = availability.measure(ctx.session, start, min(end, now))
    counts["CPM6"] = (round(seen.observed_seconds / 60), round(seen.up_seconds / 60))  # minutes
    return [Figure(lv[code], month, *counts[code]) for code in MEASURES]


def history(ctx: Ctx, months: int = 12, *, until: date | None = None) -> list[list[Figure]]:
    """The last ``months`` months (oldest first), each a list of every measure."""
    if not 1 <= months <= 36:
        raise Invalid("months: must be 1 to 36", detail=[{"field": "months", "message": "must be 1 to 36"}])
    last = (until or ctx.clock.today()).replace(day=1)
    out = []
    for back in range(months - 1, -1, -1):
        y, m = divmod(last.year * 12 + last.month - 1 - back, 12)
        out.append(month_figures(ctx, date(y, m + 1, 1)))
    return out


# ---------------------------------------------------------------- why CPM1 missed: PM2 and the CSP Regions

REGIONS = ("North", "Central", "South")


def _regions_of(ctx: Ctx, targets: set[str]) -> dict[str, str]:
    """Device ID (text) -> CSP Region, from the SMI (targets it does not hold: left out)."""
    from gbsmart.models.smi import SmiDevice
    from gbsmart.smi.rules import REGION_OF, eui64_to_int

    numbers: dict[int, str] = {}
    for t in targets:
        try:
            numbers[eui64_to_int(t)] = t
        except ValueError:
            continue
    out: dict[str, str] = {}
    keys = sorted(numbers)
    for i in range(0, len(keys), 500):
        for device_id, region in ctx.session.execute(select(SmiDevice.device_id, SmiDevice.csp_region)
                                                     .where(SmiDevice.device_id.in_(keys[i:i + 500]))):
            found = REGION_OF.get(int(region))
            if found is not None:
                out[numbers[device_id]] = found.value
    return out


@dataclass(frozen=True, slots=True)
class Causes:
    """A month's CPM1 misses by cause: the firmware payloads among them (PM2's TRT class) and the CSP Regions."""

    month: date
    cpm1: Figure
    pm2: Figure
    firmware_missed: int                       # CPM1 misses that were firmware payload deliveries
    missed_by_region: dict[str, list[int]]     # region (or "unknown") -> [CPM1 missed, of them firmware]
    pm2_by_region: dict[str, list[int]]        # region (or "unknown") -> [PM2 counted, met]

    @property
    def firmware_share(self) -> float | None:
        return None if self.cpm1.missed == 0 else 100.0 * self.firmware_missed / self.cpm1.missed

    @property
    def worst_region(self) -> str | None:
        """The region with the most firmware misses (None when there are none)."""
        best = max(self.missed_by_region.items(), key=lambda kv: kv[1][1], default=None)
        return best[0] if best is not None and best[1][1] > 0 else None

    @property
    def summary(self) -> str:
        if self.cpm1.share is None:
            return "CPM1: no data this month."
        if self.cpm1.missed == 0:
            return f"CPM1 {self.cpm1.share_text}: every on-demand response was within its Target Response Time."
        share = self.firmware_share or 0.0
        text = (f"CPM1 {self.cpm1.share_text} ({self.cpm1.standing}): {self.cpm1.missed:,} on-demand responses "
                f"missed their Target Response Time; {self.firmware_missed:,} of them ({share:.0f}%) were firmware "
                f"payloads (PM2 {self.pm2.share_text})")
        region = self.worst_region
        if region is not None:
            counted, met = self.pm2_by_region.get(region, [0, 0])
            in_time = f"{100.0 * met / counted:.1f}%" if counted else "no data"
            text += (f", {self.missed_by_region[region][1]:,} of those in CSP {region}, where PM2 was {in_time}")
        return text + (". PM2 is the main cause." if share >= 50 else ".")


def causes(ctx: Ctx, month: date) -> Causes:
    """Why CPM1 missed in ``month`` (the exception list applies, as for the figures)."""
    figures = {f.level.code: f for f in month_figures(ctx, month)}
    start, end = month_bounds(month)
    now = ctx.clock.now()
    m = GatewayMessage
    _, where, met = _where("CPM1", start, end, now)
    missed = list(ctx.session.execute(select(m.target, m.trt_class, func.count()).where(*where, ~met)
                                      .group_by(m.target, m.trt_class)))
    _, pm2_where, pm2_met = _where("PM2", start, end, now)
    pm2 = list(ctx.session.execute(select(m.target, func.count(), func.sum(case((pm2_met, 1), else_=0)))
                                   .where(*pm2_where).group_by(m.target)))
    region = _regions_of(ctx, {t for t, *_ in missed} | {t for t, *_ in pm2})
    by_region: dict[str, list[int]] = {r: [0, 0] for r in (*REGIONS, "unknown")}
    firmware_missed = 0
    for target, trt_class, n in missed:
        row = by_region[region.get(target, "unknown")]
        row[0] += int(n)
        if trt_class == TrtClass.FIRMWARE.value:
            row[1] += int(n)
            firmware_missed += int(n)
    pm2_by_region: dict[str, list[int]] = {r: [0, 0] for r in (*REGIONS, "unknown")}
    for target, n, ok in pm2:
        row = pm2_by_region[region.get(target, "unknown")]
        row[0] += int(n)
        row[1] += int(ok or 0)
    return Causes(month, figures["CPM1"], figures["PM2"], firmware_missed, by_region, pm2_by_region)


# ---------------------------------------------------------------- the drill-down

@dataclass(frozen=True, slots=True)
class Item:
    """One request, alert or incident behind a figure."""

    ref: str
    user_id: str | None
    at: datetime
    due_at: datetime | None
    done_at: datetime | None
    met: bool
    what: str


def _sees_all(ctx: Ctx) -> bool:
    from gbsmart.gateway.rules import sees_every_user

    return sees_every_user(ctx.actor.roles) or ctx.actor.has_role("system")


def items(ctx: Ctx, month: date, code: str, *, limit: int = ITEM_LIMIT) -> tuple[Figure, list[Item]]:
    """The figure and what is behind it (missed first, then the rest), scoped to what the reader may see."""
    code = code.upper()
    if code not in MEASURES:
        raise NotFound(f"No measure {code!r}: the measures are {', '.join(MEASURES)}.")
    figure = next(f for f in month_figures(ctx, month) if f.level.code == code)
    start, end = month_bounds(month)
    now = ctx.clock.now()
    own: set[str] | None = None
    if not _sees_all(ctx):
        org = ctx.actor.organisation_id
        own = set(ctx.session.scalars(select(DccUser.eui64).where(DccUser.organisation_id == org))) \
            if org is not None else set()
    out: list[Item] = []
    if code in JOURNAL_MEASURES:
        m = GatewayMessage
        _, where, met = _where(code, start, end, now)
        if own is not None:
            where.append(m.originator.in_(own))
        for msg, ok in ctx.session.execute(select(m, met).where(*where).order_by(met, m.received_at).limit(limit)):
            out.append(Item(msg.request_id, msg.originator, msg.received_at, msg.due_at, msg.completed_at, bool(ok),
                            f"{msg.srv} {msg.code}"))
    elif code == "CPM3":
        n = NorthboundMessage
        _, where, met = _where(code, start, end, now)
        if own is not None:
            where.append(n.user_id.in_(own))
        for nb, ok in ctx.session.execute(select(n, met).where(*where).order_by(met, n.deadline_at).limit(limit)):
            out.append(Item(nb.message_id, nb.user_id, nb.created_at, nb.deadline_at, nb.delivered_at, bool(ok),
                            nb.code or nb.kind))
    elif code in ("CPM4", "CPM5"):
        i = Incident
        _, where, _ = _where(code, start, end, now)
        if own is not None:
            where.append(i.organisation_id == ctx.actor.organisation_id)
        for inc in ctx.session.scalars(select(i).where(*where).order_by(i.breached.desc(), i.resolved_at)
                                       .limit(limit)):
            out.append(Item(inc.reference, inc.user_id, inc.raised_at, None, inc.resolved_at, not inc.breached,
                            f"category {inc.category}: {inc.title}"))
    elif code == "CPM6":  # the down spans: the SSI's, the same for everyone
        for span in availability.measure(ctx.session, start, min(end, now)).down[:limit]:
            minutes = (min(span.ended_at, end) - max(span.started_at, start)).total_seconds() / 60
            detail = f": {span.detail}" if span.detail else ""
            out.append(Item(f"down {span.started_at:%Y-%m-%d %H:%M}", None, span.started_at, None, span.ended_at,
                            False, f"SSI down {minutes:,.0f} min ({span.source}){detail}"))
    return figure, out


# ---------------------------------------------------------------- the Performance Measurement Exception List

def may_keep_exceptions(ctx: Ctx) -> bool:
    """The DCC's and the Code Administrator's people keep the exception list (the pages ask, the service checks)."""
    from gbsmart.parties.enums import Role

    return ctx.actor.has_role(Role.DCC.value, Role.CODE_ADMINISTRATOR.value, "system")


def _may_except(ctx: Ctx) -> None:
    if not may_keep_exceptions(ctx):
        raise Forbidden("Only the DCC's and the Code Administrator's people keep the Performance Measurement "
                        "Exception List.")


def add_exception(ctx: Ctx, measure: str, ref: str, reason: str) -> PerformanceException:
    """Leave ``ref`` out of ``measure`` from now on, for ``reason`` (audited)."""
    _may_except(ctx)
    code = (measure or "").strip().upper()
    problems = []
    if code not in EXCEPTABLE:
        problems.append({"field": "measure", "message": f"must be one of {', '.join(EXCEPTABLE)}"})
    ref = (ref or "").strip()
    if not 1 <= len(ref) <= 120:
        problems.append({"field": "ref", "message": "name the RequestID, message id or incident reference"})
    reason = (reason or "").strip()
    if len(reason) < 3:
        problems.append({"field": "reason", "message": "say why the event is left out (at least 3 characters)"})
    if problems:
        raise Invalid("; ".join(f"{p['field']}: {p['message']}" for p in problems), detail=problems)
    if ctx.session.scalar(select(PerformanceException.id).where(PerformanceException.measure == code,
                                                                PerformanceException.ref == ref)) is not None:
        raise Conflict(f"{ref} is already on the exception list for {code}.")
    row = PerformanceException(measure=code, ref=ref, reason=reason, added_by=ctx.actor.name[:200],
                               added_at=ctx.clock.now())
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "performance.exception.add", "performance_exception", f"{code}:{ref}", None,
                  {"measure": code, "ref": ref, "reason": reason})
    return row


def remove_exception(ctx: Ctx, exception_id: int) -> PerformanceException:
    _may_except(ctx)
    row = ctx.session.get(PerformanceException, exception_id)
    if row is None:
        raise NotFound(f"No exception {exception_id} on the list.")
    record_change(ctx, "performance.exception.remove", "performance_exception", f"{row.measure}:{row.ref}",
                  {"measure": row.measure, "ref": row.ref, "reason": row.reason}, None)
    ctx.session.delete(row)
    ctx.session.flush()
    return row


def exceptions(ctx: Ctx) -> list[PerformanceException]:
    return list(ctx.session.scalars(select(PerformanceException).order_by(PerformanceException.measure,
                                                                          PerformanceException.id)))
