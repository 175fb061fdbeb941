"""Device alert volumes rolled up per minute, code, CSP Region and outcome (table ``alert_volume_minutes``).

The alerts dashboard's volumes (``alerts.queries.volumes``) read this, not ``alerts``: a week of a storm is
hundreds of millions of alert rows, but at most 10,080 minutes times a few codes, regions and outcomes here, so a
range costs what its minutes hold, not what its alerts do. The intake adds a batch's counts in the same
transaction as the batch's alert rows (``add_volumes``), so the two never disagree; the migration that made the
table counted the alerts already there. A minute is the UTC minute the DCC received the alert in
(``received_at``); an alert of no known CSP Region is counted under ``""``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gbsmart.models.alerts import AlertVolumeMinute

Key = tuple[datetime, str, str, str]  # (minute, code, region or "", outcome)
_KEY = ("minute", "code", "csp_region", "outcome")


def minute_of(at: datetime) -> datetime:
    """The start of the minute ``at`` is in."""
    return at.replace(second=0, microsecond=0)


def count_volumes(rows: Iterable[Mapping[str, Any]]) -> Counter[Key]:
    """Alert rows (``received_at``, ``code``, ``csp_region``, ``outcome``) counted per minute, code, region, outcome."""
    return Counter((minute_of(r["received_at"]), r["code"], r["csp_region"] or "", r["outcome"]) for r in rows)


def add_volumes(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Add the alert ``rows``' counts to the roll-up, in the session's transaction (one upsert per group)."""
    counts = count_volumes(rows)
    if not counts:
        return
    table: Table = AlertVolumeMinute.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect.name
    values = [dict(zip(_KEY, key, strict=True), alerts=n) for key, n in sorted(counts.items())]
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        session.execute(pg.on_conflict_do_update(index_elements=list(_KEY),
                                                 set_={"alerts": table.c.alerts + pg.excluded.alerts}), values)
    elif dialect == "sqlite":
        lite = sqlite.insert(table)
        session.execute(lite.on_conflict_do_update(index_elements=list(_KEY),
                                                   set_={"alerts": table.c.alerts + lite.excluded.alerts}), values)
    else:  # pragma: no cover - gbsmart runs on SQLite and PostgreSQL
        raise RuntimeError(f"alert volumes are not rolled up on {dialect}")
