"""JSON API of the portal over alerts, mounted under /api/v1: the DCC Service Alerts broadcasts and the alert
figures the dashboard shows.

GET /alerts/broadcasts (in force, scheduled, ended), GET /alerts/broadcasts/current (what the banner shows),
POST /alerts/broadcasts (DCC or Code Administrator), POST /alerts/broadcasts/{id}/end, GET /alerts/summary
(volumes, deadline compliance, throttling, backlog and expired messages, scoped as ``alerts.queries`` says),
GET /alerts/outages (keyset pages).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from gbsmart.alerts import broadcasts, northbound, queries
from gbsmart.alerts.enums import BroadcastSeverity
from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId, Line
from gbsmart.models.alerts import NorthboundMessage, PowerOutage, ServiceBroadcast
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["alerts"])


class BroadcastRead(BaseModel):
    id: int
    title: str
    body: str
    severity: BroadcastSeverity
    starts_at: datetime
    ends_at: datetime | None
    created_by: str
    created_at: datetime


class BroadcastsRead(BaseModel):
    in_force: list[BroadcastRead]
    scheduled: list[BroadcastRead]
    ended: list[BroadcastRead]


class ComplianceRead(BaseModel):
    what: str
    due: int
    within: int
    late: int
    pending: int
    within_percent: float | None


class BreachRead(BaseModel):
    message_id: str
    what: str
    subject: str
    user_id: str
    due_at: datetime
    delivered_at: datetime | None
    cause: str
    recorded_at: datetime


class CauseRead(BaseModel):
    cause: str
    breaches: int


class DeadlinesRead(BaseModel):
    ad1: ComplianceRead
    restoration: ComplianceRead
    outages_by_state: dict[str, int]
    breach_count: int
    breach_causes: list[CauseRead]
    breaches: list[BreachRead]


class VolumeBucket(BaseModel):
    start: datetime
    by_code: dict[str, int]


class VolumesRead(BaseModel):
    total: int
    codes: list[str]
    regions: list[str]
    by_code_region: dict[str, dict[str, int]]
    by_outcome: dict[str, int]
    buckets: list[VolumeBucket]


class ThrottledDevice(BaseModel):
    device_id: str
    code: str
    alerts: int


class ThrottlingRead(BaseModel):
    open_summaries: int
    open_alerts: int
    emitted_summaries: int
    emitted_alerts: int
    top_codes: dict[str, int]
    top_devices: list[ThrottledDevice] | None


class UserDeliveryRead(BaseModel):
    user_id: str
    waiting: dict[str, int]
    waiting_total: int
    oldest_waiting_at: datetime | None
    delivered_last_minute: int
    delivered_last_hour: int
    expired: int
    expired_unreported: int


class ExpiredRead(BaseModel):
    message_id: str
    user_id: str
    kind: str
    priority: str
    code: str
    created_at: datetime
    expires_at: datetime
    expired_at: datetime | None
    expiry_reported_at: datetime | None
    attempts: int
    last_error: str


class SummaryRead(BaseModel):
    range: str
    start: datetime
    end: datetime
    bucket_seconds: int
    sees_every_user: bool
    volumes: VolumesRead
    deadlines: DeadlinesRead
    throttling: ThrottlingRead
    priority_classes: list[str]
    users: list[UserDeliveryRead]
    expired: list[ExpiredRead]


class OutageRead(BaseModel):
    id: int
    comms_hub_id: str
    mpxn: str | None
    distributor: str | None
    state: str
    scope: str | None
    lost_at: datetime
    restored_at: datetime | None
    ad1_due_at: datetime
    ad1_delivered_at: datetime | None
    restoration_due_at: datetime | None
    restoration_delivered_at: datetime | None


class OutagePage(BaseModel):
    items: list[OutageRead]
    next_cursor: str | None


def _broadcast(b: ServiceBroadcast) -> BroadcastRead:
    return BroadcastRead(id=b.id, title=b.title, body=b.body, severity=BroadcastSeverity(b.severity),
                         starts_at=b.starts_at, ends_at=b.ends_at, created_by=b.created_by, created_at=b.created_at)


def _compliance(c: queries.Compliance) -> ComplianceRead:
    return ComplianceRead(what=c.what, due=c.due, within=c.within, late=c.late, pending=c.pending,
                          within_percent=c.within_percent)


def _expired(m: NorthboundMessage) -> ExpiredRead:
    return ExpiredRead(message_id=m.message_id, user_id=m.user_id, kind=m.kind, priority=m.priority, code=m.code,
                       created_at=m.created_at, expires_at=m.expires_at, expired_at=m.expired_at,
                       expiry_reported_at=m.expiry_reported_at, attempts=m.attempts, last_error=m.last_error)


def _outage(p: PowerOutage) -> OutageRead:
    return OutageRead(id=p.id, comms_hub_id=p.comms_hub_id, mpxn=p.mpxn, distributor=p.distributor, state=p.state,
                      scope=p.scope, lost_at=p.lost_at, restored_at=p.restored_at, ad1_due_at=p.ad1_due_at,
                      ad1_delivered_at=p.ad1_delivered_at, restoration_due_at=p.restoration_due_at,
                      restoration_delivered_at=p.restoration_delivered_at)


def summary_read(s: queries.Summary) -> SummaryRead:
    """The dashboard's figures as JSON (also what the page's figures are checked against in tests)."""
    v, d, t, w = s.volumes, s.deadlines, s.throttling, s.window
    return SummaryRead(
        range=w.name, start=w.start, end=w.end, bucket_seconds=int(w.bucket.total_seconds()),
        sees_every_user=s.everyone,
        volumes=VolumesRead(total=v.total, codes=v.codes, regions=v.regions, by_code_region=v.by_code_region,
                            by_outcome=v.by_outcome,
                            buckets=[VolumeBucket(start=at, by_code=b) for at, b in zip(w.buckets, v.by_bucket,
                                                                                         strict=True)]),
        deadlines=DeadlinesRead(
            ad1=_compliance(d.ad1), restoration=_compliance(d.restoration), outages_by_state=d.outages,
            breach_count=d.breach_count, breach_causes=[CauseRead(cause=c, breaches=n) for c, n in d.breach_causes],
            breaches=[BreachRead(message_id=b.message_id, what=b.what, subject=b.subject, user_id=b.user_id,
                                 due_at=b.due_at, delivered_at=b.delivered_at, cause=b.cause,
                                 recorded_at=b.recorded_at) for b in d.breaches]),
        throttling=ThrottlingRead(
            open_summaries=t.open_summaries, open_alerts=t.open_alerts, emitted_summaries=t.emitted_summaries,
            emitted_alerts=t.emitted_alerts, top_codes=dict(t.top_codes),
            top_devices=None if t.top_devices is None else [ThrottledDevice(device_id=dv, code=c, alerts=n)
                                                            for dv, c, n in t.top_devices]),
        priority_classes=s.backlog.classes,
        users=[UserDeliveryRead(user_id=u.user_id, waiting=u.waiting, waiting_total=u.waiting_total,
                                oldest_waiting_at=u.oldest_waiting_at, delivered_last_minute=u.delivered_last_minute,
                                delivered_last_hour=u.delivered_last_hour, expired=u.expired,
                                expired_unreported=u.expired_unreported) for u in s.backlog.users],
        expired=[_expired(m) for m in s.expired])


@router.get("/alerts/broadcasts")
def list_broadcasts(ctx: Ctx = Depends(get_ctx)) -> BroadcastsRead:
    found = broadcasts.listing(ctx)
    return BroadcastsRead(in_force=[_broadcast(b) for b in found.in_force],
                          scheduled=[_broadcast(b) for b in found.scheduled],
                          ended=[_broadcast(b) for b in found.ended])


@router.get("/alerts/broadcasts/current")
def current_broadcasts(ctx: Ctx = Depends(get_ctx)) -> list[BroadcastRead]:
    return [_broadcast(b) for b in broadcasts.current(ctx.session, ctx.clock.now())]


@router.post("/alerts/broadcasts", status_code=201)
def create_broadcast(data: broadcasts.BroadcastCreate, ctx: Ctx = Depends(get_ctx)) -> BroadcastRead:
    return _broadcast(broadcasts.create(ctx, data))


@router.post("/alerts/broadcasts/{broadcast_id}/end")
def end_broadcast(broadcast_id: DbId, ctx: Ctx = Depends(get_ctx)) -> BroadcastRead:
    return _broadcast(broadcasts.end(ctx, broadcast_id))


@router.get("/alerts/summary")
def alerts_summary(ctx: Ctx = Depends(get_ctx), range: str = queries.DEFAULT_RANGE,  # noqa: A002
                   region: str | None = None, code: str | None = None) -> SummaryRead:
    w = queries.window(ctx.clock.now(), range)
    return summary_read(queries.summary(ctx, w, region=region, code=code))


@router.get("/alerts/outages")
def list_outages(ctx: Ctx = Depends(get_ctx), state: str | None = None, cursor: str | None = None,
                 limit: int = queries.PAGE_SIZE) -> OutagePage:
    page = queries.outages(ctx, state=state, cursor=cursor, limit=limit)
    return OutagePage(items=[_outage(p) for p in page.items], next_cursor=page.next_cursor)


class ExpiredAcknowledge(BaseModel):
    user_id: Line


class ExpiredAcknowledged(BaseModel):
    user_id: str
    acknowledged: int


@router.post("/alerts/expired/acknowledge")
def acknowledge_expired(data: ExpiredAcknowledge, ctx: Ctx = Depends(get_ctx)) -> ExpiredAcknowledged:
    """The User's own people mark its expired messages seen (the expiry reported to the User); 403 for others."""
    return ExpiredAcknowledged(user_id=data.user_id.strip().upper(),
                               acknowledged=northbound.acknowledge_expired(ctx, data.user_id))
