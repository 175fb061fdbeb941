"""A RECORDING TEST DOUBLE of the Northbound (``alerts.northbound``, being built beside the outage tracker): it keeps
what is put, writes each item's row in ``northbound_messages`` as the real one does (idempotent on message_id),
and lets a test say when an item was delivered or failed. Only for unit tests of the tracker and the DCC Alert
sources; the real Northbound's own tests cover delivery."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.models.alerts import NorthboundMessage


class RecordingNorthbound:
    def __init__(self, sessions: sessionmaker[Session] | None = None) -> None:
        self.sessions = sessions
        self.items: list[Any] = []
        self.ids: set[str] = set()
        self.on_delivered: Callable[[Any, datetime], None] | None = None

    async def put(self, items: Sequence[Any]) -> None:
        fresh = [i for i in items if i.message_id not in self.ids]
        for item in fresh:
            self.ids.add(item.message_id)
            self.items.append(item)
        if self.sessions is not None and fresh:
            with self.sessions.begin() as s:
                for i in fresh:
                    s.add(NorthboundMessage(
                        message_id=i.message_id, user_id=i.user_id, kind=i.kind.value, priority=i.priority,
                        code=i.code, payload=json.dumps(i.payload), created_at=i.created_at,
                        deadline_at=i.deadline_at, expires_at=i.expires_at or i.created_at + timedelta(days=2)))

    def item(self, message_id: str) -> Any:
        return next(i for i in self.items if i.message_id == message_id)

    def deliver(self, message_id: str, at: datetime, *, callback: bool = True) -> None:
        """The User's endpoint took it at ``at``: the row says so, and (``callback``) on_delivered is called."""
        if self.sessions is not None:
            with self.sessions.begin() as s:
                s.execute(update(NorthboundMessage).where(NorthboundMessage.message_id == message_id)
                          .values(delivered_at=at, attempts=NorthboundMessage.attempts + 1))
        if callback and self.on_delivered is not None:
            self.on_delivered(self.item(message_id), at)

    def fail(self, message_id: str, error: str, attempts: int = 1) -> None:
        assert self.sessions is not None
        with self.sessions.begin() as s:
            s.execute(update(NorthboundMessage).where(NorthboundMessage.message_id == message_id)
                      .values(attempts=attempts, last_error=error))

    def rows(self) -> list[NorthboundMessage]:
        assert self.sessions is not None
        with self.sessions() as s:
            return list(s.scalars(select(NorthboundMessage).order_by(NorthboundMessage.id)))
