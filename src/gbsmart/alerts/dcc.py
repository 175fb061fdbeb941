"""DCC Alerts from the SMI and the gateway (issue 11 point 1), put on the Northbound as ``dcc_alert`` items.

- **DeviceSuspended / DeviceRestored** (DUIS ``DeviceStatusChangeEvent``): the SMI records one row in
  ``smi_device_events`` for each User concerned when a device's SMI Status goes to or from Suspended (its MPxN's
  Supplier and Network Operator, once each: ``smi.service``); each row becomes one alert to that organisation's
  DCC User ID in the matching role (IS/GS for the Supplier, ED/GT for the Network Operator, by fuel). Message id
  ``DSC-<event row id>``, so picking them up again after a crash is a no-op on the Northbound; the last row taken
  is found again from ``northbound_messages`` on start (no extra table).
- **QuarantinedRequest**: the rows the gateway's Anomaly Detection records in ``dcc_alerts`` (models/adt.py), each
  as ``DCA-<row id>`` to the User whose request was held; ``dcc_alerts.delivered_at`` is set when the Northbound
  delivers it (its ``on_delivered`` callback, and a set-based check against ``northbound_messages`` each pass).

The DCCAlertCodes are configuration (``[dcc_alerts]`` in ``alerts/outage.toml``: gbsmart's reading, decision 0028).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.alerts.deadlines import NorthboundLike, iso, make_outbound
from gbsmart.alerts.enums import OutboundKind
from gbsmart.alerts.outage import OutageRule, load_rule
from gbsmart.config import Settings
from gbsmart.core.clock import Clock, utc
from gbsmart.models.adt import DccAlert
from gbsmart.models.alerts import NorthboundMessage
from gbsmart.smi.enums import DeviceEvent, Fuel
from gbsmart.smi.rules import EVENT_OF, int_to_eui64

log = logging.getLogger("gbsmart.alerts.dcc")

STATUS_PREFIX = "DSC-"
QUARANTINE_PREFIX = "DCA-"
PRIORITY = "alert"  # the traffic class of DCC Alerts other than AD1 (alerts/traffic.toml)
_SUPPLIER_ROLES = {Fuel.ELECTRICITY.value: ("IS", "ES"), Fuel.GAS.value: ("GS",)}
_NETWORK_ROLES = {Fuel.ELECTRICITY.value: ("ED",), Fuel.GAS.value: ("GT",)}
_ANY_ROLES = ("IS", "GS", "ED", "GT", "ES")
_BREACH = re.compile(r"^(\w+) RequestID (\S+) QuarantineEventRef (\d+)$")

_EVENTS_SQL = text("""
    SELECT e.id, e.event, e.device_id, e.user_org_id, e.at, r.fuel, r.supplier_org_id, r.network_operator_org_id
    FROM smi_device_events e
    LEFT JOIN smi_devices d ON d.device_id = e.device_id
    LEFT JOIN smi_registrations r ON r.mpxn = d.mpxn AND r.valid_to IS NULL
    WHERE e.id > :mark AND e.at >= :since
    ORDER BY e.id LIMIT :batch
""")


class DccAlertSources:
    """Picks up DeviceSuspended / DeviceRestored and QuarantinedRequest DCC Alerts and puts them on the Northbound."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock, *,
                 northbound: NorthboundLike, rule: OutageRule | None = None, batch: int = 1000) -> None:
        self.sessions, self.settings, self.clock, self.northbound = sessions, settings, clock, northbound
        self.rule = rule or load_rule(settings)
        self.batch = batch
        self.mark = 0                              # the last smi_device_events row put
        self.unaddressed = 0                       # events whose organisation holds no DCC User ID in the role
        self._quarantined_put: set[int] = set()
        self._delivered: list[tuple[int, datetime]] = []
        self._lock = asyncio.Lock()
        self._ticker: asyncio.Task[None] | None = None

    async def start(self, *, background: bool = True) -> None:
        self.mark = await asyncio.to_thread(self._last_put)
        if background:
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever(), name="dcc-alerts")

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await asyncio.to_thread(self._write_delivered)

    def _last_put(self) -> int:
        with self.sessions() as s:
            last = s.scalar(select(NorthboundMessage.message_id).where(
                NorthboundMessage.message_id.like(f"{STATUS_PREFIX}%")).order_by(NorthboundMessage.id.desc())
                .limit(1))
        return int(last[len(STATUS_PREFIX):]) if last else 0

    async def run_due(self) -> int:
        """One pass: every new status-change event and undelivered quarantine alert put; deliveries recorded.
        Returns how many items were put."""
        async with self._lock:
            put = 0
            while True:
                items, mark = await asyncio.to_thread(self._status_changes)
                if items:
                    await self.northbound.put(items)
                    put += len(items)
                if mark == self.mark:
                    break
                self.mark = mark
            items = await asyncio.to_thread(self._quarantined)
            for i in range(0, len(items), self.batch):
                await self.northbound.put(items[i:i + self.batch])
            self._quarantined_put.update(int(i.message_id[len(QUARANTINE_PREFIX):]) for i in items)
            await asyncio.to_thread(self._write_delivered)
            return put + len(items)

    def _status_changes(self) -> tuple[list[Any], int]:
        since = self.clock.now() - timedelta(hours=self.settings.alerts_dcc_backfill_hours)
        with self.sessions() as s:
            rows = s.execute(_EVENTS_SQL, {"mark": self.mark, "since": since, "batch": self.batch}).all()
            if not rows:
                return [], self.mark
            users = _users_by_organisation(s)
        items = []
        for event_id, code, device, org, at, fuel, supplier, network in rows:
            user_id = _user_for(users.get(org, {}), org, fuel, supplier, network)
            if user_id is None:
                self.unaddressed += 1
                log.warning("DCC Alert for SMI event %d (device %s) not sent: organisation %d holds no DCC User "
                            "ID in a Supplier or Network Operator role", event_id, int_to_eui64(device), org)
                continue
            change = EVENT_OF[code]
            dcc_code = self.rule.device_suspended_code if change is DeviceEvent.DEVICE_SUSPENDED \
                else self.rule.device_restored_code
            device_id = int_to_eui64(device)
            at_text = iso(utc(at) or self.clock.now()) if isinstance(at, datetime) else _iso_text(at)
            items.append(make_outbound(
                message_id=f"{STATUS_PREFIX}{event_id}", user_id=user_id, kind=OutboundKind.DCC_ALERT,
                priority=PRIORITY, created_at=self.clock.now(), code=dcc_code,
                payload={"code": dcc_code, "at": at_text, "device_id": device_id,
                         "device_status_change": {"device_id": device_id, "change": change.value}}))
        return items, rows[-1][0]

    def _quarantined(self) -> list[Any]:
        with self.sessions() as s:
            rows = s.scalars(select(DccAlert).where(DccAlert.delivered_at.is_(None)).order_by(DccAlert.id)
                             .limit(10 * self.batch)).all()
        items = []
        for row in rows:
            if row.id in self._quarantined_put:
                continue
            match = _BREACH.match(row.detail)
            quarantined: dict[str, Any] = {"kind": row.kind, "request_id": row.request_id, "detail": row.detail}
            if match:
                quarantined.update(breach=match.group(1), request_id=match.group(2),
                                   quarantine_event_ref=int(match.group(3)))
            raised = utc(row.raised_at) or self.clock.now()
            items.append(make_outbound(
                message_id=f"{QUARANTINE_PREFIX}{row.id}", user_id=row.user_id, kind=OutboundKind.DCC_ALERT,
                priority=PRIORITY, created_at=self.clock.now(), code=self.rule.quarantined_request_code,
                payload={"code": self.rule.quarantined_request_code, "at": iso(raised),
                         "quarantined_request": quarantined}))
        return items

    def on_delivered(self, item: Any, delivered_at: datetime) -> None:
        """The Northbound's callback: a QuarantinedRequest alert's delivery is written at the next pass."""
        if item.message_id.startswith(QUARANTINE_PREFIX):
            self._delivered.append((int(item.message_id[len(QUARANTINE_PREFIX):]), delivered_at))

    def _write_delivered(self) -> None:
        done, self._delivered = self._delivered, []
        with self.sessions() as s, s.begin():
            if done:
                s.connection().execute(update(DccAlert).where(DccAlert.id == bindparam("k_id"),
                                                              DccAlert.delivered_at.is_(None))
                                       .values(delivered_at=bindparam("v_at")),
                                       [{"k_id": i, "v_at": at} for i, at in done])
            # the independent check: deliveries the callback did not see (a restart between the two)
            s.execute(text(f"""
                UPDATE dcc_alerts SET delivered_at = (
                    SELECT n.delivered_at FROM northbound_messages n
                    WHERE n.message_id = '{QUARANTINE_PREFIX}' || CAST(dcc_alerts.id AS VARCHAR(20)))
                WHERE delivered_at IS NULL AND EXISTS (
                    SELECT 1 FROM northbound_messages n
                    WHERE n.message_id = '{QUARANTINE_PREFIX}' || CAST(dcc_alerts.id AS VARCHAR(20))
                      AND n.delivered_at IS NOT NULL)"""))

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alerts_outage_tick_seconds)
            try:
                await self.run_due()
            except Exception:  # the next pass tries again: what it reads is durable
                log.exception("DCC Alert sources: a pass failed")


def _iso_text(at: Any) -> str:
    moment = datetime.fromisoformat(str(at))
    return iso(utc(moment) or moment)


def _users_by_organisation(session: Session) -> dict[int, dict[str, str]]:
    """organisation id -> role -> its DCC User ID (the lowest, when it holds several in a role)."""
    out: dict[int, dict[str, str]] = {}
    for org, eui, role in session.execute(text(
            "SELECT u.organisation_id, u.eui64, r.role FROM dcc_users u JOIN dcc_user_roles r "
            "ON r.dcc_user_id = u.id ORDER BY u.eui64")):
        out.setdefault(org, {}).setdefault(role, eui.upper())
    return out


def _user_for(roles: dict[str, str], org: int, fuel: str | None, supplier: int | None,
              network: int | None) -> str | None:
    """The DCC User ID an SMI event for ``org`` goes to: in the role it has in the MPxN's registration."""
    if fuel is not None and org in (supplier, network):
        wanted = _SUPPLIER_ROLES.get(fuel, ()) if org == supplier else _NETWORK_ROLES.get(fuel, ())
        return next((roles[role] for role in wanted if role in roles), None)
    for role in _ANY_ROLES:  # the registration changed since the event: the organisation's User ID
        if role in roles:
            return roles[role]
    return None
