"""JSON API for portal sessions, for the Code Administrator: /api/v1/sessions, /api/v1/people/{username}/sessions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId
from gbsmart.models.sessions import WebSession
from gbsmart.parties import service, sessions
from gbsmart.parties.schemas import SessionsRevoked, WebSessionRead
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["parties"])


def session_read(row: WebSession) -> WebSessionRead:
    return WebSessionRead(id=row.id, username=row.person.username, created_at=row.created_at,
                          last_seen_at=row.last_seen_at, expires_at=row.expires_at, revoked_at=row.revoked_at,
                          user_agent=row.user_agent, client_address=row.client_address)


@router.get("/sessions", response_model=list[WebSessionRead], summary="Live portal sessions (Code Administrator)")
def list_sessions(ctx: Ctx = Depends(get_ctx), user: str | None = Query(None)) -> list[WebSessionRead]:
    return [session_read(row) for row in sessions.live_sessions(ctx, user)]


@router.delete("/sessions/{session_id}", response_model=WebSessionRead,
               summary="End a portal session at once (Code Administrator)")
def revoke_session(session_id: DbId, ctx: Ctx = Depends(get_ctx)) -> WebSessionRead:
    return session_read(sessions.revoke(ctx, session_id))


@router.post("/people/{username}/sessions/revoke", response_model=SessionsRevoked,
             summary="End every portal session of a person (Code Administrator)")
def revoke_person_sessions(username: str, ctx: Ctx = Depends(get_ctx)) -> SessionsRevoked:
    person = service.person_by_username(ctx.session, username)
    return SessionsRevoked(username=person.username, revoked=sessions.revoke_person(ctx, person))
