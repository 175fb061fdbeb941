"""The power outage rule (issue 11 point 2; DOMAIN.md section 7; seed 001, DP096) and its deadlines.

A Communications Hub's power loss notice (``CHPL``) not followed by its restoration notice (``CHPR``) within the
wait (3 minutes) becomes an AD1 Power Outage Event DCC Alert (DUIS ``PowerOutageEvent``: CommsHubDeviceID,
StartDateTime, MPxN) to the premises' Electricity Distributor, due 60 s after the wait; a restoration after the
AD1 goes to it likewise, due 60 s after the restoration notice, as a device alert 8F36 "Supply Outage Restored"
on the hub's behalf (gbsmart's reading: docs/decisions/0028); a restoration inside the wait sends nothing. Power
losses are counted in 3-minute windows: at most 50 hubs in a window is isolated, more is wide-area. All of it is
configurable (``alerts/outage.toml``, setting ``alerts_outage_file``).

Every state is durable in ``power_outages``, written in batches by one writer task (a regional outage is 10,000
hubs at once): ``power_lost`` returns once its row is committed. Due work is one heap of (due time, hub), not a
task per hub; ``run_due`` runs what the clock says is due (tests move a clock and call it; ``start`` also runs it
in a background loop), putting the AD1s on the Northbound in batches. After a restart (or kill -9) ``start``
reloads the pending outages, so they resume and still meet their deadline where possible; the AD1's message id is
derived from the hub and the loss, so a put repeated after a crash is a no-op on the Northbound.

Deadlines: the Northbound's ``on_delivered`` (``on_delivered`` here) records each delivery time; an independent
check at each deadline reads the Northbound's row, so a delivery missed by the callback (a crash between the two)
is still seen, and a message not delivered by then is a row in ``alert_deadline_breaches`` with its cause,
completed with its delivery time when it finally goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.alerts.deadlines import NorthboundLike, iso, late_cause, make_outbound
from gbsmart.alerts.enums import OutageScope, OutageState, OutboundKind
from gbsmart.config import Settings
from gbsmart.core.clock import Clock, utc
from gbsmart.models.alerts import AlertDeadlineBreach, NorthboundMessage, PowerOutage

log = logging.getLogger("gbsmart.alerts.outage")

Premises = Callable[[str], tuple[str | None, str | None]]  # CH id -> (MPAN, Electricity Distributor's User ID)
AD1_WHAT = "AD1 Power Outage Event"
RESTORATION_WHAT = "Power restoration"
PUT_BATCH = 1000  # items per Northbound put


class OutageRuleError(ValueError):
    """The outage rule file is missing or wrong: the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class OutageRule:
    wait: timedelta = timedelta(seconds=180)
    deadline: timedelta = timedelta(seconds=60)
    restoration_deadline: timedelta = timedelta(seconds=60)
    window: timedelta = timedelta(seconds=180)
    isolated_max_hubs: int = 50
    restoration_code: str = "8F36"
    priority: str = "power_outage"
    device_suspended_code: str = "N12"
    device_restored_code: str = "N12"
    quarantined_request_code: str = "N42"

    def window_start(self, at: datetime) -> datetime:
        """The start of the counting window ``at`` falls in (windows aligned to midnight UTC)."""
        midnight = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        span = self.window.total_seconds()
        return midnight + timedelta(seconds=((at - midnight).total_seconds() // span) * span)

    def scope(self, hubs: int) -> OutageScope:
        return OutageScope.ISOLATED if hubs <= self.isolated_max_hubs else OutageScope.WIDE_AREA


_SECONDS = {"wait_seconds": "wait", "deadline_seconds": "deadline",
            "restoration_deadline_seconds": "restoration_deadline", "window_seconds": "window"}
_CODES = {"device_suspended": "device_suspended_code", "device_restored": "device_restored_code",
          "quarantined_request": "quarantined_request_code"}


def load_rule(settings: Settings) -> OutageRule:
    """The power outage rule from ``alerts_outage_file`` (default: the packaged ``alerts/outage.toml``)."""
    if settings.alerts_outage_file is None:
        text = resources.files("gbsmart.alerts").joinpath("outage.toml").read_text()
        return rule_from_data(tomllib.loads(text), "the packaged alerts/outage.toml")
    path = Path(settings.alerts_outage_file)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise OutageRuleError(f"the outage rule file {path} (GBSMART_ALERTS_OUTAGE_FILE) does not exist: create "
                              "it (copy the packaged alerts/outage.toml) or unset the setting") from None
    except tomllib.TOMLDecodeError as exc:
        raise OutageRuleError(f"the outage rule file {path} is not valid TOML: {exc}") from None
    return rule_from_data(data, str(path))


def rule_from_data(data: dict[str, Any], source: str) -> OutageRule:
    values: dict[str, Any] = {}
    outage = _table(data, "power_outage", source)
    known = set(_SECONDS) | {"isolated_max_hubs", "restoration_code", "priority"}
    _no_unknown(outage, known, f"{source} [power_outage]")
    for name, attr in _SECONDS.items():
        if name in outage:
            value = outage[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise OutageRuleError(f"{source} [power_outage] {name} must be a number of seconds above 0, "
                                      f"not {value!r}")
            values[attr] = timedelta(seconds=float(value))
    if "isolated_max_hubs" in outage:
        value = outage["isolated_max_hubs"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise OutageRuleError(f"{source} [power_outage] isolated_max_hubs must be a whole number of 0 or "
                                  f"more, not {value!r}")
        values["isolated_max_hubs"] = value
    for name in ("restoration_code", "priority"):
        if name in outage:
            values[name] = _text(outage[name], f"{source} [power_outage] {name}")
    codes = _table(data, "dcc_alerts", source)
    _no_unknown(codes, set(_CODES), f"{source} [dcc_alerts]")
    for name, attr in _CODES.items():
        if name in codes:
            values[attr] = _text(codes[name], f"{source} [dcc_alerts] {name}")
    return OutageRule(**values)


def _table(data: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise OutageRuleError(f"{source}: {name} must be a table: write [{name}] then its fields")
    return table


def _no_unknown(table: dict[str, Any], known: set[str], where: str) -> None:
    unknown = set(table) - known
    if unknown:
        raise OutageRuleError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; the fields are "
                              f"{', '.join(sorted(known))}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OutageRuleError(f"{where} must be a non-empty string, not {value!r}")
    return value.strip()


def _at(value: datetime | None) -> datetime:
    """A stored or given time as an aware UTC datetime (SQLite gives naive ones back)."""
    moment = utc(value)
    if moment is None:
        raise ValueError("a time is required")
    return moment


def ad1_message_id(hub: str, lost_at: datetime) -> str:
    return f"AD1-{hub}-{lost_at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}"


def restoration_message_id(hub: str, lost_at: datetime) -> str:
    return f"RST-{hub}-{lost_at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}"


@dataclass(slots=True)
class _Outage:
    hub: str
    lost_at: datetime
    mpxn: str | None
    distributor: str | None
    state: OutageState
    window_start: datetime


@dataclass(slots=True)
class _Deadline:
    message_id: str
    what: str
    hub: str
    lost_at: datetime
    user_id: str
    due_at: datetime


class OutageTracker:
    """Communications Hubs' power losses under the power outage rule, and the deadlines of what it sends."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock, *,
                 northbound: NorthboundLike, premises: Premises, rule: OutageRule | None = None) -> None:
        self.sessions, self.settings, self.clock = sessions, settings, clock
        self.northbound, self.premises = northbound, premises
        self.rule = rule or load_rule(settings)
        self._open: dict[str, _Outage] = {}                       # hub -> its outage not yet restored
        self._due: list[tuple[datetime, int, str, datetime]] = []  # (AD1 time, seq, hub, lost_at): a heap
        self._deadlines: list[tuple[datetime, int, str]] = []      # (due, seq, message_id): a heap
        self._awaiting: dict[str, _Deadline] = {}                  # message_id -> its deadline, until delivered
        self._breached: set[str] = set()                           # breach recorded, delivery not yet
        self._windows: dict[datetime, int] = {}                    # window start -> power losses counted
        self._closed: set[datetime] = set()                        # windows whose scope is written
        self._seq = itertools.count()
        self._ops: list[tuple[str, Any]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()                                # one run_due / restoration at a time
        self._writer: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ life cycle

    async def start(self, *, background: bool = True) -> None:
        """Reload the pending outages and deadlines, start the writer and (``background``) the due-work loop."""
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._reload)
        self._writer = self._loop.create_task(self._write_forever(), name="outage-writer")
        if background:
            self._ticker = self._loop.create_task(self._tick_forever(), name="outage-ticker")
        log.info("outage tracker: %d outages open, %d deliveries awaited", len(self._open), len(self._awaiting))

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.flush()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def flush(self) -> None:
        """Return once every state change so far is committed."""
        if self._ops:
            await self._commit([])

    def _reload(self) -> None:
        with self.sessions() as s:
            rows = s.scalars(select(PowerOutage).where(PowerOutage.state.in_(
                [OutageState.LOST.value, OutageState.REPORTED.value, OutageState.RESTORED.value]))).all()
            for row in rows:
                lost_at = _at(row.lost_at)
                state = OutageState(row.state)
                window = utc(row.window_start) or self.rule.window_start(lost_at)
                self._windows.setdefault(window, 0)
                if state is OutageState.LOST:
                    self._open[row.comms_hub_id] = _Outage(row.comms_hub_id, lost_at, row.mpxn, row.distributor,
                                                           state, window)
                    heapq.heappush(self._due, (lost_at + self.rule.wait, next(self._seq), row.comms_hub_id,
                                               lost_at))
                elif state is OutageState.REPORTED:
                    self._open[row.comms_hub_id] = _Outage(row.comms_hub_id, lost_at, row.mpxn, row.distributor,
                                                           state, window)
                if row.ad1_message_id and row.ad1_delivered_at is None:
                    self._await(_Deadline(row.ad1_message_id, AD1_WHAT, row.comms_hub_id, lost_at,
                                          row.distributor or "", _at(row.ad1_due_at)))
                if row.restoration_message_id and row.restoration_delivered_at is None:
                    self._await(_Deadline(row.restoration_message_id, RESTORATION_WHAT, row.comms_hub_id, lost_at,
                                          row.distributor or "", _at(row.restoration_due_at)))
            # the windows of open outages and those not yet scoped: count every loss in them again
            for unscoped in s.scalars(select(PowerOutage.window_start).where(PowerOutage.scope.is_(None))
                                      .distinct()).all():
                self._windows.setdefault(_at(unscoped), 0)
            for window in list(self._windows):
                self._windows[window] = s.scalar(select(func.count()).select_from(PowerOutage).where(
                    PowerOutage.window_start == window)) or 0
            self._breached = set(s.scalars(select(AlertDeadlineBreach.message_id).where(
                AlertDeadlineBreach.delivered_at.is_(None))).all())

    # ------------------------------------------------------------ the notices

    async def power_lost(self, comms_hub_id: str, at: datetime) -> None:
        """A hub's power loss notice (CHPL): returns once it is durable."""
        await self.power_lost_many([(comms_hub_id, at)])

    async def power_lost_many(self, notices: Iterable[tuple[str, datetime]]) -> None:
        """Many power loss notices at once, in one transaction (a regional outage)."""
        rows = []
        for hub, at in notices:
            hub = hub.upper()
            at = _at(at)
            if hub in self._open:
                log.info("power loss of %s at %s: already lost since %s (repeated notice ignored)", hub, iso(at),
                         iso(self._open[hub].lost_at))
                continue
            mpxn, distributor = self.premises(hub)
            window = self.rule.window_start(at)
            self._open[hub] = _Outage(hub, at, mpxn, distributor, OutageState.LOST, window)
            self._windows[window] = self._windows.get(window, 0) + 1
            heapq.heappush(self._due, (at + self.rule.wait, next(self._seq), hub, at))
            rows.append({"comms_hub_id": hub, "mpxn": mpxn, "distributor": distributor,
                         "state": OutageState.LOST.value, "scope": None, "window_start": window, "lost_at": at,
                         "ad1_due_at": at + self.rule.wait + self.rule.deadline})
        if rows:
            await self._commit([("insert", rows)])

    async def power_restored(self, comms_hub_id: str, at: datetime) -> None:
        """A hub's restoration notice (CHPR): nothing inside the wait; after the AD1, the restoration is sent."""
        await self.power_restored_many([(comms_hub_id, at)])

    async def power_restored_many(self, notices: Iterable[tuple[str, datetime]]) -> None:
        """Many restoration notices at once: the restorations put in batches, the states in one transaction."""
        async with self._lock:
            early: list[tuple[str, Any]] = []
            overdue: list[_Outage] = []
            restored: list[tuple[_Outage, datetime]] = []
            for comms_hub_id, given in notices:
                hub, at = comms_hub_id.upper(), _at(given)
                outage = self._open.get(hub)
                if outage is None:
                    log.info("power restoration of %s at %s without a power loss open: ignored", hub, iso(at))
                    continue
                if outage.state is OutageState.LOST and at < outage.lost_at + self.rule.wait:
                    del self._open[hub]
                    early.append(("update", (hub, outage.lost_at, {"state": OutageState.RESTORED_EARLY.value,
                                                                   "restored_at": at})))
                    continue
                if outage.state is OutageState.LOST:  # the wait is over but its AD1 is not out yet: it goes first
                    overdue.append(outage)
                del self._open[hub]
                restored.append((outage, at))
            if overdue:
                await self._report(overdue, self.clock.now())
            if restored:
                await self._restore(restored)
            if early:
                await self._commit(early)

    async def _restore(self, restored: Sequence[tuple[_Outage, datetime]]) -> None:
        items: list[Any] = []
        ops: list[tuple[str, Any]] = []
        for outage, at in restored:
            due = at + self.rule.restoration_deadline
            values: dict[str, Any] = {"state": OutageState.RESTORED.value, "restored_at": at,
                                      "restoration_due_at": due}
            if outage.distributor:
                message_id = restoration_message_id(outage.hub, outage.lost_at)
                items.append(make_outbound(
                    message_id=message_id, user_id=outage.distributor, kind=OutboundKind.DEVICE_ALERT,
                    priority=self.rule.priority, created_at=self.clock.now(), code=self.rule.restoration_code,
                    payload={"device_id": outage.hub, "code": self.rule.restoration_code, "at": iso(at)},
                    deadline_at=due))
                values["restoration_message_id"] = message_id
                self._await(_Deadline(message_id, RESTORATION_WHAT, outage.hub, outage.lost_at, outage.distributor,
                                      due))
            else:
                ops.append(("breach", self._unsendable(outage, RESTORATION_WHAT, due)))
            ops.append(("update", (outage.hub, outage.lost_at, values)))
        for i in range(0, len(items), PUT_BATCH):
            await self.northbound.put(items[i:i + PUT_BATCH])
        await self._commit(ops)

    # ------------------------------------------------------------ due work

    async def run_due(self) -> int:
        """Run what is due by the clock: AD1s whose wait is over, window scopes, deadline checks. Returns the
        number of AD1s queued."""
        async with self._lock:
            now = self.clock.now()
            ready: list[_Outage] = []
            while self._due and self._due[0][0] <= now:
                _, _, hub, lost_at = heapq.heappop(self._due)
                outage = self._open.get(hub)
                if outage is not None and outage.lost_at == lost_at and outage.state is OutageState.LOST:
                    ready.append(outage)
            if ready:
                await self._report(ready, now)
            await self._close_windows(now)
            await self._check_deadlines(now)
            return len(ready)

    async def _report(self, outages: Sequence[_Outage], now: datetime) -> None:
        """Queue the AD1s of ``outages`` in batches, then record them reported (put first: a crash between the
        two puts them again on restart, a no-op on the Northbound)."""
        items: list[Any] = []
        ops: list[tuple[str, Any]] = []
        for outage in outages:
            outage.state = OutageState.REPORTED
            due = outage.lost_at + self.rule.wait + self.rule.deadline
            scope = self.rule.scope(self._windows.get(outage.window_start, 1)).value  # final once it closes
            values: dict[str, Any] = {"state": OutageState.REPORTED.value, "scope": scope}
            if outage.distributor and outage.mpxn:
                message_id = ad1_message_id(outage.hub, outage.lost_at)
                items.append(make_outbound(
                    message_id=message_id, user_id=outage.distributor, kind=OutboundKind.DCC_ALERT,
                    priority=self.rule.priority, created_at=now, code="AD1", deadline_at=due,
                    payload={"code": "AD1", "at": iso(now), "device_id": outage.hub, "power_outage": {
                        "comms_hub_id": outage.hub, "start": iso(outage.lost_at), "mpxn": outage.mpxn}}))
                values["ad1_message_id"] = message_id
                self._await(_Deadline(message_id, AD1_WHAT, outage.hub, outage.lost_at, outage.distributor, due))
            else:
                ops.append(("breach", self._unsendable(outage, AD1_WHAT, due)))
            ops.append(("update", (outage.hub, outage.lost_at, values)))
        try:
            for i in range(0, len(items), PUT_BATCH):
                await self.northbound.put(items[i:i + PUT_BATCH])
        except BaseException:  # not recorded reported: due again at the next run (puts already made are no-ops)
            for outage in outages:
                outage.state = OutageState.LOST
                heapq.heappush(self._due, (now, next(self._seq), outage.hub, outage.lost_at))
            raise
        await self._commit(ops)

    def _unsendable(self, outage: _Outage, what: str, due: datetime) -> dict[str, Any]:
        if not outage.mpxn:
            cause = f"no MPAN is known for Communications Hub {outage.hub} in the SMI, so no Electricity Distributor"
        else:
            cause = f"no Electricity Distributor registered for MPAN {outage.mpxn} (or it holds no ED User ID)"
        return {"message_id": "", "what": what, "subject": outage.hub, "user_id": outage.distributor or "",
                "due_at": due, "delivered_at": None, "cause": cause, "recorded_at": self.clock.now()}

    async def _close_windows(self, now: datetime) -> None:
        closed = [w for w in self._windows if w not in self._closed and w + self.rule.window <= now]
        if closed:
            self._closed.update(closed)
            await self._commit([("scope", (w, self.rule.scope(self._windows[w]).value)) for w in closed])
        for w in [w for w in self._closed if w + timedelta(days=1) < now]:  # long past: forget the count
            self._closed.discard(w)
            self._windows.pop(w, None)

    async def _check_deadlines(self, now: datetime) -> None:
        """The independent check: each message still awaited at its deadline is looked up on the Northbound's
        table; delivered (the callback missed it) is recorded, else a breach with its cause."""
        due: list[_Deadline] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, message_id = heapq.heappop(self._deadlines)
            deadline = self._awaiting.get(message_id)
            if deadline is not None and message_id not in self._breached:
                due.append(deadline)
        if not due:
            return
        verdicts = await asyncio.to_thread(self._judge, due)
        ops: list[tuple[str, Any]] = []
        for d, delivered_at, cause in verdicts:  # state changed here, in the loop, not in the thread
            if delivered_at is not None and delivered_at <= d.due_at:
                ops += self._delivered_ops(d, delivered_at)
                continue
            ops.append(("breach", {"message_id": d.message_id, "what": d.what, "subject": d.hub,
                                   "user_id": d.user_id, "due_at": d.due_at, "delivered_at": delivered_at,
                                   "cause": cause, "recorded_at": now}))
            if delivered_at is None:
                self._breached.add(d.message_id)
            else:  # delivered late, unseen by the callback
                ops += self._delivered_ops(d, delivered_at)
        await self._commit(ops)

    def _judge(self, due: list[_Deadline]) -> list[tuple[_Deadline, datetime | None, str]]:
        """Each deadline with its delivery time on the Northbound's table, or the cause of its absence."""
        out: list[tuple[_Deadline, datetime | None, str]] = []
        with self.sessions() as s:
            delivered = dict(s.execute(select(NorthboundMessage.message_id, NorthboundMessage.delivered_at).where(
                NorthboundMessage.message_id.in_([d.message_id for d in due]))).all())
            for d in due:
                at = utc(delivered.get(d.message_id))
                late = at is None or at > d.due_at
                out.append((d, at, late_cause(s, d.message_id, d.user_id, d.due_at, at) if late else ""))
        return out

    # ------------------------------------------------------------ deliveries

    def on_delivered(self, item: Any, delivered_at: datetime) -> None:
        """The Northbound's callback: records the delivery time of an AD1 or restoration (a breach if late)."""
        if item.message_id not in self._awaiting:
            return
        deadline = self._awaiting[item.message_id]
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is not None and here is self._loop:
            self._record_delivery(deadline, _at(delivered_at))
        elif self._loop is not None and self._loop.is_running():  # called from another thread
            self._loop.call_soon_threadsafe(self._record_delivery, deadline, _at(delivered_at))

    def _record_delivery(self, deadline: _Deadline, at: datetime) -> None:
        if deadline.message_id not in self._awaiting:
            return
        late = at > deadline.due_at and deadline.message_id not in self._breached
        if late:  # the cause needs the database: judged in a thread, then written
            assert self._loop is not None
            self._loop.create_task(self._late(deadline, at))
            return
        self._enqueue(self._delivered_ops(deadline, at))

    async def _late(self, deadline: _Deadline, at: datetime) -> None:
        def judge() -> str:
            with self.sessions() as s:
                return late_cause(s, deadline.message_id, deadline.user_id, deadline.due_at, at)
        cause = await asyncio.to_thread(judge)
        self._breached.add(deadline.message_id)
        self._enqueue([("breach", {"message_id": deadline.message_id, "what": deadline.what, "subject": deadline.hub,
                                   "user_id": deadline.user_id, "due_at": deadline.due_at, "delivered_at": None,
                                   "cause": cause, "recorded_at": self.clock.now()}),
                       *self._delivered_ops(deadline, at)])

    def _delivered_ops(self, deadline: _Deadline, at: datetime) -> list[tuple[str, Any]]:
        self._awaiting.pop(deadline.message_id, None)
        column = "ad1_delivered_at" if deadline.what == AD1_WHAT else "restoration_delivered_at"
        ops: list[tuple[str, Any]] = [("update", (deadline.hub, deadline.lost_at, {column: at}))]
        if deadline.message_id in self._breached:
            self._breached.discard(deadline.message_id)
            ops.append(("breach_delivered", (deadline.message_id, at)))
        return ops

    def _await(self, deadline: _Deadline) -> None:
        self._awaiting[deadline.message_id] = deadline
        heapq.heappush(self._deadlines, (deadline.due_at, next(self._seq), deadline.message_id))

    # ------------------------------------------------------------ the writer

    def _enqueue(self, ops: list[tuple[str, Any]]) -> None:
        self._ops.extend(ops)
        self._wake.set()

    async def _commit(self, ops: list[tuple[str, Any]]) -> None:
        """Queue ``ops`` for the writer and return once they (and everything queued before) are committed."""
        if self._writer is None or self._writer.done():
            raise RuntimeError("the outage tracker is not started (call start() first)")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ops.extend(ops)
        self._waiters.append(future)
        self._wake.set()
        await future

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            ops, waiters = self._ops, self._waiters
            self._ops, self._waiters = [], []
            try:
                if ops:
                    await asyncio.to_thread(self._write, ops)
            except Exception as exc:
                log.exception("outage tracker: writing %d state changes failed", len(ops))
                for w in waiters:
                    if not w.done():
                        w.set_exception(exc)
                continue
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    def _write(self, ops: list[tuple[str, Any]]) -> None:
        """Apply ``ops`` in one transaction, consecutive ones of a kind (and columns) as one executemany."""
        with self.sessions() as s, s.begin():
            for (kind, columns), group in itertools.groupby(ops, key=_signature):
                batch = [arg for _, arg in group]
                if kind == "insert":
                    s.execute(insert(PowerOutage), [row for rows in batch for row in rows])
                elif kind == "update":
                    stmt = update(PowerOutage).where(and_(PowerOutage.comms_hub_id == bindparam("k_hub"),
                                                          PowerOutage.lost_at == bindparam("k_lost"))) \
                        .values({c: bindparam(f"v_{c}") for c in columns})
                    s.connection().execute(stmt, [{"k_hub": h, "k_lost": lost, **{f"v_{c}": v for c, v in vals.items()}}
                                                  for h, lost, vals in batch])
                elif kind == "breach":
                    s.execute(insert(AlertDeadlineBreach), batch)
                elif kind == "breach_delivered":
                    stmt = update(AlertDeadlineBreach).where(AlertDeadlineBreach.message_id == bindparam("k_id"),
                                                             AlertDeadlineBreach.delivered_at.is_(None)) \
                        .values(delivered_at=bindparam("v_at"))
                    s.connection().execute(stmt, [{"k_id": m, "v_at": at} for m, at in batch])
                elif kind == "scope":
                    stmt = update(PowerOutage).where(PowerOutage.window_start == bindparam("k_window")) \
                        .values(scope=bindparam("v_scope"))
                    s.connection().execute(stmt, [{"k_window": w, "v_scope": sc} for w, sc in batch])

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alerts_outage_tick_seconds)
            try:
                await self.run_due()
            except Exception:  # the next tick tries again; the state it needs is durable
                log.exception("outage tracker: due work failed")

    # ------------------------------------------------------------ reading

    def pending(self) -> dict[str, int]:
        """Counts for the log and tests: outages open by state, deliveries awaited."""
        counts: dict[str, int] = {}
        for outage in self._open.values():
            counts[outage.state.value] = counts.get(outage.state.value, 0) + 1
        counts["awaiting_delivery"] = len(self._awaiting)
        return counts


def _signature(op: tuple[str, Any]) -> tuple[str, tuple[str, ...]]:
    kind, arg = op
    return (kind, tuple(sorted(arg[2]))) if kind == "update" else (kind, ())


# ---------------------------------------------------------------- reading (the CLI; the portal reads alerts.queries)


def recent_outages(session: Session, *, state: OutageState | None = None, hub: str | None = None,
                   limit: int = 50) -> list[PowerOutage]:
    """The latest power losses first, optionally of one state or one hub."""
    query = select(PowerOutage).order_by(PowerOutage.lost_at.desc(), PowerOutage.id.desc()).limit(limit)
    if state is not None:
        query = query.where(PowerOutage.state == state.value)
    if hub is not None:
        query = query.where(PowerOutage.comms_hub_id == hub.strip().upper())
    return list(session.scalars(query))


def recent_breaches(session: Session, *, user_id: str | None = None, limit: int = 50) -> list[AlertDeadlineBreach]:
    """The latest deadline breaches first, optionally of one User."""
    query = select(AlertDeadlineBreach).order_by(AlertDeadlineBreach.recorded_at.desc(),
                                                 AlertDeadlineBreach.id.desc()).limit(limit)
    if user_id is not None:
        query = query.where(AlertDeadlineBreach.user_id == user_id.strip().upper())
    return list(session.scalars(query))


def is_late(outage: PowerOutage) -> bool | None:
    """Whether its AD1 went after its deadline (None: not delivered yet, or nothing to send)."""
    if outage.ad1_delivered_at is None:
        return None
    return _at(outage.ad1_delivered_at) > _at(outage.ad1_due_at)
