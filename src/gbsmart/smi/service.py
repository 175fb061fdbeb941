"""Use cases of the Smart Metering Inventory. Takes a Ctx; never commits.

The CPL side (``upsert_device_models``, ``apply_cpl_statuses``, ``record_extract_application``,
``last_applied_sequence``) is what the signed-extract application (``smi.extract_apply``) calls; it is
set-based SQL, sized for 54 million devices. The per-device use cases (add, commission, decommission,
firmware, registration data) follow the lifecycle in ``smi.rules``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Date, Table, bindparam, func, select, text
from sqlalchemy.orm import Session

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.db import UTCDateTime
from gbsmart.core.errors import Forbidden, Invalid
from gbsmart.core.pagination import CURSOR_NOT_OURS, Page, decode_cursor, encode_cursor
from gbsmart.core.types import as_db_id
from gbsmart.cpl.enums import EntryStatus
from gbsmart.models.smi import (
    SmiDevice,
    SmiDeviceEvent,
    SmiDeviceModel,
    SmiExtractApplication,
    SmiRegistration,
    SmiStatusHistory,
    SmiSuspension,
    suspended_now,
)
from gbsmart.smi import rules
from gbsmart.smi.enums import DeviceEvent, DeviceType, SmiStatus
from gbsmart.smi.errors import DeviceNotFound, DeviceRefused, StatusChangeRefused
from gbsmart.smi.rules import (
    DEVICE_TYPE_CODE,
    DEVICE_TYPE_OF,
    EVENT_CODE,
    STATUS_CODE,
    STATUS_OF,
    SUSPENDABLE_CODES,
    SUSPENDED,
    eui64_to_int,
    int_to_eui64,
)
from gbsmart.smi.schemas import DeviceCreate

#: who adds devices to the SMI and reads every device's events: the DCC and the Code Administrator (and system jobs)
WRITERS = ("dcc", "code_administrator")
FORBIDDEN_TO_ADD = "Only the DCC or the Code Administrator may add devices to the Smart Metering Inventory."
FORBIDDEN_TO_CHANGE = ("Only the DCC, the Code Administrator or the registered Supplier of the device's MPxN may "
                       "change this device (DUIS response E4).")

#: statuses in which a device's firmware is no longer recorded
FIRMWARE_FROZEN = frozenset({SmiStatus.DECOMMISSIONED, SmiStatus.WITHDRAWN})

MODEL_FIELDS = ("manufacturer", "model", "hardware_version", "firmware_version", "physical_device_type", "status")
MODEL_KEY = MODEL_FIELDS[:4]

# ---------------------------------------------------------------- the CPL side (smi.extract_apply calls these)


def _validate_models(models: list[dict]) -> None:
    problems = []
    seen: set[tuple] = set()
    statuses = {s.value for s in EntryStatus}
    for i, m in enumerate(models):
        for f in MODEL_FIELDS:
            if not isinstance(m.get(f), str) or not m[f].strip():
                problems.append({"field": f"models[{i}].{f}", "message": "required: a non-empty string"})
        if isinstance(m.get("status"), str) and m["status"] not in statuses:
            allowed = ", ".join(sorted(statuses))
            problems.append({"field": f"models[{i}].status",
                             "message": f"{m['status']!r} is not a CPL status; use one of {allowed}"})
        key = tuple(m.get(f) for f in MODEL_KEY)
        if key in seen:
            problems.append({"field": f"models[{i}]", "message": "the same Device Model appears twice in the extract"})
        seen.add(key)
    if problems:
        raise Invalid(f"The extract's Device Models are not valid ({len(problems)} problems).", detail=problems[:50])


def upsert_device_models(ctx: Ctx, models: list[dict]) -> dict[str, int]:
    """Insert or update smi_device_models from extract entries; returns {"added", "updated", "withdrawn"}.

    Each entry: manufacturer, model, hardware_version, firmware_version, physical_device_type, status
    (Active|Cancelled|Expired|Withdrawn). Models in the SMI but absent from the extract become Withdrawn
    (removed from the CPL); they count in ``updated`` too, and ``withdrawn`` says how many of them.
    """
    _validate_models(models)
    s, now = ctx.session, ctx.clock.now()
    existing = {tuple(getattr(m, f) for f in MODEL_KEY): m for m in s.scalars(select(SmiDeviceModel))}
    added = updated = withdrawn = 0
    changes: list[dict] = []
    listed: set[tuple] = set()
    new_rows = []
    for entry in models:
        key = tuple(entry[f].strip() for f in MODEL_KEY)
        listed.add(key)
        row = existing.get(key)
        if row is None:
            new_rows.append({**dict(zip(MODEL_KEY, key, strict=True)), "physical_device_type":
                             entry["physical_device_type"].strip(), "status": entry["status"], "updated_at": now})
            added += 1
            continue
        if row.status != entry["status"] or row.physical_device_type != entry["physical_device_type"].strip():
            changes.append({"model": "/".join(key), "from": row.status, "to": entry["status"]})
            row.status, row.physical_device_type, row.updated_at = entry["status"], entry["physical_device_type"], now
            updated += 1
    for key, row in existing.items():
        if key not in listed and row.status != EntryStatus.WITHDRAWN:
            changes.append({"model": "/".join(key), "from": row.status, "to": EntryStatus.WITHDRAWN.value})
            row.status, row.updated_at = EntryStatus.WITHDRAWN.value, now
            updated += 1
            withdrawn += 1
    if new_rows:
        s.execute(cast(Table, SmiDeviceModel.__table__).insert(), new_rows)  # a declarative class's table is a Table
    s.flush()
    result = {"added": added, "updated": updated, "withdrawn": withdrawn}
    record_change(ctx, "smi.device_models.upsert", "smi_device_models", "cpl-extract",
                  after={**result, "changes": changes[:200]})
    return result


@dataclass
class ApplyResult:
    suspended: int
    restored: int
    events: int
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step, for the benchmarks


class _Steps:
    """Wall seconds of each step of an application (what the benchmark reports)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._t, 3)
        self._t = now


_TMP = "smi_apply_batch"


def _exec(session: Session, sql: str, **params: Any) -> int:
    stmt = text(sql)
    binds = [bindparam(k, type_=UTCDateTime()) if k == "at" else bindparam(k, type_=Date()) if k == "today"
             else bindparam(k) for k in params if f":{k}" in sql]
    return cast(CursorResult[Any], session.execute(stmt.bindparams(*binds), params)).rowcount  # DML: a cursor result


def _events_from_batch(session: Session, event: DeviceEvent, at: datetime, seq: int | None) -> int:
    """One event per device in the batch for each User concerned: its MPxN's Supplier and Network Operator."""
    sql = f"""
        INSERT INTO smi_device_events (event, device_id, user_org_id, at, extract_sequence)
        SELECT :ev, b.device_id,
               CASE k.n WHEN 1 THEN r.supplier_org_id ELSE r.network_operator_org_id END, :at, :seq
        FROM {_TMP} b
        JOIN smi_registrations r ON r.mpxn = b.mpxn AND r.valid_to IS NULL
        CROSS JOIN (SELECT 1 AS n UNION ALL SELECT 2 AS n) k
        WHERE k.n = 1 OR r.network_operator_org_id <> r.supplier_org_id
    """
    return _exec(session, sql, ev=EVENT_CODE[event], at=at, seq=seq)


def _history_from_batch(session: Session, at: datetime, reason: str) -> None:
    _exec(session, f"""
        INSERT INTO smi_status_history (device_id, from_status, to_status, at, reason)
        SELECT b.device_id, b.from_status, b.to_status, :at, :reason FROM {_TMP} b
    """, at=at, reason=reason[:300])


#: Page cache (KiB) for an extract application on SQLite, so the pages it dirties (suspension rows, history,
#: events and their indexes: about 1 GB when 5 million devices are suspended) stay in memory until the
#: commit instead of spilling to the WAL mid-statement. Allocated only as pages are touched.
SQLITE_APPLY_CACHE_KIB = 2_000_000


def _sqlite_transaction(session: Session) -> None:
    """Open the SQLite transaction now, so the DDL of the batch table is inside it, and give it a page cache
    that fits the work (per connection, memory only as used)."""
    raw = session.connection().connection.driver_connection
    assert raw is not None  # a checked-out connection always holds its driver connection
    if raw.execute("PRAGMA cache_size").fetchone()[0] > -SQLITE_APPLY_CACHE_KIB:
        raw.execute(f"PRAGMA cache_size=-{SQLITE_APPLY_CACHE_KIB}")
    if not raw.in_transaction:
        raw.execute("BEGIN")


def _batch(session: Session, pg: bool, select_sql: str) -> None:
    temp = "TEMPORARY TABLE" if pg else "TEMP TABLE"
    session.execute(text(f"DROP TABLE IF EXISTS {_TMP}"))
    session.execute(text(f"CREATE {temp} {_TMP} AS {select_sql}"))
    if pg:  # the planner must know the batch's size (no statistics on a new temporary table)
        session.execute(text(f"ANALYZE {_TMP}"))


def apply_cpl_statuses(ctx: Ctx, *, extract_sequence: int, reason: str) -> ApplyResult:
    """Apply the CPL rule to every device, set-based (DOMAIN.md section 5).

    Every device in a live status whose model is not Active becomes Suspended (a row in smi_suspensions;
    its lifecycle status is kept as the status before suspension); every Suspended device whose model is
    Active again returns to that status; a status history row per device, and one DeviceSuspended /
    DeviceRestored event per device for each User concerned (the registered Supplier and the Network
    Operator of its MPxN). All in the caller's transaction: a failure rolls back all.
    """
    started = time.perf_counter()
    s = ctx.session
    at, today = ctx.clock.now(), ctx.clock.today()
    pg = s.get_bind().dialect.name == "postgresql"
    if pg:  # one writer at a time while the rule is applied: no device changes status under our feet
        s.execute(text("LOCK TABLE smi_devices IN SHARE ROW EXCLUSIVE MODE"))
        s.execute(text("LOCK TABLE smi_suspensions IN SHARE ROW EXCLUSIVE MODE"))
        # fresh statistics (the extract has just changed the models' statuses): with them the planner walks the
        # model index for the few models not Active instead of every device (measured at 10M devices: 0.6 s, not 2.8 s)
        s.execute(text("ANALYZE smi_device_models"))
        s.execute(text("ANALYZE smi_suspensions"))
    else:
        _sqlite_transaction(s)
    live = ", ".join(str(c) for c in SUSPENDABLE_CODES)
    steps = _Steps()

    # restore: open suspensions whose device's model is Active again (on SQLite, CROSS JOIN keeps the
    # suspensions as the outer loop: the planner has no statistics for them and would walk the devices)
    _batch(s, pg, f"""
        SELECT x.device_id, {SUSPENDED} AS from_status, d.lifecycle_status AS to_status, d.mpxn
        FROM smi_suspensions x {"JOIN" if pg else "CROSS JOIN"} smi_devices d ON d.device_id = x.device_id
        WHERE x.until IS NULL
          AND d.device_model_id IN (SELECT id FROM smi_device_models WHERE status = 'Active')""")
    steps.done("restore: batch")
    _history_from_batch(s, at, f"{reason} (restored: Device Model Active on the CPL)")
    steps.done("restore: history")
    events = _events_from_batch(s, DeviceEvent.DEVICE_RESTORED, at, extract_sequence)
    steps.done("restore: events")
    if pg:
        sql = (f"UPDATE smi_suspensions SET until = :today FROM {_TMP} b "
               "WHERE smi_suspensions.device_id = b.device_id AND smi_suspensions.until IS NULL")
    else:
        sql = (f"UPDATE smi_suspensions SET until = :today "
               f"WHERE until IS NULL AND device_id IN (SELECT device_id FROM {_TMP})")
    restored = _exec(s, sql, today=today)
    steps.done("restore: suspensions closed")

    # suspend: live devices of models not Active, not suspended already (none to look for if every model is Active)
    suspended = 0
    if s.scalar(text("SELECT 1 FROM smi_device_models WHERE status <> 'Active' LIMIT 1")) is not None:
        _batch(s, pg, f"""
            SELECT d.device_id, d.lifecycle_status AS from_status, {SUSPENDED} AS to_status, d.mpxn
            FROM smi_devices d
            WHERE d.device_model_id IN (SELECT id FROM smi_device_models WHERE status <> 'Active')
              AND d.lifecycle_status IN ({live})
              AND NOT EXISTS (SELECT 1 FROM smi_suspensions x WHERE x.device_id = d.device_id AND x.until IS NULL)
            ORDER BY d.device_id""")
        steps.done("suspend: batch")
        _history_from_batch(s, at, f"{reason} (suspended: Device Model not Active on the CPL)")
        steps.done("suspend: history")
        events += _events_from_batch(s, DeviceEvent.DEVICE_SUSPENDED, at, extract_sequence)
        steps.done("suspend: events")
        suspended = _exec(s, f"""
            INSERT INTO smi_suspensions (device_id, since, until, extract_sequence)
            SELECT device_id, :today, NULL, :seq FROM {_TMP} WHERE true
            ON CONFLICT (device_id) DO UPDATE SET since = excluded.since, until = NULL,
                                                 extract_sequence = excluded.extract_sequence""",
                          today=today, seq=extract_sequence)
        steps.done("suspend: suspensions opened")
    s.execute(text(f"DROP TABLE IF EXISTS {_TMP}"))
    s.expire_all()  # devices loaded into this session before the set-based statements are stale now
    result = ApplyResult(suspended=suspended, restored=restored, events=events,
                         seconds=round(time.perf_counter() - started, 3), steps=steps.seconds)
    record_change(ctx, "smi.cpl_statuses.apply", "smi_devices", f"extract-{extract_sequence}",
                  after={"suspended": suspended, "restored": restored, "events": events, "reason": reason})
    return result


def record_extract_application(ctx: Ctx, sequence: int, digest: str, result: ApplyResult) -> SmiExtractApplication:
    """Record that the signed extract ``sequence`` (SHA-256 ``digest``) was applied, with what it changed."""
    if ctx.session.scalar(select(SmiExtractApplication.id).where(SmiExtractApplication.sequence == sequence)):
        raise StatusChangeRefused(f"CPL extract {sequence} has already been applied to the SMI.")
    row = SmiExtractApplication(sequence=sequence, applied_at=ctx.clock.now(), sha256=digest,
                                suspended=result.suspended, restored=result.restored, events=result.events,
                                seconds=result.seconds)
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "smi.extract.applied", "smi_extract_applications", sequence,
                  after={"sha256": digest, **{k: v for k, v in asdict(result).items() if k != "steps"}})
    return row


def last_applied_sequence(session: Session) -> int | None:
    """The highest CPL extract sequence applied to the SMI, or None."""
    return session.scalar(select(func.max(SmiExtractApplication.sequence)))


# ---------------------------------------------------------------- one device


def parse_device_id(device_id: str | int) -> int:
    try:
        return eui64_to_int(device_id)
    except ValueError as exc:
        raise DeviceRefused(str(exc), detail=[{"field": "device_id", "message": str(exc)}]) from exc


def get_device(session: Session, device_id: str | int) -> SmiDevice:
    key = parse_device_id(device_id)
    device = session.get(SmiDevice, key)
    if device is None:
        raise DeviceNotFound(f"No device {int_to_eui64(key)} in the Smart Metering Inventory.")
    return device


def find_model(session: Session, manufacturer: str, model: str, hardware_version: str,
               firmware_version: str) -> SmiDeviceModel | None:
    return session.scalar(select(SmiDeviceModel).where(
        SmiDeviceModel.manufacturer == manufacturer, SmiDeviceModel.model == model,
        SmiDeviceModel.hardware_version == hardware_version, SmiDeviceModel.firmware_version == firmware_version))


def _history(ctx: Ctx, device: SmiDevice, from_code: int | None, reason: str) -> None:
    ctx.session.add(SmiStatusHistory(device_id=device.device_id, from_status=from_code, to_status=device.smi_status,
                                     at=ctx.clock.now(), reason=reason[:300]))


def _device_events(ctx: Ctx, device: SmiDevice, event: DeviceEvent) -> int:
    reg = current_registration(ctx.session, device.mpxn) if device.mpxn is not None else None
    if reg is None:
        return 0
    users = dict.fromkeys((reg.supplier_org_id, reg.network_operator_org_id))  # the Users concerned, once each
    for org in users:
        ctx.session.add(SmiDeviceEvent(event=EVENT_CODE[event], device_id=device.device_id, user_org_id=org,
                                       at=ctx.clock.now(), extract_sequence=None))
    return len(users)


def _set_status(ctx: Ctx, device: SmiDevice, target: SmiStatus, reason: str) -> None:
    """An ordinary lifecycle step (never to or from Suspended: those are _suspend and _restore)."""
    before = device.smi_status
    device.lifecycle_status, device.lifecycle_date = STATUS_CODE[target], ctx.clock.today()
    _history(ctx, device, before, reason)
    record_change(ctx, "smi.device.status", "smi_device", int_to_eui64(device.device_id),
                  before={"smi_status": STATUS_OF[before].value}, after={"smi_status": target.value, "reason": reason})


def _transition(ctx: Ctx, device: SmiDevice, target: SmiStatus, reason: str) -> SmiDevice:
    try:
        rules.check_transition(STATUS_OF[device.smi_status], target)
    except rules.TransitionRefused as exc:
        raise StatusChangeRefused(str(exc), detail={"allowed": [
            s.value for s in rules.allowed_from(STATUS_OF[device.smi_status])]}) from exc
    _set_status(ctx, device, target, reason)
    ctx.session.flush()
    return device


def add_device(ctx: Ctx, data: DeviceCreate) -> SmiDevice:
    """Add a device to the SMI: its Device Model must be on the SMI's copy of the CPL (but IHD and CAD).

    Only a writer (``may_add``) may add one; anyone else is refused with ``FORBIDDEN_TO_ADD`` (403)."""
    require_writer(ctx)
    s = ctx.session
    key = parse_device_id(data.device_id)
    if s.get(SmiDevice, key) is not None:
        raise StatusChangeRefused(f"Device {int_to_eui64(key)} is already in the Smart Metering Inventory.")
    if data.smi_status not in rules.INITIAL_STATUSES:
        raise DeviceRefused(f"smi_status: a device is added as one of "
                            f"{', '.join(sorted(x.value for x in rules.INITIAL_STATUSES))}.",
                            detail=[{"field": "smi_status", "message": "not an initial SMI Status"}])
    fields = (data.manufacturer, data.model, data.hardware_version, data.firmware_version)
    known = tuple(f for f in fields if f)
    model = find_model(s, *known) if len(known) == len(fields) else None
    if model is None and rules.requires_cpl(data.device_type):
        msg = (f"device_model: a {data.device_type.value} must have a Device Model on the CPL (manufacturer, model, "
               "hardware_version, firmware_version); " + ("this one is not in the SMI's copy of the CPL."
                                                          if all(fields) else "give all four fields."))
        raise DeviceRefused(msg, detail=[{"field": "device_model", "message": msg}])
    status = data.smi_status
    if status is SmiStatus.COMMISSIONED and model is not None and model.status != EntryStatus.ACTIVE:
        raise DeviceRefused(rules.commission_refusal(True, model.status, data.device_type) or "")
    device = SmiDevice(
        device_id=key, device_type=DEVICE_TYPE_CODE[data.device_type], device_model_id=model.id if model else None,
        lifecycle_status=STATUS_CODE[status], lifecycle_date=ctx.clock.today(),
        mpxn=int(data.mpxn) if data.mpxn else None,
        chf_device_id=eui64_to_int(data.chf_device_id) if data.chf_device_id else None,
        associated_meter_id=eui64_to_int(data.associated_meter_id) if data.associated_meter_id else None,
        csp_region=rules.REGION_CODE[data.csp_region])
    s.add(device)
    s.flush()
    _history(ctx, device, None, "added to the SMI")
    if model is not None and model.status != EntryStatus.ACTIVE and status in rules.SUSPENDABLE:
        _suspend(ctx, device, f"Device Model {model.status} on the CPL")
    record_change(ctx, "smi.device.add", "smi_device", int_to_eui64(key), after=data.model_dump(mode="json"))
    s.flush()
    return device


def _suspend(ctx: Ctx, device: SmiDevice, reason: str) -> None:
    """Suspend one device (its lifecycle status is kept, to return to); the same row the CPL rule writes."""
    s, today, before = ctx.session, ctx.clock.today(), device.smi_status
    row = s.get(SmiSuspension, device.device_id)
    if row is None:
        s.add(SmiSuspension(device_id=device.device_id, since=today, until=None, extract_sequence=None))
    else:
        row.since, row.until, row.extract_sequence = today, None, None
    s.flush()
    s.expire(device, ["suspension"])
    _history(ctx, device, before, reason)
    record_change(ctx, "smi.device.status", "smi_device", int_to_eui64(device.device_id),
                  before={"smi_status": STATUS_OF[before].value},
                  after={"smi_status": SmiStatus.SUSPENDED.value, "reason": reason})
    _device_events(ctx, device, DeviceEvent.DEVICE_SUSPENDED)


def _restore(ctx: Ctx, device: SmiDevice, reason: str) -> None:
    """Close the device's suspension: it is back in its lifecycle status."""
    s = ctx.session
    row = s.get(SmiSuspension, device.device_id)
    if row is None or row.until is not None:
        return
    row.until = ctx.clock.today()
    s.flush()
    s.expire(device, ["suspension"])
    _history(ctx, device, STATUS_CODE[SmiStatus.SUSPENDED], reason)
    record_change(ctx, "smi.device.status", "smi_device", int_to_eui64(device.device_id),
                  before={"smi_status": SmiStatus.SUSPENDED.value},
                  after={"smi_status": STATUS_OF[device.lifecycle_status].value, "reason": reason})
    _device_events(ctx, device, DeviceEvent.DEVICE_RESTORED)


def commission(ctx: Ctx, device_id: str | int, reason: str = "commissioned") -> SmiDevice:
    """Commission a device: refused unless its Device Model is Active on the DCC's view of the CPL."""
    device = device_for_change(ctx, device_id)
    model = ctx.session.get(SmiDeviceModel, device.device_model_id) if device.device_model_id else None
    refusal = rules.commission_refusal(model is not None, model.status if model else None,
                                       DEVICE_TYPE_OF[device.device_type])
    if refusal:
        raise DeviceRefused(refusal, detail=[{"field": "device_model", "message": refusal}])
    return _transition(ctx, device, SmiStatus.COMMISSIONED, reason or "commissioned")


def decommission(ctx: Ctx, device_id: str | int, reason: str = "decommissioned") -> SmiDevice:
    return _transition(ctx, device_for_change(ctx, device_id), SmiStatus.DECOMMISSIONED, reason or "decommissioned")


def change_status(ctx: Ctx, device_id: str | int, target: SmiStatus, reason: str = "") -> SmiDevice:
    """Any ordinary lifecycle step (whitelist, install, withdraw, recovery ...); commissioning has its own checks."""
    if target is SmiStatus.COMMISSIONED:
        return commission(ctx, device_id, reason)
    return _transition(ctx, device_for_change(ctx, device_id), target, reason or target.value)


def install_communications_hub(ctx: Ctx, device_id: str | int, mpxn: int, *, sm_wan: bool) -> SmiDevice:
    """A Communications Hub installed at ``mpxn`` (DUIS 8.14.1 / 8.14.2): its CHF is recorded at that MPxN and
    becomes InstalledNotCommissioned, then Commissioned when it reached the SM WAN (``sm_wan``).

    Who may: a writer, or the registered Supplier of ``mpxn`` (and of the CHF's MPxN, if it has one already);
    anyone else is refused with ``FORBIDDEN_TO_CHANGE``. Commissioning keeps its CPL check."""
    device = get_device(ctx.session, device_id)
    if DEVICE_TYPE_OF[device.device_type] is not DeviceType.CHF:
        raise DeviceRefused(f"Device {int_to_eui64(device.device_id)} is a {DEVICE_TYPE_OF[device.device_type].value}"
                            ", not a Communications Hub Function: give the CHF's Device ID.")
    if not may_add(ctx) and not (supplies(ctx, mpxn) and (device.mpxn is None or may_act_on(ctx, device))):
        raise Forbidden(FORBIDDEN_TO_CHANGE)
    try:
        rules.mpxn_fuel(mpxn)
    except ValueError as exc:
        raise DeviceRefused(str(exc), detail=[{"field": "mpxn", "message": str(exc)}]) from exc
    status = STATUS_OF[device.smi_status]
    installable = status in (SmiStatus.PENDING, SmiStatus.WHITELISTED) or (
        status is SmiStatus.INSTALLED_NOT_COMMISSIONED and sm_wan)
    if installable and device.mpxn != mpxn:
        record_change(ctx, "smi.device.mpxn", "smi_device", int_to_eui64(device.device_id),
                      before={"mpxn": device.mpxn}, after={"mpxn": mpxn})
        device.mpxn = mpxn
    if status is SmiStatus.PENDING:  # the lifecycle's own path: Pending -> Whitelisted -> Installed
        _transition(ctx, device, SmiStatus.WHITELISTED, "Communications Hub installed (whitelisted on install)")
        status = SmiStatus.WHITELISTED
    if status is SmiStatus.WHITELISTED:
        _transition(ctx, device, SmiStatus.INSTALLED_NOT_COMMISSIONED, f"Communications Hub installed at MPxN {mpxn}")
    if sm_wan:
        return commission(ctx, int_to_eui64(device.device_id), "Communications Hub installed, on the SM WAN")
    if STATUS_OF[device.smi_status] is not SmiStatus.INSTALLED_NOT_COMMISSIONED:
        raise StatusChangeRefused(f"A {STATUS_OF[device.smi_status].value} Communications Hub cannot be recorded as "
                                  "installed without SM WAN: only a Pending, Whitelisted or Installed one can.")
    return device


def update_firmware(ctx: Ctx, device_id: str | int, firmware_version: str) -> SmiDevice:
    """Move the device to the Device Model with the new firmware version; the CPL rule then applies to it."""
    s = ctx.session
    device = device_for_change(ctx, device_id)
    status = STATUS_OF[device.smi_status]
    if status in FIRMWARE_FROZEN:
        raise StatusChangeRefused(f"The firmware of a {status.value} device cannot be updated.")
    old = s.get(SmiDeviceModel, device.device_model_id) if device.device_model_id else None
    if old is None:
        raise DeviceRefused("device_model: this device has no Device Model on the CPL, so no firmware to update.")
    new = find_model(s, old.manufacturer, old.model, old.hardware_version, firmware_version.strip())
    if new is None:
        msg = (f"firmware_version: {old.manufacturer} {old.model} (hardware {old.hardware_version}) with firmware "
               f"{firmware_version!r} is not on the SMI's copy of the CPL.")
        raise DeviceRefused(msg, detail=[{"field": "firmware_version", "message": msg}])
    device.device_model_id = new.id
    _history(ctx, device, device.smi_status, f"firmware updated from {old.firmware_version} to {new.firmware_version}")
    record_change(ctx, "smi.device.firmware", "smi_device", int_to_eui64(device.device_id),
                  before={"firmware_version": old.firmware_version}, after={"firmware_version": new.firmware_version})
    before = device.status_before_suspension
    target = rules.cpl_target(status, STATUS_OF.get(before) if before is not None else None,
                              new.status == EntryStatus.ACTIVE)
    if target is SmiStatus.SUSPENDED and status is not SmiStatus.SUSPENDED:
        _suspend(ctx, device, f"firmware {new.firmware_version} is {new.status} on the CPL")
    elif status is SmiStatus.SUSPENDED and target is not SmiStatus.SUSPENDED:
        _restore(ctx, device, f"firmware updated to {new.firmware_version}, Active on the CPL")
    s.flush()
    return device


# ---------------------------------------------------------------- registration data


def current_registration(session: Session, mpxn: int) -> SmiRegistration | None:
    return session.scalar(select(SmiRegistration).where(SmiRegistration.mpxn == mpxn,
                                                        SmiRegistration.valid_to.is_(None)))


# ---------------------------------------------------------------- reading


@dataclass
class DeviceFilters:
    mpxn: int | None = None
    status: SmiStatus | None = None
    device_type: DeviceType | None = None


def list_devices(session: Session, f: DeviceFilters, cursor: str | None, limit: int = 50) -> Page[SmiDevice]:
    """Devices in Device ID order, keyset-paged (the cursor is the last Device ID seen)."""
    q = select(SmiDevice).order_by(SmiDevice.device_id).limit(limit + 1)
    if f.mpxn is not None:
        q = q.where(SmiDevice.mpxn == f.mpxn)
    if f.status is SmiStatus.SUSPENDED:
        q = q.join(SmiSuspension, SmiSuspension.device_id == SmiDevice.device_id).where(SmiSuspension.until.is_(None))
    elif f.status is not None:
        q = q.where(SmiDevice.lifecycle_status == STATUS_CODE[f.status], ~suspended_now(SmiDevice))
    if f.device_type is not None:
        q = q.where(SmiDevice.device_type == DEVICE_TYPE_CODE[f.device_type])
    after = decode_cursor(cursor)
    if after:
        q = q.where(SmiDevice.device_id > parse_device_id(str(after[0])))
    rows = list(session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor([int_to_eui64(rows[-1].device_id)]) if more else None)


def counts(session: Session) -> list[tuple[SmiStatus, DeviceType, int]]:
    """Devices by SMI Status and Device Type (a full scan: seconds at national scale)."""
    by = (SmiDevice.lifecycle_status, SmiDevice.device_type)
    tally = {(st, t): n for st, t, n in session.execute(select(*by, func.count()).group_by(*by))}
    # the suspended ones (usually few) move from their lifecycle status to Suspended
    for st, t, n in session.execute(select(*by, func.count()).join(
            SmiSuspension, SmiSuspension.device_id == SmiDevice.device_id)
            .where(SmiSuspension.until.is_(None)).group_by(*by)):
        tally[(st, t)] -= n
        tally[(SUSPENDED, t)] = tally.get((SUSPENDED, t), 0) + n
    rows = [(st, t, n) for (st, t), n in tally.items() if n]
    return sorted(((STATUS_OF[s], DEVICE_TYPE_OF[t], n) for s, t, n in rows),
                  key=lambda r: (STATUS_CODE[r[0]], DEVICE_TYPE_CODE[r[1]]))


def history(session: Session, device_id: int) -> list[SmiStatusHistory]:
    return list(session.scalars(select(SmiStatusHistory).where(SmiStatusHistory.device_id == device_id)
                                .order_by(SmiStatusHistory.id)))


def events(session: Session, device_id: str | None, cursor: str | None, limit: int = 100) -> Page[SmiDeviceEvent]:
    """DeviceSuspended / DeviceRestored events, newest first, optionally for one device; keyset by id."""
    q = select(SmiDeviceEvent).order_by(SmiDeviceEvent.id.desc()).limit(limit + 1)
    if device_id:
        q = q.where(SmiDeviceEvent.device_id == parse_device_id(device_id))
    after = decode_cursor(cursor)
    if after:
        after_id = as_db_id(str(after[0]))
        if after_id is None:
            raise Invalid(CURSOR_NOT_OURS)
        q = q.where(SmiDeviceEvent.id < after_id)
    rows = list(session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor([rows[-1].id]) if more else None)


def model_of(session: Session, device: SmiDevice) -> SmiDeviceModel | None:
    return session.get(SmiDeviceModel, device.device_model_id) if device.device_model_id else None


# ---------------------------------------------------------------- who may write (every door asks here)


def may_add(ctx: Ctx) -> bool:
    """Adding devices (and listing every device's events): the DCC or the Code Administrator, or a system job."""
    return ctx.actor.has_role(*WRITERS, "system")


def require_writer(ctx: Ctx) -> None:
    """403 with ``FORBIDDEN_TO_ADD`` unless the actor may add devices."""
    if not may_add(ctx):
        raise Forbidden(FORBIDDEN_TO_ADD)


def supplies(ctx: Ctx, mpxn: int | None) -> bool:
    """The actor's organisation is the registered Supplier of ``mpxn`` now."""
    reg = current_registration(ctx.session, mpxn) if mpxn is not None else None
    return reg is not None and ctx.actor.organisation_id == reg.supplier_org_id


def may_act_on(ctx: Ctx, device: SmiDevice) -> bool:
    """The DCC and the Code Administrator may; a Party user only for a device at an MPxN its Party supplies."""
    return may_add(ctx) or supplies(ctx, device.mpxn)


def device_for_change(ctx: Ctx, device_id: str | int) -> SmiDevice:
    """The device, if the actor may change it (``may_act_on``); 403 with ``FORBIDDEN_TO_CHANGE`` (DUIS E4) otherwise."""
    device = get_device(ctx.session, device_id)
    if not may_act_on(ctx, device):
        raise Forbidden(FORBIDDEN_TO_CHANGE)
    return device


@dataclass(frozen=True)
class DeviceActions:
    """What an actor may do to a device now (what a page offers): nothing unless ``may_act_on``."""

    may_act: bool = False  # the actor may change this device at all (``may_act_on``)
    statuses: list[SmiStatus] = field(default_factory=list)  # the SMI Statuses the lifecycle allows next
    commission: bool = False  # Commissioned is among them
    firmware: bool = False  # a firmware update may be recorded


def actions_for(ctx: Ctx, device: SmiDevice) -> DeviceActions:
    """The actions valid for the device's status (``rules.TRANSITIONS``), if the actor may change it at all."""
    if not may_act_on(ctx, device):
        return DeviceActions()
    status = STATUS_OF[device.smi_status]
    statuses = rules.allowed_from(status)
    return DeviceActions(may_act=True, statuses=statuses, commission=SmiStatus.COMMISSIONED in statuses,
                         firmware=status not in FIRMWARE_FROZEN)
