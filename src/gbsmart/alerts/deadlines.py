"""What the outage tracker and the DCC Alert sources share: building northbound items and saying in plain English
why a deadline was missed (``alert_deadline_breaches``). The gateway fans the Northbound's ``on_delivered`` out to
their listeners (``Gateway.northbound_hooks``).

``make_outbound`` builds the Northbound's item (``alerts.northbound.Outbound``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.alerts.northbound import Outbound
from gbsmart.core.clock import utc
from gbsmart.models.alerts import NorthboundMessage
from gbsmart.models.delivery import GatewayEndpoint

log = logging.getLogger("gbsmart.alerts")


class NorthboundLike(Protocol):
    """What the outage tracker and the DCC Alert sources need of the Northbound: a durable, idempotent put."""

    async def put(self, items: Sequence[Any]) -> None: ...


def make_outbound(**fields: Any) -> Any:
    """A northbound item (``alerts.northbound.Outbound``) with these fields."""
    return Outbound(**fields)


def iso(at: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the payloads carry times."""
    moment = utc(at)
    assert moment is not None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def late_cause(session: Session, message_id: str, user_id: str, due_at: datetime,
               delivered_at: datetime | None) -> str:
    """Why the message ``message_id`` to ``user_id`` missed ``due_at``, in plain English, from what is recorded:
    the User's endpoint, the Northbound's attempts and last error."""
    if not user_id:
        return "no User to send it to"
    endpoint = session.get(GatewayEndpoint, user_id)
    if endpoint is None:
        return (f"no endpoint registered for User {user_id} (register one: gbsmart gateway endpoint set "
                f"{user_id} URL)")
    row = session.scalar(select(NorthboundMessage).where(NorthboundMessage.message_id == message_id))
    if row is None:
        return "the message was not in the northbound cache by its deadline (not queued)"
    if row.last_error:
        first_failure = _first_failure_since(session, user_id, due_at)
        since = f" since {iso(first_failure)}" if first_failure else ""
        return (f"the endpoint {endpoint.url} was down or answering errors{since}: {row.attempts} attempt(s), "
                f"last error: {row.last_error}")
    if delivered_at is not None:
        return (f"queued behind other messages or the User's delivery capacity: delivered "
                f"{(delivered_at - due_at).total_seconds():.1f} s after the deadline, attempt {row.attempts}")
    return (f"queued behind other messages or the User's delivery capacity: {row.attempts} attempt(s) by the "
            "deadline")


def _first_failure_since(session: Session, user_id: str, before: datetime) -> datetime | None:
    """When the oldest message to ``user_id`` still failing (undelivered, with an error) was queued."""
    found = session.scalar(select(NorthboundMessage.created_at).where(
        NorthboundMessage.user_id == user_id, NorthboundMessage.delivered_at.is_(None),
        NorthboundMessage.last_error != "", NorthboundMessage.created_at <= before)
        .order_by(NorthboundMessage.created_at).limit(1))
    return utc(found)
