"""Device status look-ups for the DCC gateway: a compact in-memory index, and a prepared statement to compare.

``StatusIndex`` keeps three numpy columns sorted by Device ID (20 bytes a device: 1.1 GB for 54
million) plus the model statuses (a small array indexed by model id), so a model's change of status on the
CPL is seen at once. It is loaded set-based (SQLite: one ordered scan streamed into ``np.fromiter``;
PostgreSQL: binary ``COPY`` parsed with a structured dtype) and refreshed incrementally: the status history
is an append-only log, so ``refresh`` re-reads only the devices with history rows newer than it has seen.

``status(device_id)`` answers one Device ID (bisect within a bucket of a bucket table);
``status_many(ids)`` answers a batch with ``numpy.searchsorted``, the gateway's path when it batches.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gbsmart.cpl.enums import EntryStatus
from gbsmart.smi.rules import DEVICE_TYPE_OF, MODEL_STATUS_CODE, MODEL_STATUS_OF, STATUS_OF, SUSPENDED

_COLUMNS = "device_id, lifecycle_status, device_type, COALESCE(device_model_id, 0), COALESCE(mpxn, -1)"
#: The same columns with the SMI Status as it is (Suspended while a suspension is open), for a few devices.
_STATUS = f"CASE WHEN x.device_id IS NULL THEN d.lifecycle_status ELSE CAST({SUSPENDED} AS SMALLINT) END"
_EFFECTIVE = f"d.device_id, {_STATUS}, d.device_type, COALESCE(d.device_model_id, 0), COALESCE(d.mpxn, -1)"
_EFFECTIVE_FROM = "smi_devices d LEFT JOIN smi_suspensions x ON x.device_id = d.device_id AND x.until IS NULL"
_BUCKET_BITS = 20


def _query_parts(effective: bool) -> tuple[str, str, str]:
    if effective:
        return _EFFECTIVE, _EFFECTIVE_FROM, "d.device_id"
    return _COLUMNS, "smi_devices", "device_id"


def _raw(session: Session) -> Any:  # the driver's own connection (sqlite3 or psycopg)
    return session.connection().connection.driver_connection


def _pg_rows(session: Session, where: str = "", params: tuple = (), effective: bool = False) -> np.ndarray:
    """All rows of the look-up columns, through binary COPY, as one structured array."""
    dtype = np.dtype([("n", ">i2"), ("l1", ">i4"), ("device_id", ">i8"), ("l2", ">i4"), ("smi_status", ">i2"),
                      ("l3", ">i4"), ("device_type", ">i2"), ("l4", ">i4"), ("model", ">i4"), ("l5", ">i4"),
                      ("mpxn", ">i8")])
    cols, source, key = _query_parts(effective)
    sql = f"COPY (SELECT {cols} FROM {source} {where} ORDER BY {key}) TO STDOUT (FORMAT BINARY)"
    buf = bytearray()
    with _raw(session).cursor() as cur, cur.copy(sql, params or None) as cp:
        for block in cp:
            buf += block
    body = memoryview(buf)[19:-2]  # 11-byte signature, flags, extension length; trailer -1
    return np.frombuffer(body, dtype=dtype)


def _sqlite_rows(session: Session, where: str = "", params: tuple = (), effective: bool = False) -> np.ndarray:
    cols, source, key = _query_parts(effective)
    cur = _raw(session).execute(f"SELECT {cols} FROM {source} {where} ORDER BY {key}", params)
    flat = np.fromiter(itertools.chain.from_iterable(cur), dtype=np.int64)
    return flat.reshape(-1, 5)


def _columns(session: Session, where: str = "", params: tuple = (),
             effective: bool = False) -> tuple[np.ndarray, ...]:
    """The look-up columns of all devices (lifecycle status: ``load`` overlays the suspensions), or of the
    devices ``where`` selects with their SMI Status as it is (``effective``)."""
    if session.get_bind().dialect.name == "postgresql":
        rows = _pg_rows(session, where, params, effective)
        return (rows["device_id"].astype(np.int64), rows["smi_status"].astype(np.uint8),
                rows["device_type"].astype(np.uint8), rows["model"].astype(np.int32), rows["mpxn"].astype(np.int64))
    m = _sqlite_rows(session, where, params, effective)
    return (np.ascontiguousarray(m[:, 0]), m[:, 1].astype(np.uint8), m[:, 2].astype(np.uint8),
            m[:, 3].astype(np.int32), np.ascontiguousarray(m[:, 4]))


class StatusIndex:
    """Device ID -> (SMI Status, Device Type, model status on the CPL, MPxN), held in memory.

    Per device: the Device ID (int64), a packed uint32 ``status << 24 | type << 20 | model id`` and the
    MPxN (int64): 20 bytes a device. Model ids must stay below 2**20 (a million CPL entries).
    """

    def __init__(self) -> None:
        self.ids = np.empty(0, dtype=np.int64)
        self.packed = np.empty(0, dtype=np.uint32)
        self.mpxn = np.empty(0, dtype=np.int64)
        self.model_status = np.zeros(1, dtype=np.uint8)  # by model id; 0: no model
        self.history_mark = 0
        self._answers: dict[int, tuple] = {}
        self._build_search()

    @staticmethod
    def _pack(cols: tuple[np.ndarray, ...]) -> np.ndarray:
        return (cols[1].astype(np.uint32) << 24) | (cols[2].astype(np.uint32) << 20) | cols[3].astype(np.uint32)

    @property
    def smi_status(self) -> np.ndarray:
        return (self.packed >> 24).astype(np.uint8)

    @property
    def device_type(self) -> np.ndarray:
        return ((self.packed >> 20) & 0xF).astype(np.uint8)

    @property
    def model(self) -> np.ndarray:
        return (self.packed & 0xFFFFF).astype(np.int32)

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, session: Session) -> StatusIndex:
        """Load every device set-based, in Device ID order."""
        index = cls()
        index.history_mark = session.scalar(text("SELECT COALESCE(MAX(id), 0) FROM smi_status_history")) or 0
        cols = _columns(session)
        suspended = np.fromiter(itertools.chain.from_iterable(session.execute(text(
            "SELECT device_id FROM smi_suspensions WHERE until IS NULL ORDER BY device_id"))), dtype=np.int64)
        status = cols[1]
        if len(suspended):
            pos = np.searchsorted(cols[0], suspended)
            hit = pos < len(cols[0])
            hit[hit] = cols[0][pos[hit]] == suspended[hit]
            status[pos[hit]] = SUSPENDED
        index.ids, index.packed, index.mpxn = cols[0], cls._pack(cols), cols[4]
        index._load_models(session)
        index._build_search()
        return index

    def _load_models(self, session: Session) -> None:
        rows = session.execute(text("SELECT id, status FROM smi_device_models")).all()
        ms = np.zeros(max((r[0] for r in rows), default=0) + 1, dtype=np.uint8)
        for mid, status in rows:
            ms[mid] = MODEL_STATUS_CODE[EntryStatus(status)] if status in EntryStatus._value2member_map_ else 0
        self.model_status = ms

    def _build_search(self) -> None:
        # every distinct (status, type, model) answer is built once: a look-up only picks a prepared tuple
        ms = self.model_status.tolist()
        self._answers = {int(k): (STATUS_OF.get(k >> 24), DEVICE_TYPE_OF.get((k >> 20) & 0xF),
                                  MODEL_STATUS_OF.get(ms[k & 0xFFFFF] if (k & 0xFFFFF) < len(ms) else 0))
                         for k in np.unique(self.packed).tolist()}
        self._mv, self._pk, self._mp = memoryview(self.ids), memoryview(self.packed), memoryview(self.mpxn)
        n = len(self.ids)
        if n == 0:
            self._lo, self._shift, self._buckets = 0, 0, [0, 0]
            return
        lo, hi = int(self.ids[0]), int(self.ids[-1])
        self._lo = lo
        bits = min(_BUCKET_BITS, n.bit_length())  # about one bucket per device, at most 2**20
        self._shift = max(0, (hi - lo).bit_length() - bits)
        self._buckets = _edges(lo, self._shift, self.ids, bits).tolist()

    def refresh(self, session: Session) -> int:
        """Bring the index up to date after extract applications and device changes; returns devices re-read."""
        self._load_models(session)
        mark = session.scalar(text("SELECT COALESCE(MAX(id), 0) FROM smi_status_history")) or 0
        if mark <= self.history_mark:
            self._build_search()
            return 0
        p = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
        cols = _columns(session, f"WHERE d.device_id IN (SELECT device_id FROM smi_status_history WHERE id > {p} "
                        f"AND id <= {p})", (self.history_mark, mark), effective=True)
        self.history_mark = mark
        self.apply(cols)
        self._build_search()  # the models' statuses were re-read too: every answer again
        return len(cols[0])

    @staticmethod
    def read_devices(session: Session, device_ids: list[int]) -> tuple[np.ndarray, ...]:
        """The look-up columns of a few devices, SMI Status as it is now (``apply`` them to the index after)."""
        wanted = sorted(set(device_ids))
        p = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
        return _columns(session, f"WHERE d.device_id IN ({', '.join([p] * len(wanted))})", tuple(wanted),
                        effective=True)

    def apply(self, cols: tuple[np.ndarray, ...]) -> None:
        """Put devices' columns (from ``read_devices`` or ``refresh``) into the index: a targeted update."""
        ids, packed, mpxn = cols[0], self._pack(cols), cols[4]
        pos = np.searchsorted(self.ids, ids)
        known = (pos < len(self.ids)) & (self.ids[np.minimum(pos, max(len(self.ids) - 1, 0))] == ids) \
            if len(self.ids) else np.zeros(len(ids), dtype=bool)
        self.packed[pos[known]] = packed[known]
        self.mpxn[pos[known]] = mpxn[known]
        if known.all():  # changed in place: only answers not seen before are built (no scan of every device)
            ms = self.model_status.tolist()
            for k in set(packed.tolist()) - self._answers.keys():
                self._answers[k] = (STATUS_OF.get(k >> 24), DEVICE_TYPE_OF.get((k >> 20) & 0xF),
                                    MODEL_STATUS_OF.get(ms[k & 0xFFFFF] if (k & 0xFFFFF) < len(ms) else 0))
            return
        fresh = ~known
        at = pos[fresh]
        self.ids = np.insert(self.ids, at, ids[fresh])
        self.packed = np.insert(self.packed, at, packed[fresh])
        self.mpxn = np.insert(self.mpxn, at, mpxn[fresh])
        self._build_search()

    # ------------------------------------------------------------ look-ups

    def status(self, device_id: int) -> tuple | None:
        """(SmiStatus, DeviceType, EntryStatus | None, mpxn | None) of a stored Device ID, or None if unknown."""
        b = (device_id - self._lo) >> self._shift
        if b < 0 or b >= len(self._buckets) - 1:
            return None
        i = bisect.bisect_left(self._mv, device_id, self._buckets[b], self._buckets[b + 1])
        if i == len(self._mv) or self._mv[i] != device_id:
            return None
        mpxn = self._mp[i]
        return (*self._answers[self._pk[i]], None if mpxn < 0 else mpxn)

    def status_many(self, device_ids: np.ndarray) -> tuple[np.ndarray, ...]:
        """Batch look-up: (found, smi_status codes, device_type codes, model status codes, mpxn), one per id."""
        if len(self.ids) == 0:
            z = np.zeros(len(device_ids), dtype=np.uint8)
            return z.astype(bool), z, z, z, np.full(len(device_ids), -1, dtype=np.int64)
        # sorted needles let searchsorted start each search where the last one ended: far fewer cache misses
        order = np.argsort(device_ids, kind="stable")
        pos = np.empty(len(device_ids), dtype=np.intp)
        pos[order] = np.searchsorted(self.ids, device_ids[order])
        pos = np.minimum(pos, len(self.ids) - 1)
        found = self.ids[pos] == device_ids
        packed = np.where(found, self.packed[pos], 0)
        model = np.minimum(packed & 0xFFFFF, len(self.model_status) - 1)
        return (found, (packed >> 24).astype(np.uint8), ((packed >> 20) & 0xF).astype(np.uint8),
                np.where(found, self.model_status[model], 0), np.where(found, self.mpxn[pos], -1))

    def counts(self) -> dict[tuple[int, int], int]:
        """Devices by (smi_status code, device_type code), from memory."""
        values, counts = np.unique(self.packed >> 20, return_counts=True)
        return {(int(v) >> 4, int(v) & 0xF): int(c) for v, c in zip(values, counts, strict=True)}

    def __len__(self) -> int:
        return len(self.ids)

    def nbytes(self) -> int:
        return self.ids.nbytes + self.packed.nbytes + self.mpxn.nbytes + len(self._buckets) * 8


def _edges(lo: int, shift: int, ids: np.ndarray, bits: int) -> np.ndarray:
    """Start positions of each bucket: bucket b holds ids in [lo + b << shift, lo + (b + 1) << shift)."""
    count = (1 << bits) + 2
    edges = [min(lo + (b << shift), 2**63 - 1) for b in range(count)]
    return np.searchsorted(ids, np.array(edges, dtype=np.int64))


class PreparedLookup:
    """The same answer from the database, one prepared statement per look-up (for comparison)."""

    SQL = (f"SELECT {_STATUS}, d.device_type, m.status, d.mpxn FROM smi_devices d "
           "LEFT JOIN smi_device_models m ON m.id = d.device_model_id "
           "LEFT JOIN smi_suspensions x ON x.device_id = d.device_id AND x.until IS NULL WHERE d.device_id = {p}")

    def __init__(self, session: Session) -> None:
        self.raw = _raw(session)
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.sql = self.SQL.format(p="%s" if self.pg else "?")
        self.cur = self.raw.cursor()

    def status(self, device_id: int) -> tuple | None:
        if self.pg:
            row = self.cur.execute(self.sql, (device_id,), prepare=True).fetchone()
        else:
            row = self.cur.execute(self.sql, (device_id,)).fetchone()
        if row is None:
            return None
        return STATUS_OF[row[0]], DEVICE_TYPE_OF[row[1]], EntryStatus(row[2]) if row[2] else None, row[3]

