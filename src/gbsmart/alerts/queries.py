"""Read-only figures of the alerts tables for the portal and the API: alert volumes by code and CSP region over
time, deadline compliance of the power outage rule, throttling state, each User's northbound backlog, delivery
rate and expired messages, and the power outages.

These read the tables the alert engines write (``alerts.intake``, ``alerts.throttle``, ``alerts.northbound``,
``alerts.outage``), never their in-memory state. Every query is bounded (a time range of at most
``MAX_RANGE``, or the undelivered messages, which the northbound cache keeps few), aggregates in SQL and follows
the tables' indexes.

Who sees what (one rule, here): DCC and Code Administrator people see every User's figures
(``gateway.rules.sees_every_user``); anyone else sees the backlog, expired messages, deadline breaches and power
outages of their own organisation's DCC User IDs only, and none without an organisation. Alert volumes and
throttle counts are totals without a device or a User in them, so everyone signed in sees them; the devices
behind the throttling are shown to DCC and Code Administrator people only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, Select, and_, case, cast, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gbsmart.alerts.enums import OutageState
from gbsmart.config import Settings
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.pagination import CURSOR_NOT_OURS, Page, decode_cursor, encode_cursor
from gbsmart.gateway.rules import sees_every_user
from gbsmart.models.alerts import (
    AlertDeadlineBreach,
    AlertThrottleSummary,
    AlertVolumeMinute,
    NorthboundMessage,
    PowerOutage,
)
from gbsmart.models.parties import DccUser

#: the longest time range one query reads
MAX_RANGE = timedelta(days=31)
#: the chart's ranges: name -> (span, bucket)
RANGES: dict[str, tuple[timedelta, timedelta]] = {
    "1h": (timedelta(hours=1), timedelta(minutes=5)),
    "6h": (timedelta(hours=6), timedelta(minutes=30)),
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(hours=6)),
}
DEFAULT_RANGE = "24h"
#: the priority classes' default order (alerts/traffic.toml), used until ``alerts.traffic`` is there to ask
DEFAULT_CLASSES = ("power_outage", "security", "prepayment", "on_demand", "alert", "future_dated", "bulk")
LIST_LIMIT = 50
PAGE_SIZE = 50
UNKNOWN_REGION = "unknown"


def _invalid(name: str, message: str) -> Invalid:
    return Invalid(f"{name}: {message}", detail=[{"field": name, "message": message}])


# ---------------------------------------------------------------- who sees what


def sees_everything(ctx: Ctx) -> bool:
    """DCC and Code Administrator people see every User's alert figures."""
    return sees_every_user(ctx.actor.roles)


def visible(ctx: Ctx, column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]) -> (
        ColumnElement[bool] | None):
    """The SQL of who sees a row whose User is ``column``: None for an operator, else their own User IDs'."""
    if sees_everything(ctx):
        return None
    if ctx.actor.organisation_id is None:
        return false()
    return column.in_(_own(ctx.actor.organisation_id))


def _own(organisation_id: int) -> Select[str]:
    """The DCC User IDs an organisation holds, as SQL."""
    return select(DccUser.eui64).where(DccUser.organisation_id == organisation_id)


def own_user_ids(ctx: Ctx) -> set[str]:
    """The DCC User IDs the reader's organisation holds (none without an organisation): the Users whose
    figures are the reader's own, and for which the reader may answer (``northbound.acknowledge_expired``)."""
    if ctx.actor.organisation_id is None:
        return set()
    return set(ctx.session.scalars(_own(ctx.actor.organisation_id)))


def _scoped(ctx: Ctx, column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None]) -> (
        list[ColumnElement[bool]]):
    seen = visible(ctx, column)
    return [] if seen is None else [seen]


# ---------------------------------------------------------------- time ranges


@dataclass(frozen=True)
class Window:
    """A bounded time range [start, end) cut into buckets for the chart."""

    start: datetime
    end: datetime
    bucket: timedelta
    name: str = ""

    @property
    def buckets(self) -> list[datetime]:
        out, at = [], self.start
        while at < self.end:
            out.append(at)
            at += self.bucket
        return out


def window(now: datetime, name: str | None = None) -> Window:
    """The named range ending now (its end rounded up to a whole bucket, so buckets line up over time)."""
    name = (name or DEFAULT_RANGE).strip()
    if name not in RANGES:
        raise _invalid("range", f"must be one of {', '.join(RANGES)}")
    span, bucket = RANGES[name]
    step = bucket.total_seconds()
    epoch = now.timestamp()
    end = datetime.fromtimestamp((epoch // step + 1) * step, tz=now.tzinfo)
    return Window(start=end - span, end=end, bucket=bucket, name=name)


def _check(w: Window) -> None:
    if w.end <= w.start:
        raise _invalid("end", "must be after start")
    if w.end - w.start > MAX_RANGE:
        raise _invalid("start", f"a range may be at most {MAX_RANGE.days} days")


def _bucket_number(session: Session, column: InstrumentedAttribute[datetime], w: Window) -> ColumnElement[int]:
    """The bucket a time falls in, in SQL: whole buckets since ``w.start``."""
    step = int(w.bucket.total_seconds())
    if session.get_bind().dialect.name == "sqlite":
        epoch = cast(func.strftime("%s", column), Integer)
    else:
        epoch = cast(func.floor(func.extract("epoch", column)), Integer)
    return (epoch - int(w.start.timestamp())) // step


# ---------------------------------------------------------------- alert volumes


@dataclass(frozen=True)
class Volumes:
    """Ingested device alerts in a window: per bucket and code, and per code and CSP region."""

    window: Window
    codes: list[str]                                  # by volume, largest first
    regions: list[str]
    by_bucket: list[dict[str, int]]                   # one per bucket: code -> alerts
    by_code_region: dict[str, dict[str, int]]         # code -> region -> alerts
    by_outcome: dict[str, int]
    total: int

    @property
    def peak(self) -> int:
        return max((sum(b.values()) for b in self.by_bucket), default=0)


def volumes(ctx: Ctx, w: Window, region: str | None = None, code: str | None = None) -> Volumes:
    """Alert volumes by code and CSP region over ``w`` (optionally one region or one code), summed in SQL from the
    per-minute roll-up (``alerts.rollup``): a range costs what its minutes hold, not what its alerts do."""
    _check(w)
    v = AlertVolumeMinute
    where: list[ColumnElement[bool]] = [v.minute >= w.start, v.minute < w.end]
    if region:
        where.append(v.csp_region == ("" if region == UNKNOWN_REGION else region))
    if code:
        where.append(v.code == code.strip().upper())
    bucket = _bucket_number(ctx.session, v.minute, w).label("bucket")
    n = len(w.buckets)
    by_bucket: list[dict[str, int]] = [defaultdict(int) for _ in range(n)]
    by_code_region: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_outcome: dict[str, int] = defaultdict(int)
    regions: set[str] = set()
    # one pass over the range's minutes (the groups are few: buckets x codes x regions x outcomes), summed up here;
    # the window's ends are whole buckets and buckets whole minutes, so each minute falls in one bucket
    for b, c, r, o, count in ctx.session.execute(
            select(bucket, v.code, v.csp_region, v.outcome, func.sum(v.alerts)).where(*where)
            .group_by(bucket, v.code, v.csp_region, v.outcome)):
        k = int(count)
        if b is not None and 0 <= int(b) < n:
            by_bucket[int(b)][c] += k
        name = r or UNKNOWN_REGION
        regions.add(name)
        by_code_region[c][name] += k
        by_outcome[o] += k
    totals = {c: sum(v.values()) for c, v in by_code_region.items()}
    return Volumes(window=w, codes=sorted(totals, key=lambda c: (-totals[c], c)), regions=sorted(regions),
                   by_bucket=[dict(b) for b in by_bucket], by_code_region={c: dict(v) for c, v in
                                                                            by_code_region.items()},
                   by_outcome=dict(by_outcome), total=sum(totals.values()))


# ---------------------------------------------------------------- deadline compliance


@dataclass(frozen=True)
class Compliance:
    """Messages with a deadline: delivered within it, late (delivered after it, or undelivered past it), pending."""

    what: str
    within: int = 0
    late: int = 0
    pending: int = 0

    @property
    def due(self) -> int:
        return self.within + self.late + self.pending

    @property
    def within_percent(self) -> float | None:
        """Within as a share of those decided (within or late); None while none is."""
        decided = self.within + self.late
        return round(100.0 * self.within / decided, 2) if decided else None


@dataclass(frozen=True)
class Deadlines:
    ad1: Compliance
    restoration: Compliance
    outages: dict[str, int]                           # state -> power losses in the window
    breaches: list[AlertDeadlineBreach]               # newest first, at most LIST_LIMIT
    breach_count: int
    breach_causes: list[tuple[str, int]]              # cause -> breaches, most first


def _compliance(ctx: Ctx, what: str, due: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
                delivered: InstrumentedAttribute[datetime | None], where: list[ColumnElement[bool]]) -> Compliance:
    now = ctx.clock.now()
    within = and_(delivered.is_not(None), delivered <= due)
    late = or_(and_(delivered.is_not(None), delivered > due), and_(delivered.is_(None), due < now))
    q = select(func.count(), func.sum(case((within, 1), else_=0)), func.sum(case((late, 1), else_=0))) \
        .where(*where, due.is_not(None))
    n, a, b = ctx.session.execute(q).one()
    n, a, b = int(n or 0), int(a or 0), int(b or 0)
    return Compliance(what, within=a, late=b, pending=n - a - b)


def deadlines(ctx: Ctx, w: Window) -> Deadlines:
    """The power outage rule's deadlines for power losses in ``w``: the AD1 (due 60 s after the 3-minute wait)
    and the restoration, and the breaches recorded in ``w`` with their causes."""
    _check(w)
    p, br = PowerOutage, AlertDeadlineBreach
    where = [p.lost_at >= w.start, p.lost_at < w.end, *_scoped(ctx, p.distributor)]
    states = {s: int(n) for s, n in ctx.session.execute(select(p.state, func.count()).where(*where)
                                                         .group_by(p.state))}
    needs_ad1 = p.state != OutageState.RESTORED_EARLY.value
    ad1 = _compliance(ctx, "AD1 Power Outage Event", p.ad1_due_at, p.ad1_delivered_at, [*where, needs_ad1])
    restoration = _compliance(ctx, "Power restoration", p.restoration_due_at, p.restoration_delivered_at, where)
    bwhere = [br.recorded_at >= w.start, br.recorded_at < w.end, *_scoped(ctx, br.user_id)]
    breaches = list(ctx.session.scalars(select(br).where(*bwhere).order_by(br.recorded_at.desc(), br.id.desc())
                                        .limit(LIST_LIMIT)))
    causes = [(c, int(n)) for c, n in ctx.session.execute(
        select(br.cause, func.count().label("n")).where(*bwhere).group_by(br.cause)
        .order_by(func.count().desc(), br.cause).limit(LIST_LIMIT))]
    return Deadlines(ad1=ad1, restoration=restoration, outages=states, breaches=breaches,
                     breach_count=sum(n for _, n in causes) if len(causes) < LIST_LIMIT else int(
                         ctx.session.scalar(select(func.count()).select_from(br).where(*bwhere)) or 0),
                     breach_causes=causes)


# ---------------------------------------------------------------- throttling


@dataclass(frozen=True)
class Throttling:
    open_summaries: int                   # still counting (their summary alert not yet queued)
    open_alerts: int                      # alerts counted into them
    emitted_summaries: int                # summary alerts queued in the window
    emitted_alerts: int
    top_codes: list[tuple[str, int]]      # code -> alerts throttled (summaries active in the window)
    top_devices: list[tuple[str, str, int]] | None   # (device, code, alerts); None: not shown to this reader


def throttling(ctx: Ctx, w: Window, top: int = 10) -> Throttling:
    """Open and emitted throttle summaries, and the codes (and, for operators, devices) throttled most in ``w``."""
    _check(w)
    t = AlertThrottleSummary
    open_n, open_sum = ctx.session.execute(select(func.count(), func.sum(t.count))
                                           .where(t.emitted_at.is_(None))).one()
    emitted_n, emitted_sum = ctx.session.execute(select(func.count(), func.sum(t.count)).where(
        t.emitted_at >= w.start, t.emitted_at < w.end)).one()
    active = [t.last_at >= w.start, t.first_at < w.end]
    total = func.sum(t.count).label("total")
    codes = [(c, int(n)) for c, n in ctx.session.execute(
        select(t.code, total).where(*active).group_by(t.code).order_by(total.desc(), t.code).limit(top))]
    devices = None
    if sees_everything(ctx):
        devices = [(d, c, int(n)) for d, c, n in ctx.session.execute(
            select(t.device_id, t.code, total).where(*active).group_by(t.device_id, t.code)
            .order_by(total.desc(), t.device_id).limit(top))]
    return Throttling(open_summaries=int(open_n or 0), open_alerts=int(open_sum or 0),
                      emitted_summaries=int(emitted_n or 0), emitted_alerts=int(emitted_sum or 0),
                      top_codes=codes, top_devices=devices)


# ---------------------------------------------------------------- northbound backlog and delivery


@dataclass
class UserDelivery:
    """One User's northbound cache: waiting by priority class, oldest waiting, delivered lately, expired."""

    user_id: str
    waiting: dict[str, int] = field(default_factory=dict)   # priority class -> messages waiting
    oldest_waiting_at: datetime | None = None
    delivered_last_minute: int = 0
    delivered_last_hour: int = 0
    expired: int = 0                                         # in the window
    expired_unreported: int = 0                              # of those, not yet reported to the User

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting.values())

    @property
    def per_second_last_minute(self) -> float:
        return round(self.delivered_last_minute / 60.0, 2)


def priority_classes(settings: Settings) -> tuple[str, ...]:
    """The configured priority classes, highest first (``alerts.traffic``)."""
    from gbsmart.alerts import traffic

    return tuple(traffic.load_traffic(settings).classes)


def _ordered(classes: tuple[str, ...], seen: set[str]) -> list[str]:
    return [c for c in classes if c in seen] + sorted(seen - set(classes))


@dataclass(frozen=True)
class Backlog:
    classes: list[str]                 # the priority classes shown, highest first
    users: list[UserDelivery]          # by most waiting


def backlog(ctx: Ctx, w: Window) -> Backlog:
    """Per User the reader may see: undelivered unexpired messages by priority class and the oldest of them,
    deliveries in the last minute and hour, and the messages expired in ``w``."""
    _check(w)
    m = NorthboundMessage
    now = ctx.clock.now()
    scope = _scoped(ctx, m.user_id)
    users: dict[str, UserDelivery] = {}

    def user(uid: str) -> UserDelivery:
        return users.setdefault(uid, UserDelivery(uid))

    seen: set[str] = set()
    for uid, prio, n, oldest in ctx.session.execute(
            select(m.user_id, m.priority, func.count(), func.min(m.created_at))
            .where(m.delivered_at.is_(None), m.expired_at.is_(None), *scope).group_by(m.user_id, m.priority)):
        u = user(uid)
        u.waiting[prio] = int(n)
        seen.add(prio)
        oldest = oldest if oldest is None or isinstance(oldest, datetime) else datetime.fromisoformat(str(oldest))
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        if oldest is not None and (u.oldest_waiting_at is None or oldest < u.oldest_waiting_at):
            u.oldest_waiting_at = oldest
    minute = now - timedelta(minutes=1)
    for uid, hour_n, minute_n in ctx.session.execute(
            select(m.user_id, func.count(), func.sum(case((m.delivered_at >= minute, 1), else_=0)))
            .where(m.delivered_at >= now - timedelta(hours=1), m.delivered_at <= now, *scope).group_by(m.user_id)):
        u = user(uid)
        u.delivered_last_hour, u.delivered_last_minute = int(hour_n), int(minute_n or 0)
    for uid, n, unreported in ctx.session.execute(
            select(m.user_id, func.count(), func.sum(case((m.expiry_reported_at.is_(None), 1), else_=0)))
            .where(m.delivered_at.is_(None), m.expired_at >= w.start, m.expired_at < w.end, *scope)
            .group_by(m.user_id)):
        u = user(uid)
        u.expired, u.expired_unreported = int(n), int(unreported or 0)
    rows = sorted(users.values(), key=lambda u: (-u.waiting_total, u.user_id))
    return Backlog(classes=_ordered(priority_classes(ctx.settings), seen), users=rows)


def expired_messages(ctx: Ctx, w: Window, limit: int = LIST_LIMIT) -> list[NorthboundMessage]:
    """Messages the reader may see that expired undelivered in ``w``, newest first (issue 11 point 5: reported)."""
    _check(w)
    m = NorthboundMessage
    return list(ctx.session.scalars(
        select(m).where(m.delivered_at.is_(None), m.expired_at >= w.start, m.expired_at < w.end,
                        *_scoped(ctx, m.user_id)).order_by(m.expired_at.desc(), m.id.desc()).limit(limit)))


# ---------------------------------------------------------------- power outages


def outages(ctx: Ctx, state: str | None = None, cursor: str | None = None,
            limit: int = PAGE_SIZE) -> Page[PowerOutage]:
    """Power outages the reader may see (their own Users' as Electricity Distributor), newest loss first."""
    if state and state not in OutageState._value2member_map_:
        raise _invalid("state", f"must be one of {', '.join(s.value for s in OutageState)}")
    if not 1 <= limit <= 500:
        raise _invalid("limit", "must be from 1 to 500")
    p = PowerOutage
    q = select(p).where(*_scoped(ctx, p.distributor))
    if state:
        q = q.where(p.state == state)
    values = decode_cursor(cursor)
    if values is not None:
        try:
            at, last_id = datetime.fromisoformat(str(values[0])), int(values[1])
        except (TypeError, ValueError, IndexError):
            raise Invalid(CURSOR_NOT_OURS) from None
        q = q.where(or_(p.lost_at < at, and_(p.lost_at == at, p.id < last_id)))
    rows = list(ctx.session.scalars(q.order_by(p.lost_at.desc(), p.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor([rows[-1].lost_at.isoformat(), rows[-1].id]) if more else None)


# ---------------------------------------------------------------- everything at once


@dataclass(frozen=True)
class Summary:
    window: Window
    everyone: bool
    volumes: Volumes
    deadlines: Deadlines
    throttling: Throttling
    backlog: Backlog
    expired: list[NorthboundMessage]


def summary(ctx: Ctx, w: Window, region: str | None = None, code: str | None = None) -> Summary:
    """The dashboard's figures for ``w``, as the reader may see them."""
    return Summary(window=w, everyone=sees_everything(ctx), volumes=volumes(ctx, w, region=region, code=code),
                   deadlines=deadlines(ctx, w), throttling=throttling(ctx, w), backlog=backlog(ctx, w),
                   expired=expired_messages(ctx, w))
