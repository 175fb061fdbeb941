"""DCC Service Alerts broadcasts (seed 004, SSI "Alert Broadcast Refresh"): a notice the DCC or the Code
Administrator puts on every portal page (an outage, planned maintenance, a degraded service), which every page
asks for again every minute (``alerts_broadcast_refresh_seconds``), so a person looking at any page sees a new
one without reloading.

The one owner of who may broadcast and of what a broadcast must say: the API, the pages and the CLI call these.
Only DCC and Code Administrator people (or the CLI acting as the system, i.e. the DCC's operator) may add or end
one; everyone signed in sees the ones in force. Each change is in the change log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from gbsmart.alerts.enums import BroadcastSeverity
from gbsmart.core.audit import record_change, snapshot
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.core.types import Line, Text
from gbsmart.models.alerts import ServiceBroadcast

#: portal roles that may add and end a broadcast; "system" is the CLI acting as the DCC's operator
BROADCASTER_ROLES = frozenset({"dcc", "code_administrator", "system"})
#: most broadcasts shown at once in the banner (the newest); more is a list for the broadcasts page
BANNER_LIMIT = 5
LIST_LIMIT = 200
_FIELDS = ("title", "body", "severity", "starts_at", "ends_at", "created_by", "created_at")


class BroadcastCreate(BaseModel):
    """A new broadcast: what it says, how severe, and when it is in force (from now, until ended, by default)."""

    title: Line = Field(min_length=3, max_length=200, description="One line, e.g. 'CSP North: delayed alerts'.")
    body: Text = Field(min_length=1, max_length=4000, description="What is happening and what Users should do.")
    severity: BroadcastSeverity = Field(default=BroadcastSeverity.INFO, description="info, warning or critical.")
    starts_at: datetime | None = Field(default=None, description="When it is shown from (default: now).")
    ends_at: datetime | None = Field(default=None, description="When it stops being shown (default: until ended).")

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> BroadcastCreate:
        for name in ("starts_at", "ends_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name}: give a time zone, e.g. 2026-12-04T18:00:00Z")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


def may_broadcast(actor: Actor) -> bool:
    """Only DCC and Code Administrator people (and the DCC's operator at the CLI) add or end broadcasts."""
    return actor.has_role(*BROADCASTER_ROLES)


def _require_broadcaster(ctx: Ctx, what: str) -> None:
    if not may_broadcast(ctx.actor):
        raise Forbidden(f"Only DCC or Code Administrator people may {what} a DCC Service Alerts broadcast; "
                        "ask the DCC's service desk to publish it.")


def create(ctx: Ctx, data: BroadcastCreate) -> ServiceBroadcast:
    """Publish a broadcast; it shows on every portal page from ``starts_at`` until it ends."""
    _require_broadcaster(ctx, "publish")
    now = ctx.clock.now()
    starts_at = data.starts_at or now
    if data.ends_at is not None and data.ends_at <= now:
        raise Invalid("ends_at: must be in the future (a broadcast that has already ended would never be shown)",
                      detail=[{"field": "ends_at", "message": "must be in the future"}])
    row = ServiceBroadcast(title=data.title.strip(), body=data.body.strip(), severity=data.severity.value,
                           starts_at=starts_at, ends_at=data.ends_at, created_by=ctx.actor.username, created_at=now)
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "create", "service_broadcast", row.id, after=snapshot(row, *_FIELDS))
    return row


def get(session: Session, broadcast_id: int) -> ServiceBroadcast:
    row = session.get(ServiceBroadcast, broadcast_id)
    if row is None:
        raise NotFound(f"No DCC Service Alerts broadcast {broadcast_id}: `gbsmart alerts broadcast list` shows them.")
    return row


def end(ctx: Ctx, broadcast_id: int) -> ServiceBroadcast:
    """End a broadcast now: it leaves every page at the next refresh."""
    _require_broadcaster(ctx, "end")
    row = get(ctx.session, broadcast_id)
    now = ctx.clock.now()
    if row.ends_at is not None and row.ends_at <= now:
        raise Conflict(f"Broadcast {broadcast_id} already ended at {row.ends_at:%Y-%m-%d %H:%M} UTC; "
                       "publish a new one if it is needed again.")
    before = snapshot(row, "ends_at")
    row.ends_at = now
    ctx.session.flush()
    record_change(ctx, "end", "service_broadcast", row.id, before=before, after=snapshot(row, "ends_at"))
    return row


def _in_force(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    b = ServiceBroadcast
    return (b.starts_at <= now, or_(b.ends_at.is_(None), b.ends_at > now))


def current(session: Session, now: datetime, limit: int = BANNER_LIMIT) -> list[ServiceBroadcast]:
    """The broadcasts in force at ``now``, most severe first, then newest."""
    b = ServiceBroadcast
    rows = list(session.scalars(select(b).where(*_in_force(now)).order_by(b.starts_at.desc(), b.id.desc())
                                .limit(LIST_LIMIT)))
    rank = {s.value: i for i, s in enumerate(reversed(list(BroadcastSeverity)))}
    rows.sort(key=lambda r: rank.get(r.severity, len(rank)))
    return rows[:limit]


@dataclass(frozen=True)
class BroadcastListing:
    in_force: list[ServiceBroadcast]
    scheduled: list[ServiceBroadcast]
    ended: list[ServiceBroadcast]


def listing(ctx: Ctx, limit: int = 50) -> BroadcastListing:
    """Every signed-in person: the broadcasts in force, those scheduled to start, and the latest ended."""
    b = ServiceBroadcast
    now = ctx.clock.now()
    if not 1 <= limit <= LIST_LIMIT:
        raise Invalid(f"limit: must be from 1 to {LIST_LIMIT}", detail=[{"field": "limit", "message": "out of range"}])
    scheduled = list(ctx.session.scalars(select(b).where(b.starts_at > now).order_by(b.starts_at).limit(limit)))
    ended = list(ctx.session.scalars(select(b).where(b.ends_at <= now).order_by(b.ends_at.desc(), b.id.desc())
                                     .limit(limit)))
    return BroadcastListing(in_force=current(ctx.session, now, limit=limit), scheduled=scheduled, ended=ended)
