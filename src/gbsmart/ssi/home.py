"""A DCC User's service at a glance (issue 15 point 1): one read of what the message path, the alerts, the service
desk and the performance measures recorded, for one organisation's User IDs.

``glance(ctx, organisation_id=None)``: a Party's people always get their own organisation's; the DCC and the Code
Administrator get the organisation they name, or every User together. Each figure is counted from its own table
over an indexed range (``gateway_messages`` by originator and time, ``northbound_messages`` by User), so the page
costs a handful of small queries however large the journal. ``require_feature(ctx, "ssi_home")`` first: the page
is in early access until the DCC switches it on for all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import ColumnElement, false, func, select

from gbsmart.alerts import broadcasts
from gbsmart.alerts.enums import OutboundKind
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Forbidden, Invalid
from gbsmart.gateway.enums import MessageState, QuarantineStatus
from gbsmart.models.adt import QuarantinedRequest
from gbsmart.models.alerts import NorthboundMessage, ServiceBroadcast
from gbsmart.models.delivery import GatewayResponse
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, Organisation
from gbsmart.service import incidents, performance
from gbsmart.ssi import features
from gbsmart.ssi.features import STAFF, require_feature

FEATURE = "ssi_home"
#: the journal states that mean "taken": acknowledged or answered, whatever happened next
ACCEPTED = (MessageState.ANSWERED, MessageState.ACKNOWLEDGED, MessageState.COMPLETED, MessageState.DELIVERED,
            MessageState.UNDELIVERED, MessageState.RELEASED)
INCIDENTS_SHOWN = 10


@dataclass
class Glance:
    organisation: Organisation | None          # None: every User (the DCC's view)
    user_ids: list[str] | None                 # None: every User
    day_start: datetime
    month: date
    requests_by_state: dict[str, int] = field(default_factory=dict)
    refused_by_code: list[tuple[str, int]] = field(default_factory=list)     # most first
    responses_by_code: list[tuple[str, int]] = field(default_factory=list)   # device responses made today
    quarantined_held: int = 0
    oldest_held_at: datetime | None = None
    alerts_today: dict[str, int] = field(default_factory=dict)              # kind -> northbound messages made today
    alerts_delivered_today: int = 0
    waiting: int = 0                                                        # northbound cache: undelivered, unexpired
    oldest_waiting_at: datetime | None = None
    expired_unreported: int = 0
    responses_undelivered: int = 0
    incidents: list[incidents.Row] = field(default_factory=list)
    incidents_open: int = 0
    figures: list[performance.Figure] = field(default_factory=list)
    broadcasts: list[ServiceBroadcast] = field(default_factory=list)

    @property
    def requests_today(self) -> int:
        return sum(self.requests_by_state.values())

    @property
    def accepted_today(self) -> int:
        return sum(self.requests_by_state.get(s.value, 0) for s in ACCEPTED)

    @property
    def refused_today(self) -> int:
        return self.requests_by_state.get(MessageState.REFUSED.value, 0)

    @property
    def quarantined_today(self) -> int:
        return self.requests_by_state.get(MessageState.QUARANTINED.value, 0)

    @property
    def alerts_received_today(self) -> int:
        return sum(self.alerts_today.values())


def _scope(ctx: Ctx, organisation_id: int | None) -> tuple[Organisation | None, list[str] | None]:
    """(organisation, its User IDs) the reader looks at: their own unless they are staff."""
    if not ctx.actor.has_role(*STAFF):
        own = ctx.actor.organisation_id
        if own is None:
            raise Forbidden("your account belongs to no organisation, so it has no service to show: ask your "
                            "Party administrator or the Code Administrator to add you to your organisation")
        if organisation_id is not None and organisation_id != own:
            raise Forbidden("you see your own organisation's service only")
        organisation_id = own
    if organisation_id is None:
        return None, None
    org = ctx.session.get(Organisation, organisation_id)
    if org is None:
        raise Invalid(f"There is no organisation {organisation_id}",
                      detail=[{"field": "organisation", "message": "not an organisation"}])
    ids = list(ctx.session.scalars(select(DccUser.eui64).where(DccUser.organisation_id == org.id)
                                   .order_by(DccUser.eui64)))
    return org, ids


def _in(column: object, ids: list[str] | None) -> list[ColumnElement[bool]]:
    if ids is None:
        return []
    if not ids:
        return [false()]
    return [column.in_(ids)]  # type: ignore[attr-defined]


def glance(ctx: Ctx, organisation_id: int | None = None) -> Glance:
    """What the reader's organisation (or, for staff, the one named; else every User) did and has waiting."""
    require_feature(ctx, FEATURE)
    org, ids = _scope(ctx, organisation_id)
    now = ctx.clock.now()
    day_start = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    g = Glance(org, ids, day_start, now.date().replace(day=1))
    s = ctx.session
    m = GatewayMessage
    today = [*_in(m.originator, ids), m.received_at >= day_start, m.received_at <= now]
    g.requests_by_state = {state: int(n) for state, n in
                           s.execute(select(m.state, func.count()).where(*today).group_by(m.state))}
    g.refused_by_code = [(code, int(n)) for code, n in s.execute(
        select(m.code, func.count()).where(*today, m.state == MessageState.REFUSED.value)
        .group_by(m.code).order_by(func.count().desc(), m.code).limit(6))]
    g.responses_by_code = [(code, int(n)) for code, n in s.execute(
        select(m.code, func.count()).where(*_in(m.originator, ids), m.completed_at >= day_start,
                                           m.completed_at <= now)
        .group_by(m.code).order_by(func.count().desc(), m.code).limit(6))]
    q = QuarantinedRequest
    held, oldest = s.execute(select(func.count(), func.min(q.received_at))
                             .where(*_in(q.originator, ids), q.status == QuarantineStatus.HELD.value)).one()
    g.quarantined_held, g.oldest_held_at = int(held or 0), oldest  # MIN keeps the column's UTC type
    n = NorthboundMessage
    kinds: Counter[str] = Counter()
    for kind, count in s.execute(select(n.kind, func.count()).where(
            *_in(n.user_id, ids), n.created_at >= day_start, n.created_at <= now,
            n.kind != OutboundKind.RESPONSE.value).group_by(n.kind)):
        kinds[kind] += int(count)
    g.alerts_today = dict(kinds)
    g.alerts_delivered_today = int(s.scalar(select(func.count()).select_from(n).where(
        *_in(n.user_id, ids), n.kind != OutboundKind.RESPONSE.value, n.delivered_at >= day_start,
        n.delivered_at <= now)) or 0)
    waiting, oldest_w = s.execute(select(func.count(), func.min(n.created_at)).where(
        *_in(n.user_id, ids), n.delivered_at.is_(None), n.expired_at.is_(None))).one()
    g.waiting, g.oldest_waiting_at = int(waiting or 0), oldest_w
    g.expired_unreported = int(s.scalar(select(func.count()).select_from(n).where(
        *_in(n.user_id, ids), n.expired_at.is_not(None), n.expiry_reported_at.is_(None))) or 0)
    r = GatewayResponse
    g.responses_undelivered = int(s.scalar(select(func.count()).select_from(r).where(
        *_in(r.originator, ids), r.delivered_at.is_(None))) or 0)
    rows = _incidents(ctx, org)
    g.incidents_open, g.incidents = len(rows), rows[:INCIDENTS_SHOWN]
    g.figures = performance.month_figures(ctx, g.month, organisation_id=org.id if org else None)
    g.broadcasts = broadcasts.current(s, now)
    return g


def _incidents(ctx: Ctx, org: Organisation | None) -> list[incidents.Row]:
    """Open incidents, least time left to SLA first: a Party's own (``service.incidents`` decides what it sees);
    for staff looking at one organisation, that organisation's."""
    rows = incidents.list_incidents(ctx, view="open", sort="left")
    if org is not None and ctx.actor.has_role(*STAFF):
        rows = [r for r in rows if r.incident.organisation_id == org.id]
    return rows


def age_text(at: datetime | None, now: datetime) -> str:
    """"4 min", "3 h 5 min", "2 days": how long something has waited."""
    if at is None:
        return ""
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


def organisations_with_users(ctx: Ctx) -> list[Organisation]:
    """For staff's chooser: the organisations that hold DCC User IDs, by name."""
    if not ctx.actor.has_role(*STAFF):
        return []
    return list(ctx.session.scalars(select(Organisation).where(
        Organisation.id.in_(select(DccUser.organisation_id))).order_by(Organisation.name)))



def as_dict(g: Glance, now: datetime) -> dict[str, object]:
    """The glance as JSON: what the API answers and the CLI prints."""
    return {
        "organisation": g.organisation.name if g.organisation else None,
        "user_ids": g.user_ids,
        "since": g.day_start.isoformat(),
        "requests_today": {"total": g.requests_today, "taken": g.accepted_today, "refused": g.refused_today,
                           "quarantined": g.quarantined_today, "by_state": g.requests_by_state,
                           "refused_by_code": dict(g.refused_by_code)},
        "device_responses_today": dict(g.responses_by_code),
        "quarantined_held": g.quarantined_held,
        "oldest_held_at": g.oldest_held_at.isoformat() if g.oldest_held_at else None,
        "alerts_today": {"total": g.alerts_received_today, "by_kind": g.alerts_today,
                         "delivered": g.alerts_delivered_today},
        "northbound_backlog": {"waiting": g.waiting, "responses_undelivered": g.responses_undelivered,
                               "expired_unreported": g.expired_unreported,
                               "oldest_waiting_at": g.oldest_waiting_at.isoformat() if g.oldest_waiting_at else None},
        "incidents_open": g.incidents_open,
        "incidents": [{"reference": r.incident.reference, "title": r.incident.title, "category": r.incident.category,
                       "status": r.incident.status, "time_left": r.left_text,
                       "due_at": r.sla.due_at.isoformat() if r.sla.due_at else None} for r in g.incidents],
        "cpm_month": g.month.strftime("%Y-%m"),
        "cpm": [{"code": f.level.code, "name": f.level.name, "counted": f.counted, "met": f.met,
                 "share": None if f.share is None else round(f.share, 2), "standing": f.standing} for f in g.figures],
        "service_alerts": [{"title": b.title, "body": b.body, "severity": b.severity,
                            "since": b.starts_at.isoformat()} for b in g.broadcasts],
        "as_of": now.isoformat(),
    }


def is_home_for(ctx: Ctx) -> bool:
    """Whether ``/`` shows the reader this home: a Party's person whose organisation holds a DCC User ID, with the
    feature on for it (staff keep the governance dashboard and open ``/ssi`` to look at a User's)."""
    org = ctx.actor.organisation_id
    if org is None or ctx.actor.has_role(*STAFF) or not features.is_enabled(ctx, FEATURE):
        return False
    return ctx.session.scalar(select(DccUser.id).where(DccUser.organisation_id == org).limit(1)) is not None
