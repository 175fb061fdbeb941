"""Device alert intake: record, check, route, throttle, and queue each alert to the Users entitled to it.

``AlertIntake.ingest(alerts, source=...)`` is the one call of both sources (the device simulator in-process,
``alerts.spurious``; the signed API, ``alerts.api_intake``). Per alert, in memory and in the event loop (no
database round trip, no signing: the Northbound renders and signs each message when it sends it):

1. the device is looked up in the SMI (the gateway's ``AuthorisationIndex.devices``): unknown -> recorded
   ``unknown_device``, nothing sent;
2. a Communications Hub's power notice (``CHPL``/``CHPR``, ``handler = "outage"`` in the catalogue) is handed
   to the outage tracker (``alerts.outage``, A3), which decides on the AD1;
3. unless its code is on the throttle exclusion list, the throttle (``alerts.throttle``) may count it into a
   summary instead (``throttled``);
4. it is routed by the registration data on the day the device raised it: the catalogue names the recipients
   (the Supplier and/or the Network Operator for the MPxN's fuel); each is the DCC User ID of that organisation
   holding the role (Import Supplier before Export Supplier; Electricity Distributor; Gas Supplier; Gas
   Transporter). A Communications Hub Function has no MPxN of its own: its meters' MPxN is used. None ->
   ``no_recipient``.

Then the batch's rows are written to ``alerts`` by one writer task in a worker thread (many concurrent
``ingest`` calls share a transaction, at most ``alerts_intake_batch`` rows), and ``ingest`` returns once
they are committed and the Northbound has committed the batch's messages (``put``): an accepted alert is
durable. Alert ids are allocated here (the table's one writer) from the largest id at start.

**The priority lane.** A batch's priority alerts (the hubs' power notices and every code on the throttle
exclusion list: ``is_priority``) are written in a lane of their own that the writer always empties first, in
transactions without storm rows, then handed on (the Northbound's ``put``, the outage tracker's
``power_lost_many`` / ``power_restored_many``) before the batch's ordinary alerts are. So a ``CHPL`` waits for
at most the one storm transaction in flight, not for the storm queued ahead of it. The two parts of one batch
are two transactions: a crash between them leaves the priority part recorded and the call unanswered.

**Back-pressure.** ``pending`` counts the ordinary alerts inside ``ingest`` calls that have not returned;
``admits`` is False while it is at ``alerts_intake_max_pending`` or above, and the API then refuses a batch
holding ordinary alerts with 429 and Retry-After (a batch of priority alerts only is always taken), so no
caller waits long and the client paces itself. In-process callers (the device simulator) simply wait.

``tick()`` (every second while started) closes the throttle windows that ended: each summary goes to
``alert_throttle_summaries`` and a summary Device Alert (ThrottledAlertSequenceId, ThrottledAlertCount) is
queued to the recipients. ``start`` also summarises alerts throttled before a crash whose summary was never
written, so nothing throttled vanishes unseen across a restart.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.alerts.catalogue import AlertCode, Catalogue, load_catalogue
from gbsmart.alerts.enums import AlertOutcome, OutboundKind
from gbsmart.alerts.northbound import Outbound
from gbsmart.alerts.rollup import add_volumes
from gbsmart.alerts.throttle import Summary, Throttle
from gbsmart.alerts.traffic import load_traffic
from gbsmart.config import Settings
from gbsmart.core.clock import Clock
from gbsmart.core.db import UTCDateTime
from gbsmart.gateway.authorise import AuthorisationIndex
from gbsmart.models.alerts import Alert, AlertThrottleSummary
from gbsmart.smi.enums import DeviceType, Fuel
from gbsmart.smi.rules import (
    DEVICE_TYPE_OF,
    EUI64_OFFSET,
    NETWORK_USER_ROLES,
    REGION_OF,
    SUPPLIER_USER_ROLES,
    eui64_to_int,
)

log = logging.getLogger("gbsmart.alerts")

_ROUTED, _THROTTLED = AlertOutcome.ROUTED.value, AlertOutcome.THROTTLED.value
_UNKNOWN, _NOBODY = AlertOutcome.UNKNOWN_DEVICE.value, AlertOutcome.NO_RECIPIENT.value
_DEVICE_ALERT = OutboundKind.DEVICE_ALERT


@dataclass(frozen=True, slots=True)
class DeviceAlert:
    """One device alert as a source reports it: Device ID (EUI-64, upper case), GBCS code ("8F3E"), when the
    device raised it, and the GBCS payload (may be empty)."""

    device_id: str
    code: str
    occurred_at: datetime
    payload: bytes = b""


@dataclass(slots=True)
class IngestResult:
    """What became of a batch: counts by outcome, the messages queued, the ids given."""

    accepted: int = 0
    routed: int = 0
    throttled: int = 0
    unknown_device: int = 0
    no_recipient: int = 0
    to_outage_tracker: int = 0
    messages: int = 0
    alert_ids: list[int] = field(default_factory=list)


_SQLITE_CACHE = "PRAGMA cache_size=-65536"  # KiB: 64 MiB for this connection
_SQLITE_INSERT = ("INSERT INTO alerts (id, device_id, code, occurred_at, received_at, source, csp_region, outcome, "
                  "recipients, throttle_sequence_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _device_number(device_id: str) -> int | None:
    """The SMI's stored integer of a Device ID written as the intake's sources write it (``00-DB-...``, 23
    characters: the API validates it first), without a regular expression; None if it is not one."""
    if len(device_id) != 23 or device_id[2::3] != "-------":
        return None
    try:
        return int(device_id.replace("-", ""), 16) - EUI64_OFFSET
    except ValueError:
        return None


_Queue = deque[tuple[list[dict[str, Any]], "asyncio.Future[None]"]]  # rows to write, and who waits for them


class NorthboundLike(Protocol):
    async def put(self, items: Sequence[Any]) -> None: ...


class OutageLike(Protocol):
    async def power_lost_many(self, notices: Sequence[tuple[str, datetime]]) -> None: ...

    async def power_restored_many(self, notices: Sequence[tuple[str, datetime]]) -> None: ...


def traffic_classes(settings: Settings) -> set[str]:
    """The configured priority classes (``alerts.traffic``), so the catalogue names only real ones."""
    return set(load_traffic(settings).classes)


class Recipients:
    """Registration data -> the DCC User IDs an alert goes to, from the gateway's ``AuthorisationIndex``."""

    def __init__(self, index: Callable[[], AuthorisationIndex]) -> None:
        self._index = index
        self._users_seen: object = None
        self._by_org_role: dict[tuple[int, str], str] = {}
        self._registrations_seen: object = None
        self._answers: dict[tuple[int, int, tuple[str, ...]], list[str]] = {}

    def _user_for(self, org_id: int, roles: Sequence[str]) -> str | None:
        users = self._index().users.users
        if users is not self._users_seen:  # rebuilt after each refresh of the index (a few thousand Users)
            table: dict[tuple[int, str], str] = {}
            for user_id in sorted(users):
                entry = users[user_id]
                for role in entry.roles:
                    table.setdefault((entry.organisation_id, role), user_id)
            self._by_org_role, self._users_seen = table, users
        for role in roles:
            found = self._by_org_role.get((org_id, role))
            if found is not None:
                return found
        return None

    def for_mpxn(self, mpxn: int, at: datetime, wanted: Sequence[str]) -> list[str]:
        """The User IDs of the ``wanted`` parties (supplier, network_operator) of ``mpxn`` on ``at``'s day
        (answers kept per MPxN, day and parties until the index is refreshed)."""
        index = self._index()
        if index.registrations is not self._registrations_seen or index.users.users is not self._users_seen:
            self._answers.clear()
            self._registrations_seen = index.registrations
        key = (mpxn, at.toordinal(), tuple(wanted))
        found = self._answers.get(key)
        if found is None:
            if len(self._answers) > 1_000_000:
                self._answers.clear()
            found = self._answers[key] = self._look_up(mpxn, at, wanted)
        return found

    def _look_up(self, mpxn: int, at: datetime, wanted: Sequence[str]) -> list[str]:
        registration = self._index().registrations.at(mpxn, at.date())
        if registration is None:
            return []
        fuel = Fuel(registration.fuel)
        out = []
        for party in wanted:
            if party == "supplier":
                user = self._user_for(int(registration.supplier_org_id), SUPPLIER_USER_ROLES[fuel])
            else:
                user = self._user_for(int(registration.network_operator_org_id), NETWORK_USER_ROLES[fuel])
            if user is not None and user not in out:
                out.append(user)
        return out


class HubMeters:
    """Communications Hub Function -> the MPxNs of the meters on it (electricity first), and the CSP Region of
    every device; read once at ``start`` and on ``refresh``."""

    def __init__(self) -> None:
        self.mpxns: dict[int, tuple[int, ...]] = {}
        self.region_ids: np.ndarray | None = None
        self.regions: np.ndarray | None = None
        self._ids_view: memoryview | None = None
        self._regions_view: memoryview = memoryview(b"")
        self._names = {code: region.value for code, region in REGION_OF.items()}

    def load(self, session: Session) -> None:
        rows = session.execute(text(
            "SELECT chf_device_id, mpxn, device_type FROM smi_devices WHERE chf_device_id IS NOT NULL "
            "AND mpxn IS NOT NULL ORDER BY chf_device_id, device_type, device_id"))
        mpxns: dict[int, list[tuple[int, int]]] = {}
        for chf, mpxn, device_type in rows:
            rank = 0 if DEVICE_TYPE_OF.get(device_type) is DeviceType.ESME else 1
            mpxns.setdefault(int(chf), []).append((rank, int(mpxn)))
        self.mpxns = {k: tuple(dict.fromkeys(m for _, m in sorted(v))) for k, v in mpxns.items()}
        flat = np.fromiter(itertools.chain.from_iterable(session.execute(text(
            "SELECT device_id, csp_region FROM smi_devices ORDER BY device_id"))), dtype=np.int64).reshape(-1, 2)
        self.region_ids, self.regions = np.ascontiguousarray(flat[:, 0]), flat[:, 1].astype(np.uint8)
        self._ids_view, self._regions_view = memoryview(self.region_ids), memoryview(self.regions)  # type: ignore[arg-type]

    def region(self, device: int) -> str | None:
        ids = self._ids_view
        if ids is None:
            return None
        i = bisect.bisect_left(ids, device)
        if i < len(ids) and ids[i] == device:
            return self._names.get(self._regions_view[i])
        return None


class AlertIntake:
    """See the module docstring. ``start``/``close`` in the gateway's event loop."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock, *,
                 northbound: NorthboundLike, index: Callable[[], AuthorisationIndex],
                 outage: OutageLike | None = None, catalogue: Catalogue | None = None,
                 outbound: Any = None, tick_seconds: float = 1.0) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.northbound = northbound
        self.outage = outage
        self.catalogue = catalogue or load_catalogue(settings, traffic_classes(settings))
        self.throttle = Throttle(self.catalogue.throttle)
        self.recipients = Recipients(index)
        self.hubs = HubMeters()
        self._index = index
        self._outbound = outbound or Outbound
        self._tick_seconds = tick_seconds
        self._next_id = 1
        self._pending: _Queue = deque()
        self._pending_priority: _Queue = deque()  # the priority lane: always written first
        self.pending = 0  # ordinary alerts inside ingest calls not yet returned (back-pressure)
        self._wake: asyncio.Event | None = None
        self._writer: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.totals: dict[str, int] = {o.value: 0 for o in AlertOutcome}

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        def read() -> list[Summary]:
            with self.sessions() as session:
                self.hubs.load(session)
                self._next_id = (session.scalar(select(func.max(Alert.id))) or 0) + 1
                top = max(session.scalar(select(func.max(AlertThrottleSummary.sequence_id))) or 0,
                          session.scalar(select(func.max(Alert.throttle_sequence_id))) or 0)
                self.throttle.next_sequence_id = top + 1
                return self._orphans(session)

        orphans = await asyncio.to_thread(read)
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._writer = loop.create_task(self._write_forever(), name="alert-intake-writer")
        if orphans:
            log.info("summarising %d throttle windows left open by the last run", len(orphans))
            await self._emit(orphans)
        if self._tick_seconds > 0:
            self._ticker = loop.create_task(self._tick_forever(), name="alert-intake-throttle")

    async def close(self) -> None:
        for task in (self._ticker,):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._ticker = None
        if self._writer is not None:
            await self.flush()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    def refresh(self) -> None:
        """Re-read the hubs' meters and the regions (the index itself is the gateway's to refresh)."""
        with self.sessions() as session:
            self.hubs.load(session)

    async def flush(self) -> None:
        """Wait until every row queued so far is written (a marker behind them, and behind any batch in flight)."""
        if self._writer is not None and not self._writer.done():
            await self._write([])

    # ------------------------------------------------------------ intake

    def is_priority(self, code: str) -> bool:
        """A hub's power notice or a code on the throttle exclusion list: the priority lane, never refused."""
        entry = self.catalogue.get(code)
        return entry.to_outage_tracker or entry.never_throttle

    def admits(self, alerts: Sequence[DeviceAlert]) -> bool:
        """Whether a batch is taken now: always if it holds priority alerts only, else while fewer than
        ``alerts_intake_max_pending`` ordinary alerts are in progress."""
        if self.pending < self.settings.alerts_intake_max_pending:
            return True
        return all(self.is_priority(a.code) for a in alerts)

    async def ingest(self, alerts: Sequence[DeviceAlert], *, source: str) -> IngestResult:
        """Record, route and queue ``alerts`` (codes normalised, Device IDs upper case); returns once durable."""
        if self._wake is None:
            raise RuntimeError("the alert intake is not started")
        received_at = self.clock.now()
        devices = self._index().devices
        catalogue, throttle, hubs = self.catalogue, self.throttle, self.hubs
        make = self._outbound
        result = IngestResult(accepted=len(alerts))
        rows: list[dict[str, Any]] = []
        items: list[Any] = []
        urgent_rows: list[dict[str, Any]] = []
        urgent_items: list[Any] = []
        notices: list[tuple[AlertCode, str, datetime]] = []
        next_id = self._next_id
        counts = dict.fromkeys((_ROUTED, _THROTTLED, _UNKNOWN, _NOBODY), 0)
        stamps: dict[datetime, str] = {}  # occurred_at -> its ISO text: a storm's batch shares a few times
        for alert in alerts:
            alert_id = next_id
            next_id += 1
            device_id, code = alert.device_id, alert.code
            entry = catalogue.get(code)
            urgent = entry.to_outage_tracker or entry.never_throttle
            number = _device_number(device_id)
            found = devices.status(number) if number is not None else None
            recipient_count, sequence_id, detail = 0, None, ""
            region = hubs.region(number) if found is not None and number is not None else None
            if found is None:
                outcome = _UNKNOWN
                detail = f"device {device_id} is not in the Smart Metering Inventory"
            elif entry.to_outage_tracker:
                outcome = _ROUTED
                detail = "handed to the power outage tracker"
                notices.append((entry, device_id, alert.occurred_at))
                result.to_outage_tracker += 1
            else:
                if not entry.never_throttle:
                    sequence_id = throttle.admit(device_id, code, received_at)
                if sequence_id is not None:
                    outcome = _THROTTLED
                else:
                    users = self._route(entry, number, found[3], alert.occurred_at)  # type: ignore[arg-type]
                    if not users:
                        outcome = _NOBODY
                        detail = "no User is registered for its MPxN on that day"
                    else:
                        outcome = _ROUTED
                        recipient_count = len(users)
                        stamp = stamps.get(alert.occurred_at)
                        if stamp is None:
                            stamp = stamps[alert.occurred_at] = alert.occurred_at.isoformat()
                        payload = {"device_id": device_id, "code": code, "at": stamp}
                        if alert.payload:
                            payload["gbcs_payload_b64"] = base64.b64encode(alert.payload).decode()
                        to = urgent_items if urgent else items
                        for user in users:
                            to.append(make(message_id=f"da-{alert_id}-{user}", user_id=user, kind=_DEVICE_ALERT,
                                           priority=entry.priority, created_at=received_at, payload=payload,
                                           code=code, alert_id=alert_id))
            (urgent_rows if urgent else rows).append({
                "id": alert_id, "device_id": device_id, "code": code, "occurred_at": alert.occurred_at,
                "received_at": received_at, "source": source[:20], "csp_region": region, "outcome": outcome,
                "recipients": recipient_count, "throttle_sequence_id": sequence_id, "detail": detail})
            counts[outcome] += 1
        result.alert_ids = list(range(self._next_id, next_id))
        for outcome, n in counts.items():
            setattr(result, outcome, n)
        self._next_id = next_id
        for key in ("routed", "throttled", "unknown_device", "no_recipient"):
            self.totals[key] += getattr(result, key)
        self.pending += len(rows)
        try:
            urgent_written = self._queue_rows(urgent_rows, priority=True) if urgent_rows else None
            written = self._queue_rows(rows, priority=False) if rows or not urgent_rows else None
            if urgent_written is not None:
                await urgent_written
                if urgent_items:
                    await self.northbound.put(urgent_items)
                await self._hand_on(notices)
            if written is not None:
                await written
                if items:
                    await self.northbound.put(items)
        finally:
            self.pending -= len(rows)
        result.messages = len(items) + len(urgent_items)
        return result

    async def _hand_on(self, notices: Sequence[tuple[AlertCode, str, datetime]]) -> None:
        """The power notices to the outage tracker in order, each run of the same kind in one call."""
        if not notices:
            return
        if self.outage is None:
            log.warning("%d power notices (first from %s): no outage tracker is running, so they are only recorded",
                        len(notices), notices[0][1])
            return
        for restored, run in itertools.groupby(notices, key=lambda n: n[0].code == "CHPR"):
            batch = [(hub, at) for _, hub, at in run]
            if restored:
                await self.outage.power_restored_many(batch)
            else:
                await self.outage.power_lost_many(batch)

    def _route(self, entry: AlertCode, device: int, mpxn: int | None, at: datetime) -> list[str]:
        if mpxn is not None:
            return self.recipients.for_mpxn(mpxn, at, entry.recipients)
        out: list[str] = []
        for meter_mpxn in self.hubs.mpxns.get(device, ()):  # a Communications Hub: its meters' premises
            for user in self.recipients.for_mpxn(meter_mpxn, at, entry.recipients):
                if user not in out:
                    out.append(user)
        return out

    def premises(self, comms_hub_id: str) -> tuple[str | None, str | None]:
        """(the MPAN of the electricity meter on the hub, the DCC User ID of its Electricity Distributor) today:
        what the outage tracker needs for an AD1 (``OutageTracker(premises=...)``)."""
        try:
            hub = eui64_to_int(comms_hub_id)
        except ValueError:
            return None, None
        now = self.clock.now()
        for mpxn in self.hubs.mpxns.get(hub, ()):
            registration = self._index().registrations.at(mpxn, now.date())
            if registration is not None and Fuel(registration.fuel) is Fuel.ELECTRICITY:
                users = self.recipients.for_mpxn(mpxn, now, ("network_operator",))
                return str(mpxn), users[0] if users else None
        return None, None

    # ------------------------------------------------------------ throttle summaries

    async def tick(self) -> int:
        """Close the throttle windows that ended; write and queue their summaries. How many."""
        summaries = self.throttle.due(self.clock.now())
        if summaries:
            await self._emit(summaries)
        return len(summaries)

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            try:
                await self.tick()
            except Exception:  # kept: the next tick tries again
                log.exception("closing throttle windows failed")

    def _orphans(self, session: Session) -> list[Summary]:
        rows = session.execute(
            select(Alert.throttle_sequence_id, Alert.device_id, Alert.code, func.count(),
                   func.min(Alert.received_at), func.max(Alert.received_at))
            .where(Alert.outcome == _THROTTLED, Alert.throttle_sequence_id.is_not(None),
                   Alert.throttle_sequence_id.not_in(select(AlertThrottleSummary.sequence_id)))
            .group_by(Alert.throttle_sequence_id, Alert.device_id, Alert.code))
        return [Summary(int(seq or 0), device, code, int(n), first, last)
                for seq, device, code, n, first, last in rows]

    async def _emit(self, summaries: Sequence[Summary]) -> None:
        """Each summary written to ``alert_throttle_summaries`` and its summary Device Alert queued."""
        now = self.clock.now()
        devices = self._index().devices
        make = self._outbound
        items: list[Any] = []
        for s in summaries:
            entry = self.catalogue.get(s.code)
            try:
                found = devices.status(eui64_to_int(s.device_id))
            except ValueError:
                found = None
            users = self._route(entry, eui64_to_int(s.device_id), found[3] if found else None, s.last_at)
            payload = {"device_id": s.device_id, "code": s.code, "at": s.last_at.isoformat(),
                       "throttled_sequence_id": s.sequence_id, "throttled_count": s.count}
            items.extend(make(message_id=f"ts-{s.sequence_id}-{user}", user_id=user, kind=_DEVICE_ALERT,
                              priority=entry.priority, created_at=now, payload=payload, code=s.code)
                         for user in users)
        if items:
            await self.northbound.put(items)  # first: a crash before the rows below re-emits (same message ids)

        def write() -> None:
            with self.sessions() as session:
                session.execute(insert(AlertThrottleSummary), [
                    {"sequence_id": s.sequence_id, "device_id": s.device_id, "code": s.code, "count": s.count,
                     "first_at": s.first_at, "last_at": s.last_at, "emitted_at": now} for s in summaries])
                session.commit()

        await asyncio.to_thread(write)

    # ------------------------------------------------------------ the batched writer

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        await self._queue_rows(rows, priority=False)

    def _queue_rows(self, rows: list[dict[str, Any]], *, priority: bool) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._pending_priority if priority else self._pending).append((rows, done))
        assert self._wake is not None
        self._wake.set()
        return done

    async def _write_forever(self) -> None:
        assert self._wake is not None
        limit = self.settings.alerts_intake_batch
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending_priority or self._pending:
                queue = self._pending_priority or self._pending  # the priority lane first, never mixed with storm rows
                taken: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
                size = 0
                while queue and (not taken or size + len(queue[0][0]) <= limit):
                    rows, done = queue.popleft()
                    taken.append((rows, done))
                    size += len(rows)
                batch = [row for rows, _ in taken for row in rows]
                try:
                    if batch:
                        await asyncio.to_thread(self._insert, batch)
                except Exception as exc:
                    log.exception("writing %d alerts failed", len(batch))
                    for _, done in taken:
                        if not done.done():
                            done.set_exception(exc)
                    continue
                for _, done in taken:
                    if not done.done():
                        done.set_result(None)

    def _insert(self, batch: list[dict[str, Any]]) -> None:
        with self.sessions() as session:
            connection = session.connection()
            if connection.dialect.name == "sqlite":  # the driver's executemany: a few times less CPU than Core's
                raw = connection.connection.driver_connection
                assert raw is not None
                raw.execute(_SQLITE_CACHE)  # the three indexes' pages stay cached as the table grows
                stamp = UTCDateTime().bind_processor(connection.dialect)  # as the ORM writes the column
                assert stamp is not None
                raw.executemany(_SQLITE_INSERT, [(r["id"], r["device_id"], r["code"], stamp(r["occurred_at"]),
                                                  stamp(r["received_at"]), r["source"], r["csp_region"],
                                                  r["outcome"], r["recipients"], r["throttle_sequence_id"],
                                                  r["detail"]) for r in batch])
            else:
                session.execute(insert(Alert), batch)
            add_volumes(session, batch)  # the dashboard's roll-up, in the same transaction (alerts.rollup)
            session.commit()

