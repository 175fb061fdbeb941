"""Rows of the alerts tables as the alert engines write them, inserted straight into the test database (the
portal reads the tables only), and the organisations whose DCC User IDs they belong to."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from itertools import count

from sqlalchemy.orm import Session

from gbsmart.alerts.rollup import add_volumes
from gbsmart.models.alerts import (
    Alert,
    AlertDeadlineBreach,
    AlertThrottleSummary,
    NorthboundMessage,
    PowerOutage,
)
from gbsmart.models.parties import DccUser, DccUserRole, Organisation

SUPPLIER = "90-B3-D5-1F-30-01-00-00"
DISTRIBUTOR = "90-B3-D5-1F-30-02-00-00"
OTHER_SUPPLIER = "90-B3-D5-1F-30-03-00-00"
HUB = "00-DB-12-34-56-78-90-A0"
METER = "00-DB-12-34-56-78-90-B1"
WAIT, DEADLINE = timedelta(minutes=3), timedelta(seconds=60)

_ids = count(1)


def users(session: Session, world) -> tuple[Organisation, Organisation, Organisation]:  # noqa: ANN001
    """A Supplier holding SUPPLIER, a Network Operator holding DISTRIBUTOR, another Supplier holding OTHER_SUPPLIER."""
    supplier = world.org("Supplier Energy", category="large_supplier")
    network = world.org("Network Power", category="electricity_network")
    other = world.org("Other Energy", category="small_supplier")
    for org, eui, role in ((supplier, SUPPLIER, "IS"), (network, DISTRIBUTOR, "ED"), (other, OTHER_SUPPLIER, "IS")):
        session.add(DccUser(organisation_id=org.id, eui64=eui, role_rows=[DccUserRole(role=role)]))
    session.commit()
    return supplier, network, other


def alert(session: Session, at: datetime, code: str = "8F3E", region: str | None = "Central",
          outcome: str = "routed", device: str = METER) -> Alert:
    row = Alert(device_id=device, code=code, occurred_at=at, received_at=at, source="simulator", csp_region=region,
                outcome=outcome, recipients=1 if outcome == "routed" else 0, detail="")
    session.add(row)
    add_volumes(session, [{"received_at": at, "code": code, "csp_region": region, "outcome": outcome}])  # as the intake
    return row


def message(session: Session, user_id: str, created_at: datetime, *, priority: str = "alert",
            kind: str = "device_alert", code: str = "8F3E", delivered_at: datetime | None = None,
            expired_at: datetime | None = None, reported_at: datetime | None = None,
            last_error: str = "") -> NorthboundMessage:
    row = NorthboundMessage(message_id=f"M{next(_ids):06d}", user_id=user_id, kind=kind, priority=priority, code=code,
                            payload=json.dumps({"code": code}), created_at=created_at,
                            expires_at=created_at + timedelta(days=2), attempts=3 if expired_at else 0,
                            last_error=last_error, delivered_at=delivered_at, expired_at=expired_at,
                            expiry_reported_at=reported_at)
    session.add(row)
    return row


def outage(session: Session, lost_at: datetime, *, state: str = "reported", hub: str | None = None,
           distributor: str | None = DISTRIBUTOR, ad1_after: float | None = None,
           restored_after: float | None = None, restoration_after: float | None = None,
           scope: str | None = "isolated") -> PowerOutage:
    """A power loss; ``ad1_after``: seconds after its due time the AD1 was delivered (negative: before)."""
    due = lost_at + WAIT + DEADLINE
    restored_at = lost_at + timedelta(seconds=restored_after) if restored_after is not None else None
    restoration_due = restored_at + DEADLINE if restored_at is not None and state == "restored" else None
    n = next(_ids)
    row = PowerOutage(comms_hub_id=hub or f"00-DB-12-34-56-78-{n // 256 % 256:02X}-{n % 256:02X}", mpxn="1200023305967",
                      distributor=distributor, state=state, scope=scope, window_start=lost_at, lost_at=lost_at,
                      restored_at=restored_at, ad1_due_at=due,
                      ad1_message_id=f"AD1-{n}" if state in ("reported", "restored") else None,
                      ad1_delivered_at=due + timedelta(seconds=ad1_after) if ad1_after is not None else None,
                      restoration_due_at=restoration_due,
                      restoration_message_id=f"AD1R-{n}" if restoration_due else None,
                      restoration_delivered_at=(restoration_due + timedelta(seconds=restoration_after)
                                                if restoration_due and restoration_after is not None else None))
    session.add(row)
    return row


def breach(session: Session, recorded_at: datetime, *, user_id: str = DISTRIBUTOR,
           cause: str = "the Network Operator's endpoint answered 503") -> AlertDeadlineBreach:
    row = AlertDeadlineBreach(message_id=f"AD1-{next(_ids)}", what="AD1 Power Outage Event", subject=HUB,
                              user_id=user_id, due_at=recorded_at - timedelta(seconds=5), delivered_at=None,
                              cause=cause, recorded_at=recorded_at)
    session.add(row)
    return row


def throttle(session: Session, first_at: datetime, *, device: str = METER, code: str = "8F3E", n: int = 10,
             emitted_at: datetime | None = None) -> AlertThrottleSummary:
    row = AlertThrottleSummary(sequence_id=next(_ids), device_id=device, code=code, count=n, first_at=first_at,
                               last_at=first_at + timedelta(minutes=1), emitted_at=emitted_at)
    session.add(row)
    return row
