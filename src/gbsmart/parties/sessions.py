"""Portal sessions kept on the server: started at sign-in, checked on every request, ended by sign-out, a password
change or the Code Administrator (docs/decisions/0013-server-side-sessions.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session

from gbsmart.config import Settings
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import NotFound
from gbsmart.core.security import new_csrf_token, new_session_id, token_digest
from gbsmart.models.parties import Person
from gbsmart.models.sessions import WebSession
from gbsmart.parties.service import _require_ca

#: last_seen_at is written at most this often, so a busy page does not write on every request
TOUCH_EVERY = timedelta(minutes=1)


def start(ctx: Ctx, person: Person, user_agent: str | None, address: str | None) -> str:
    """A new session for ``person``: returns the random id for the cookie (only its digest is kept)."""
    now = ctx.clock.now()
    ctx.session.execute(delete(WebSession).where(WebSession.expires_at < now))
    raw = new_session_id()
    ctx.session.add(WebSession(
        session_hash=token_digest(raw), person_id=person.id, csrf_token=new_csrf_token(), created_at=now,
        last_seen_at=now, expires_at=now + timedelta(seconds=ctx.settings.session_max_age_seconds),
        user_agent=user_agent[:300] if user_agent else None, client_address=address,
    ))
    return raw


def _live(now: datetime, settings: Settings) -> ColumnElement[bool]:
    idle = timedelta(seconds=settings.session_idle_seconds)
    return (WebSession.revoked_at.is_(None)) & (WebSession.expires_at > now) & (WebSession.last_seen_at > now - idle)


def resolve(session: Session, raw: str, now: datetime, settings: Settings) -> WebSession | None:
    """The live session the cookie's id names, or None if it is unknown, ended, idle too long or too old."""
    row = session.scalar(select(WebSession).where(WebSession.session_hash == token_digest(raw), _live(now, settings)))
    if row is not None and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end(row: WebSession, now: datetime, because: str) -> None:
    row.revoked_at = now
    row.ended_because = because


def end_all(ctx: Ctx, person: Person, because: str) -> int:
    """End every live session of ``person``; how many there were."""
    rows = ctx.session.scalars(select(WebSession).where(WebSession.person_id == person.id,
                                                        _live(ctx.clock.now(), ctx.settings))).all()
    for row in rows:
        end(row, ctx.clock.now(), because)
    return len(rows)


def live_sessions(ctx: Ctx, username: str | None = None) -> list[WebSession]:
    """Sessions that are live now, oldest first (the Code Administrator's view)."""
    _require_ca(ctx)
    stmt = select(WebSession).join(WebSession.person).where(_live(ctx.clock.now(), ctx.settings))
    if username:
        stmt = stmt.where(Person.username == username)
    return list(ctx.session.scalars(stmt.order_by(WebSession.created_at, WebSession.id)))


def revoke(ctx: Ctx, session_id: int) -> WebSession:
    """The Code Administrator ends one session at once."""
    _require_ca(ctx)
    row = ctx.session.get(WebSession, session_id)
    if row is None:
        raise NotFound(f"No portal session with id {session_id}. `gbsmart sessions list` shows them.")
    if row.revoked_at is None:
        end(row, ctx.clock.now(), f"revoked by {ctx.actor.username}")
        record_change(ctx, "session.revoke", "web_session", row.id, {"revoked_at": None},
                      {"revoked_at": row.revoked_at, "username": row.person.username})
    return row


def revoke_person(ctx: Ctx, person: Person) -> int:
    """The Code Administrator ends every live session of ``person``; how many."""
    _require_ca(ctx)
    ended = end_all(ctx, person, f"revoked by {ctx.actor.username}")
    record_change(ctx, "session.revoke_all", "person", person.id, None, {"username": person.username,
                                                                         "sessions_ended": ended})
    return ended
