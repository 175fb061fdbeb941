"""A synthetic national Smart Metering Inventory, loaded set-based (``gbsmart smi generate --devices N``).

Per premises: a Communications Hub (CHF), an ESME and an IHD; about half also gas (GSME + GPF); a few
PPMIDs, HCALCSs and CADs. CSP regions North/Central/South in roughly the national shares, Suppliers and
Network Operators from the Parties in the database (or synthetic ones), a few dozen Device Models with a
long tail, and registration data for every MPAN and MPRN. Columns are generated with numpy, a chunk of
premises at a time, and written in one transaction: SQLite by ``executemany`` in large batches with
``synchronous=OFF``; PostgreSQL by binary ``COPY``. Secondary indexes are dropped first and built after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Conflict
from gbsmart.cpl.enums import EntryStatus
from gbsmart.models.parties import Organisation
from gbsmart.models.smi import SmiDevice, SmiDeviceModel, SmiExtractApplication, SmiRegistration
from gbsmart.smi.enums import DeviceType, SmiStatus
from gbsmart.smi.rules import DEVICE_TYPE_CODE, STATUS_CODE, eui64_to_int

#: Synthetic Device IDs: one OUI-like prefix, then a running serial (so rows arrive in key order).
DEVICE_ID_BASE = eui64_to_int("BC-33-AC-00-00-00-00-00")
SLOTS = (DeviceType.CHF, DeviceType.ESME, DeviceType.IHD, DeviceType.GSME, DeviceType.GPF,
         DeviceType.PPMID, DeviceType.HCALCS, DeviceType.CAD)
SLOT_CODES = np.array([DEVICE_TYPE_CODE[t] for t in SLOTS], dtype=np.int16)
#: Synthetic MPANs are the area's two digits, then 1 and a ten-digit premises number: clear of hand-made MPANs
#: such as the DCC Boxed test premises' 1100000000001 in the demo (``gateway/demo.py``).
MPAN_SERIAL_BASE = 10**10
#: Shares of premises by CSP region (North, Central, South) and the DNO areas (MPAN prefixes) in each.
REGION_SHARES = (0.26, 0.38, 0.36)
REGION_AREAS = ((15, 16, 17, 18, 23), (10, 11, 13, 14, 21), (12, 19, 20, 22))
STATUS_MIX = ((SmiStatus.COMMISSIONED, 0.930), (SmiStatus.INSTALLED_NOT_COMMISSIONED, 0.025),
              (SmiStatus.DECOMMISSIONED, 0.030), (SmiStatus.WHITELISTED, 0.010), (SmiStatus.PENDING, 0.003),
              (SmiStatus.WITHDRAWN, 0.002))
#: Products per CPL Physical Device Type: (manufacturer, model, hardware version, firmware versions).
CATALOGUE = {
    "CH": [("Hubworks", "CH-N1", "1.0", ("4.2", "4.3")), ("Hubworks", "CH-S2", "2.0", ("5.0", "5.1", "5.2")),
           ("Relaytech", "RT-CH", "1.1", ("1.0", "1.4")), ("Meshnet", "MN-DualBand", "3.0", ("2.1",))],
    "ESME": [("Voltmeter Co", "V1-SP", "A", ("1.2", "1.3", "1.4")), ("Voltmeter Co", "V2-TP", "B", ("2.0",)),
             ("Ampere Ltd", "AX100", "1", ("03", "04")), ("Ampere Ltd", "AX200", "2", ("01",)),
             ("Kilowatt Systems", "KS-E7", "7", ("7.1", "7.2")), ("Northgrid", "NG-PP", "1", ("1.0",)),
             ("Coulomb", "C-Credit", "2", ("11",)), ("Coulomb", "C-Prepay", "2", ("11", "12"))],
    "GSME": [("Gasmark", "GM-3", "3", ("3.0", "3.1", "3.2")), ("Gasmark", "GM-4", "4", ("4.0",)),
             ("Therm Meters", "TM-G1", "1", ("1.5", "1.6")), ("Flowline", "FL-Smart", "2", ("2.2",)),
             ("Flowline", "FL-Lite", "1", ("1.0",))],
    "PPMID": [("Paypoint Devices", "PD-1", "1", ("1.0", "1.1")), ("Keypad Co", "K2", "2", ("2.0",))],
    "HCALCS": [("Switchgear", "SW-ALCS", "1", ("1.0",)), ("Loadline", "LL-HC", "2", ("2.3",))],
}
SLOT_PHYSICAL = ("CH", "ESME", None, "GSME", "CH", "PPMID", "HCALCS", None)


@dataclass
class GenerateResult:
    devices: int
    premises: int
    registrations: int
    models: int
    load_seconds: float
    index_seconds: float
    seconds: float


def catalogue_entries() -> list[dict]:
    """The synthetic CPL: every product/firmware pair as an Active Device Model entry."""
    return [{"manufacturer": m, "model": mo, "hardware_version": hw, "firmware_version": fw,
             "physical_device_type": ptype, "status": EntryStatus.ACTIVE.value}
            for ptype, products in CATALOGUE.items() for (m, mo, hw, fws) in products for fw in fws]


def _zipf(n: int, rng: np.random.Generator, s: float = 1.2) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return rng.permutation(w / w.sum())


def _orgs(ctx: Ctx, categories: tuple[str, ...], synthetic: str, count: int) -> list[int]:
    s = ctx.session
    ids = list(s.scalars(select(Organisation.id).where(Organisation.party_category.in_(categories))
                         .order_by(Organisation.id)))
    if ids:
        return ids
    category = categories[0]
    for i in range(1, count + 1):
        name = f"{synthetic} {i:02d}"
        org = s.scalar(select(Organisation).where(Organisation.name == name))
        if org is None:
            org = Organisation(name=name, short_name=f"{synthetic[:3].upper()}{i:02d}", kind="sec_party",
                               party_category=category, source="synthetic (gbsmart smi generate)",
                               created_at=ctx.clock.now())
            s.add(org)
            s.flush()
        ids.append(org.id)
    return ids


def _models(ctx: Ctx) -> dict[str, np.ndarray]:
    """Active Device Model ids per Physical Device Type, drawn from the SMI's copy of the CPL once a CPL extract has
    been applied; before that, from the synthetic catalogue, added for the purpose (beside any hand-made test models,
    such as the demo's DCC Boxed ones, which are not drawn from)."""
    s = ctx.session
    query = select(SmiDeviceModel.id, SmiDeviceModel.physical_device_type).where(
        SmiDeviceModel.status == EntryStatus.ACTIVE).order_by(SmiDeviceModel.id)
    if s.scalar(select(SmiExtractApplication.id).limit(1)) is None:
        entries = catalogue_entries()
        key = (SmiDeviceModel.manufacturer, SmiDeviceModel.model, SmiDeviceModel.hardware_version,
               SmiDeviceModel.firmware_version)
        present = set(s.execute(select(*key)).tuples())
        new = [{**e, "updated_at": ctx.clock.now()} for e in entries
               if (e["manufacturer"], e["model"], e["hardware_version"], e["firmware_version"]) not in present]
        if new:
            s.execute(SmiDeviceModel.__table__.insert(), new)
            s.flush()
        query = query.where(SmiDeviceModel.manufacturer.in_({e["manufacturer"] for e in entries}),
                            SmiDeviceModel.model.in_({e["model"] for e in entries}))
    out: dict[str, list[int]] = {}
    for mid, ptype in s.execute(query):
        # the CPL lists ESME_SINGLE / ESME_TWIN / ESME_POLYPHASE; the inventory's slot is any ESME
        out.setdefault("ESME" if ptype.startswith("ESME") else ptype, []).append(mid)
    missing = [p for p in CATALOGUE if p not in out]
    if missing:
        raise Conflict(f"No Active Device Model for {', '.join(missing)} in the SMI's copy of the CPL.")
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


@dataclass
class _Plan:
    models: dict[str, np.ndarray]
    model_weights: dict[str, np.ndarray]
    suppliers: np.ndarray
    supplier_weights: np.ndarray
    dnos: np.ndarray
    gdns: np.ndarray
    day0: int
    days: int


def _chunk(plan: _Plan, rng: np.random.Generator, p0: int, n_prem: int, d0: int) -> tuple[dict, dict]:
    """Columns of the devices and registrations of premises p0 .. p0 + n_prem, devices numbered from d0."""
    present = np.zeros((n_prem, len(SLOTS)), dtype=bool)
    present[:, 0:3] = True
    gas = rng.random(n_prem) < 0.5
    present[:, 3] = present[:, 4] = gas
    present[:, 5] = rng.random(n_prem) < 0.04
    present[:, 6] = rng.random(n_prem) < 0.02
    present[:, 7] = rng.random(n_prem) < 0.005
    flat = np.flatnonzero(present.ravel())
    prem, slot = flat // len(SLOTS), flat % len(SLOTS)
    n = len(flat)
    offsets = np.concatenate(([0], np.cumsum(present.sum(axis=1))[:-1]))
    chf_id = DEVICE_ID_BASE + d0 + offsets
    esme_id = chf_id + 1
    region = rng.choice(3, size=n_prem, p=REGION_SHARES)
    area = np.empty(n_prem, dtype=np.int64)
    for r, areas in enumerate(REGION_AREAS):
        sel = region == r
        area[sel] = rng.choice(areas, size=int(sel.sum()))
    premises_no = p0 + np.arange(n_prem, dtype=np.int64)
    mpan = area * 10**11 + MPAN_SERIAL_BASE + premises_no
    mprn = 1_000_000_000 + premises_no
    model_matrix = np.zeros((n_prem, len(SLOTS)), dtype=np.int64)
    ch = rng.choice(plan.models["CH"], size=n_prem, p=plan.model_weights["CH"])
    for j, ptype in enumerate(SLOT_PHYSICAL):
        if ptype == "CH":
            model_matrix[:, j] = ch
        elif ptype:
            model_matrix[:, j] = rng.choice(plan.models[ptype], size=n_prem, p=plan.model_weights[ptype])
    is_gas_slot = (slot == 3) | (slot == 4)
    statuses = np.array([STATUS_CODE[s] for s, _ in STATUS_MIX], dtype=np.int16)
    devices = {
        "device_id": DEVICE_ID_BASE + d0 + np.arange(n, dtype=np.int64),
        "device_type": SLOT_CODES[slot],
        "device_model_id": model_matrix.ravel()[flat],
        "smi_status": rng.choice(statuses, size=n, p=[p for _, p in STATUS_MIX]),
        "status_day": plan.day0 + rng.integers(0, plan.days, size=n),
        "mpxn": np.where(is_gas_slot, mprn[prem], mpan[prem]),
        "chf_device_id": chf_id[prem],
        "has_chf": (slot == 1) | is_gas_slot,
        "associated_meter_id": esme_id[prem],
        "has_assoc": slot >= 5,
        "csp_region": (region[prem] + 1).astype(np.int16),
        "has_model": model_matrix.ravel()[flat] > 0,
        "premises": prem,
    }
    supplier = rng.choice(plan.suppliers, size=n_prem, p=plan.supplier_weights)
    gas_supplier = np.where(rng.random(n_prem) < 0.8, supplier,
                            rng.choice(plan.suppliers, size=n_prem, p=plan.supplier_weights))
    g = np.flatnonzero(gas)
    regs = {
        "mpxn": np.concatenate((mpan, mprn[g])),
        "fuel_gas": np.concatenate((np.zeros(n_prem, bool), np.ones(len(g), bool))),
        "supplier": np.concatenate((supplier, gas_supplier[g])),
        "network": np.concatenate((plan.dnos[area % len(plan.dnos)], plan.gdns[region[g] % len(plan.gdns)])),
        "valid_day": np.concatenate((plan.day0 + rng.integers(0, plan.days, size=n_prem),
                                     plan.day0 + rng.integers(0, plan.days, size=len(g)))),
        "premises": np.concatenate((np.arange(n_prem), g)),
    }
    return devices, regs


def _truncate(cols: dict, n: int) -> dict:
    return {k: v[:n] for k, v in cols.items()}


def _nullable(values: np.ndarray, present: np.ndarray) -> list:
    return np.where(present, values.astype(object), None).tolist()


class _SqliteWriter:
    def __init__(self, session: Session) -> None:
        self.raw = session.connection().connection.driver_connection
        for pragma in ("synchronous=OFF", "cache_size=-1000000", "temp_store=FILE", "threads=2", "secure_delete=OFF"):
            self.raw.execute(f"PRAGMA {pragma}")
        if not self.raw.in_transaction:
            self.raw.execute("BEGIN")  # DDL too (dropping indexes) belongs to the one transaction
        self.dates: dict[int, str] = {}

    def _iso(self, days: np.ndarray) -> list[str]:
        lo = int(days.min())
        table = np.array([date.fromordinal(d).isoformat() for d in range(lo, int(days.max()) + 1)], dtype=object)
        return table[days - lo].tolist()

    def devices(self, c: dict) -> None:
        rows = zip(c["device_id"].tolist(), c["device_type"].tolist(), _nullable(c["device_model_id"], c["has_model"]),
                   c["smi_status"].tolist(), self._iso(c["status_day"]),
                   c["mpxn"].tolist(), _nullable(c["chf_device_id"], c["has_chf"]),
                   _nullable(c["associated_meter_id"], c["has_assoc"]), c["csp_region"].tolist(), strict=True)
        self.raw.executemany("INSERT INTO smi_devices (device_id, device_type, device_model_id, lifecycle_status, "
                             "lifecycle_date, mpxn, chf_device_id, associated_meter_id, "
                             "csp_region) VALUES (?,?,?,?,?,?,?,?,?)", rows)

    def registrations(self, r: dict) -> None:
        rows = zip(r["mpxn"].tolist(), np.where(r["fuel_gas"], "G", "E").tolist(), r["supplier"].tolist(),
                   r["network"].tolist(), self._iso(r["valid_day"]), strict=True)
        self.raw.executemany("INSERT INTO smi_registrations (mpxn, fuel, supplier_org_id, network_operator_org_id, "
                             "valid_from) VALUES (?,?,?,?,?)", rows)

    def finish(self) -> None:
        self.raw.execute("PRAGMA analysis_limit=1000")
        self.raw.execute("ANALYZE")


_PG_EPOCH = date(2000, 1, 1).toordinal()


def pg_binary(cols: list[tuple[np.ndarray, str, np.ndarray | None]]) -> bytes:
    """Rows for ``COPY ... (FORMAT BINARY)`` from numpy columns: (values, big-endian dtype, present-mask)."""
    n = len(cols[0][0])
    parts = [np.full(n, len(cols), dtype=">i2").view(np.uint8).reshape(n, 2)]
    keep = [np.ones((n, 2), dtype=bool)]
    for values, dtype, present in cols:
        width = np.dtype(dtype).itemsize
        lengths = np.full(n, width, dtype=">i4") if present is None else np.where(present, width, -1).astype(">i4")
        parts += [lengths.view(np.uint8).reshape(n, 4), values.astype(dtype).view(np.uint8).reshape(n, width)]
        keep += [np.ones((n, 4), dtype=bool),
                 np.ones((n, width), dtype=bool) if present is None else np.repeat(present[:, None], width, axis=1)]
    return np.hstack(parts)[np.hstack(keep)].tobytes()


PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
PG_TRAILER = b"\xff\xff"


class _PgWriter:
    def __init__(self, session: Session) -> None:
        self.raw = session.connection().connection.driver_connection
        for setting in ("synchronous_commit = off", "maintenance_work_mem = '2GB'",
                        "max_parallel_maintenance_workers = 2"):
            self.raw.execute(f"SET LOCAL {setting}")

    def _copy(self, sql: str, payload: bytes) -> None:
        with self.raw.cursor() as cur, cur.copy(sql) as cp:
            cp.write(PG_HEADER + payload + PG_TRAILER)

    def devices(self, c: dict) -> None:
        self._copy("COPY smi_devices (device_id, device_type, device_model_id, lifecycle_status, lifecycle_date, "
                   "mpxn, chf_device_id, associated_meter_id, csp_region) "
                   "FROM STDIN (FORMAT BINARY)", pg_binary([
                       (c["device_id"], ">i8", None), (c["device_type"], ">i2", None),
                       (c["device_model_id"], ">i4", c["has_model"]), (c["smi_status"], ">i2", None),
                       (c["status_day"] - _PG_EPOCH, ">i4", None),
                       (c["mpxn"], ">i8", None), (c["chf_device_id"], ">i8", c["has_chf"]),
                       (c["associated_meter_id"], ">i8", c["has_assoc"]), (c["csp_region"], ">i2", None)]))

    def registrations(self, r: dict) -> None:
        fuel = np.where(r["fuel_gas"], ord("G"), ord("E")).astype(np.uint8)
        self._copy("COPY smi_registrations (mpxn, fuel, supplier_org_id, network_operator_org_id, valid_from) "
                   "FROM STDIN (FORMAT BINARY)", pg_binary([
                       (r["mpxn"], ">i8", None), (fuel, "u1", None), (r["supplier"], ">i4", None),
                       (r["network"], ">i4", None), (r["valid_day"] - _PG_EPOCH, ">i4", None)]))

    def finish(self) -> None:
        self.raw.execute("ANALYZE smi_devices")
        self.raw.execute("ANALYZE smi_registrations")


def _bulk_indexes() -> list:
    return [ix for table in (SmiDevice.__table__, SmiRegistration.__table__) for ix in table.indexes]


def generate_inventory(ctx: Ctx, devices: int, *, seed: int = 1, chunk_premises: int = 250_000,
                       progress: Callable[[int], None] | None = None) -> GenerateResult:
    """Load ``devices`` synthetic devices (and their premises' registrations) into an SMI that holds no generated
    devices yet, in one transaction."""
    started = time.perf_counter()
    s = ctx.session
    generated = (SmiDevice.device_id >= DEVICE_ID_BASE) & (SmiDevice.device_id < DEVICE_ID_BASE + 2**40)
    if s.scalar(select(SmiDevice.device_id).where(generated).limit(1)) is not None:
        raise Conflict("The SMI already holds generated devices (BC-33-AC-...); generate into a database without "
                       "them, e.g. a new one (nothing was changed).")
    pg = s.get_bind().dialect.name == "postgresql"
    writer = _PgWriter(s) if pg else _SqliteWriter(s)
    rng0 = np.random.default_rng(seed)
    models = _models(ctx)
    suppliers = np.array(_orgs(ctx, ("large_supplier", "small_supplier"), "Synthetic Supplier", 12), dtype=np.int64)
    plan = _Plan(models=models, model_weights={k: _zipf(len(v), rng0) for k, v in models.items()},
                 suppliers=suppliers, supplier_weights=_zipf(len(suppliers), rng0, 1.0),
                 dnos=np.array(_orgs(ctx, ("electricity_network",), "Synthetic DNO", 6), dtype=np.int64),
                 gdns=np.array(_orgs(ctx, ("gas_network",), "Synthetic GDN", 4), dtype=np.int64),
                 day0=date(2016, 1, 1).toordinal(), days=(ctx.clock.today() - date(2016, 1, 1)).days or 1)
    conn = s.connection()
    for ix in _bulk_indexes():
        conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
    done = premises = registrations = 0
    chunk_no = 0
    while done < devices:
        rng = np.random.default_rng([seed, chunk_no])
        dev, regs = _chunk(plan, rng, premises, chunk_premises, done)
        take = min(len(dev["device_id"]), devices - done)
        n_prem = chunk_premises
        if take < len(dev["device_id"]):  # the last chunk: whole premises up to the last device taken
            dev = _truncate(dev, take)
            n_prem = int(dev["premises"][-1]) + 1
            regs = {k: v[regs["premises"] < n_prem] for k, v in regs.items()}
        writer.devices(dev)
        writer.registrations(regs)
        done += take
        premises += n_prem
        registrations += len(regs["mpxn"])
        chunk_no += 1
        if progress:
            progress(take)
    load_seconds = time.perf_counter() - started
    for ix in _bulk_indexes():
        ix.create(conn)
    writer.finish()
    total = time.perf_counter() - started
    result = GenerateResult(devices=done, premises=premises, registrations=registrations,
                            models=sum(len(v) for v in models.values()), load_seconds=round(load_seconds, 1),
                            index_seconds=round(total - load_seconds, 1), seconds=round(total, 1))
    record_change(ctx, "smi.generate", "smi_devices", f"synthetic-seed-{seed}", after=asdict(result))
    return result
