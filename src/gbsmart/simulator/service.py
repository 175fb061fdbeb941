"""The rules for Users' response endpoints and the kept device responses (CLI now; API and portal later).

``set_endpoint`` registers where a DCC User's asynchronous responses are POSTed (an http or https URL; the User
ID must be a DCC User the DCC knows); a running gateway reads the endpoints every ``gateway_refresh_seconds``
and sends that User's kept responses at once. ``kept_responses`` lists the responses not yet delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gbsmart.core.errors import Invalid, NotFound
from gbsmart.gateway.keystore import eui64
from gbsmart.models.delivery import GatewayEndpoint, GatewayResponse
from gbsmart.models.parties import DccUser


def _user_id(value: str) -> str:
    try:
        return eui64(value)
    except ValueError as exc:
        raise Invalid(f"{exc}: give the DCC User ID as 8 hex bytes") from None


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{url[:200]!r} is not an http or https URL such as https://user.example/duis/responses: "
                      "the DCC POSTs each response there")
    if len(url) > 2000:
        raise Invalid("the URL is longer than 2000 characters")
    return url


def set_endpoint(session: Session, user_id: str, url: str, at: datetime) -> GatewayEndpoint:
    """Register (or replace) the response endpoint of DCC User ``user_id``."""
    uid = _user_id(user_id)
    url = _check_url(url)
    if session.scalar(select(func.count()).select_from(DccUser).where(func.upper(DccUser.eui64) == uid)) == 0:
        raise NotFound(f"{uid} is not a DCC User ID the DCC knows: add the User ID to its organisation first "
                       "(`gbsmart parties` or the demo data)")
    endpoint = session.get(GatewayEndpoint, uid)
    if endpoint is None:
        endpoint = GatewayEndpoint(user_id=uid, url=url, updated_at=at)
        session.add(endpoint)
    else:
        endpoint.url, endpoint.updated_at = url, at
    session.flush()
    return endpoint


def remove_endpoint(session: Session, user_id: str) -> None:
    """Stop POSTing to ``user_id``: its responses are kept until an endpoint is set again."""
    endpoint = session.get(GatewayEndpoint, _user_id(user_id))
    if endpoint is None:
        raise NotFound(f"User {_user_id(user_id)} has no response endpoint registered: `gbsmart gateway endpoint "
                       "list` shows those that do")
    session.delete(endpoint)
    session.flush()


def endpoints(session: Session) -> list[GatewayEndpoint]:
    return list(session.scalars(select(GatewayEndpoint).order_by(GatewayEndpoint.user_id)))


@dataclass(frozen=True, slots=True)
class KeptResponse:
    """A device response the User has not yet taken."""

    response_id: str
    request_id: str
    originator: str
    code: str
    completed_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    last_error: str


def kept_responses(session: Session, user_id: str | None = None, *, limit: int = 1000) -> list[KeptResponse]:
    """Responses not yet delivered (oldest first), of one User or of all."""
    query = select(GatewayResponse).where(GatewayResponse.delivered_at.is_(None))
    if user_id is not None:
        query = query.where(GatewayResponse.originator == _user_id(user_id))
    rows = session.scalars(query.order_by(GatewayResponse.id).limit(limit))
    return [KeptResponse(r.response_id, r.request_id, r.originator, r.code, r.completed_at, r.attempts,
                         r.next_attempt_at, r.last_error) for r in rows]


def response_counts(session: Session) -> dict[str, int]:
    """How many responses are kept undelivered, and how many were delivered."""
    delivered = session.scalar(select(func.count()).select_from(GatewayResponse)
                               .where(GatewayResponse.delivered_at.is_not(None))) or 0
    kept = session.scalar(select(func.count()).select_from(GatewayResponse)
                          .where(GatewayResponse.delivered_at.is_(None))) or 0
    return {"kept": int(kept), "delivered": int(delivered)}
