"""The gateway's messages as the portal, the API and the CLI read them: search, one message, the TRT summary.

Reads ``gateway_messages`` (the journal the gateway writes, ``gateway.journal``). Visibility is in the SQL
(``visible``: the rule of ``gateway.rules.sees_every_user``), so a page is full of messages the reader may
see and none they may not see is loaded; a message they may not see is "not found", as one that does not
exist (decision 0012). Pages follow a key, newest first (``received_at`` then ``id``, decision 0016).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid, NotFound
from gbsmart.core.pagination import CURSOR_NOT_OURS, Page, decode_cursor, encode_cursor
from gbsmart.gateway.enums import MessageState, TrtClass, TrtOutcome
from gbsmart.gateway.keystore import eui64
from gbsmart.gateway.rules import DEVICE_RESPONSE_CLASSES, sees_every_user, trt_outcome
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser

E = TypeVar("E", MessageState, TrtClass)
PAGE_SIZE = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class MessageFilters:
    """What to search for; every field optional, all given must match."""

    request_id: str | None = None     # the whole RequestID, originator:target:counter
    device: str | None = None         # the target: a Device ID (or the DCC's User ID for non-device requests)
    originator: str | None = None     # the sending User ID
    srv: str | None = None            # Service Reference Variant, e.g. 4.1.1
    code: str | None = None           # DUIS Response Code, e.g. E4
    state: MessageState | None = None
    trt_class: TrtClass | None = None
    received_from: datetime | None = None   # inclusive
    received_to: datetime | None = None     # exclusive

    def any(self) -> bool:
        return any(v is not None for v in vars(self).values())


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", detail=[{"field": field, "message": message}])


def make_filters(*, request_id: str | None = None, device: str | None = None, originator: str | None = None,
                 srv: str | None = None, code: str | None = None, state: str | None = None,
                 trt_class: str | None = None, received_from: datetime | None = None,
                 received_to: datetime | None = None) -> MessageFilters:
    """Filters from what a person typed: IDs put in DUIS's form, codes upper-cased, a bad value a 422 naming it."""

    def eui(field: str, value: str | None) -> str | None:
        if not (value or "").strip():
            return None
        try:
            return eui64(value or "")
        except ValueError as exc:
            raise _invalid(field, str(exc)) from None

    def member(field: str, enum: type[E], value: str | None) -> E | None:
        if not value:
            return None
        if value not in enum._value2member_map_:
            raise _invalid(field, f"must be one of {', '.join(m.value for m in enum)}")
        return enum(value)

    rid = (request_id or "").strip().upper() or None
    if rid is not None and rid.count(":") != 2:
        raise _invalid("request_id", "write the whole RequestID: originator User ID : target ID : counter")
    if received_from and received_to and received_to <= received_from:
        raise _invalid("received_to", "must be after received_from")
    return MessageFilters(
        request_id=rid, device=eui("device", device), originator=eui("originator", originator),
        srv=(srv or "").strip() or None, code=(code or "").strip().upper() or None,
        state=member("state", MessageState, state), trt_class=member("trt_class", TrtClass, trt_class),
        received_from=received_from, received_to=received_to)


def visible(ctx: Ctx) -> ColumnElement[bool] | None:
    """The SQL of who sees what (``rules.sees_every_user``): None for an operator, else their own User IDs'."""
    if sees_every_user(ctx.actor.roles):
        return None
    if ctx.actor.organisation_id is None:
        return false()
    return GatewayMessage.originator.in_(
        select(DccUser.eui64).where(DccUser.organisation_id == ctx.actor.organisation_id))


def _where(ctx: Ctx, f: MessageFilters) -> list[ColumnElement[bool]]:
    m = GatewayMessage
    conditions: list[ColumnElement[bool]] = []
    if (seen := visible(ctx)) is not None:
        conditions.append(seen)
    pairs = ((m.request_id, f.request_id), (m.target, f.device), (m.originator, f.originator), (m.srv, f.srv),
             (m.code, f.code), (m.state, f.state.value if f.state else None),
             (m.trt_class, f.trt_class.value if f.trt_class else None))
    conditions += [column == value for column, value in pairs if value is not None]
    if f.received_from is not None:
        conditions.append(m.received_at >= f.received_from)
    if f.received_to is not None:
        conditions.append(m.received_at < f.received_to)
    return conditions


def _cursor_key(cursor: str | None) -> tuple[datetime, int] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        at, last_id = values
        return datetime.fromisoformat(str(at)), int(last_id)
    except (TypeError, ValueError):
        raise Invalid(CURSOR_NOT_OURS) from None


def search(ctx: Ctx, f: MessageFilters, cursor: str | None = None, limit: int = PAGE_SIZE) -> Page[GatewayMessage]:
    """Messages the reader may see that match ``f``, newest first, one keyset page."""
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be from 1 to {MAX_LIMIT}")
    m = GatewayMessage
    q = select(m).where(*_where(ctx, f)).order_by(m.received_at.desc(), m.id.desc()).limit(limit + 1)
    if (after := _cursor_key(cursor)) is not None:
        at, last_id = after
        q = q.where(or_(m.received_at < at, and_(m.received_at == at, m.id < last_id)))
    rows = list(ctx.session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor([rows[-1].received_at.isoformat(), rows[-1].id]) if more else None
    return Page(items=rows, next_cursor=next_cursor)


def get(ctx: Ctx, message_id: int) -> GatewayMessage:
    """One message, if the reader may see it (else not found, as one that does not exist)."""
    q = select(GatewayMessage).where(GatewayMessage.id == message_id, *_where(ctx, MessageFilters()))
    row = ctx.session.scalar(q)
    if row is None:
        raise NotFound(f"No DCC message {message_id} that you may see: search the messages at /messages.")
    return row


def outcome(ctx: Ctx, message: GatewayMessage) -> TrtOutcome:
    """The message against its TRT now (``rules.trt_outcome``)."""
    return trt_outcome(message.trt_class, message.state, message.answered_at, message.completed_at,
                       message.due_at, ctx.clock.now())


@dataclass(frozen=True)
class TrtSummaryRow:
    """One TRT class: how many messages, how many met, missed or still pending their TRT."""

    trt_class: TrtClass
    messages: int
    met: int
    missed: int
    pending: int

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def within_percent(self) -> float | None:
        """Met as a share of those decided (met or missed); None while none is."""
        return round(100.0 * self.met / self.decided, 2) if self.decided else None


def trt_summary(ctx: Ctx, f: MessageFilters | None = None) -> list[TrtSummaryRow]:
    """Per TRT class, the messages the reader may see (matching ``f``) against their TRT, counted in SQL.

    The SQL restates ``rules.trt_outcome`` (tests/gateway/test_messages.py checks that the two agree)."""
    m = GatewayMessage
    now = ctx.clock.now()
    response = case((and_(m.trt_class.in_(DEVICE_RESPONSE_CLASSES), m.state != MessageState.REFUSED.value),
                     m.completed_at), else_=m.answered_at)
    met = and_(response.is_not(None), response <= m.due_at)
    missed = or_(and_(response.is_not(None), response > m.due_at), and_(response.is_(None), m.due_at < now))
    q = (select(m.trt_class, func.count(), func.sum(case((met, 1), else_=0)),
                func.sum(case((missed, 1), else_=0)))
         .where(*_where(ctx, f or MessageFilters()), m.trt_class.is_not(None), m.due_at.is_not(None))
         .group_by(m.trt_class))
    found = {cls: (int(n), int(a or 0), int(b or 0)) for cls, n, a, b in ctx.session.execute(q)}
    return [TrtSummaryRow(cls, n, a, b, n - a - b) for cls in TrtClass
            if (row := found.get(cls.value)) is not None for n, a, b in (row,)]


def originators_of(session: Session, organisation_id: int | None) -> list[str]:
    """The DCC User IDs an organisation holds (for the search form's choice)."""
    if organisation_id is None:
        return []
    return list(session.scalars(select(DccUser.eui64).where(DccUser.organisation_id == organisation_id)
                                .order_by(DccUser.eui64)))
