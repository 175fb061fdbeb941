"""Write the change log from services, in the caller's transaction."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from gbsmart.core.context import Ctx
from gbsmart.models.audit import ChangeRecord


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: Any, *fields: str) -> dict[str, Any]:
    """The named attributes of ``obj``, JSON-ready, for a before/after record."""
    return {f: _jsonable(getattr(obj, f)) for f in fields}


def record_change(
    ctx: Ctx,
    action: str,
    object_type: str,
    object_id: str | int,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> ChangeRecord:
    rec = ChangeRecord(
        at=ctx.clock.now(),
        actor_id=ctx.actor.person_id,
        actor_name=ctx.actor.username,
        request_id=ctx.request_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
    ctx.session.add(rec)
    return rec
