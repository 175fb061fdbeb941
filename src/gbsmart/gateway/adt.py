"""Anomaly Detection Thresholds (DOMAIN.md section 6): the rules, pure and in memory, and the two signed files.

**Counting.** ``AdtCounters.check`` is called once per accepted request: it counts the request against its
(User ID, Service Request Variant) in the current period window and against the variant DCC-wide, and says
what the thresholds make of it (``Verdict``): over the User's warning threshold, a warning (once per User, SRV
and window); over the User's quarantine threshold, or the DCC-wide one for the variant, quarantined. No database
work: the thresholds are a snapshot (``Thresholds``) the gateway replaces at each refresh; the counts are
rebuilt from the journal at start (``seed``). A window is ``period_seconds`` long, aligned to the Unix epoch,
so a day's window runs from 00:00 UTC. "Over" means more requests than the threshold in the window: with a
quarantine threshold of 100, the 101st request is the first one quarantined.

**Files.** An ADT file sets a User's thresholds; an action file releases or deletes quarantined requests. Both
are small CSV files (UTF-8, a header row, ``#`` comment lines and blank lines ignored) signed with a detached
ECDSA P-256 / SHA-256 signature over the file's exact bytes, sent beside it as base64 (``sign_file``,
``verify_detached``). The parsers refuse a malformed file with every problem listed by line and field
(``AdtFileError``). docs/gateway.md ("Anomaly detection and quarantine") documents both formats.
"""

from __future__ import annotations

import base64
import binascii
import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from gbsmart.core.errors import AppError
from gbsmart.gateway.enums import AdtBreach, QuarantineAction
from gbsmart.gateway.keystore import KeystoreError, eui64
from gbsmart.gateway.matrix import request_matrix

MAX_FILE_BYTES = 1024 * 1024
MAX_ROWS = 10_000
ADT_COLUMNS = ("user_id", "srv", "warning", "quarantine", "period_seconds")
ADT_REQUIRED = ("user_id", "srv", "warning", "quarantine")
ACTION_COLUMNS = ("user_id", "request_id", "action")
_REQUEST_ID = re.compile(r"^([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}):([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}):(\d{1,20})$")


# ---------------------------------------------------------------- thresholds and counters


@dataclass(frozen=True, slots=True)
class Limit:
    """A User's thresholds for one SRV: ``None`` is no threshold."""

    warning: int | None
    quarantine: int | None
    period_seconds: int


@dataclass(frozen=True, slots=True)
class DccLimit:
    quarantine: int
    period_seconds: int


@dataclass(frozen=True)
class Thresholds:
    """The thresholds in force: per (User ID, SRV), DCC-wide per SRV, and the defaults for the rest."""

    period_seconds: int = 86400
    users: dict[tuple[str, str], Limit] = field(default_factory=dict)
    dcc: dict[str, DccLimit] = field(default_factory=dict)
    default_warning: int | None = None
    default_quarantine: int | None = None
    dcc_default_quarantine: int | None = None

    def for_user(self, user_id: str, srv: str) -> Limit:
        found = self.users.get((user_id, srv))
        if found is not None:
            return found
        return Limit(self.default_warning, self.default_quarantine, self.period_seconds)

    def for_dcc(self, srv: str) -> DccLimit | None:
        found = self.dcc.get(srv)
        if found is not None:
            return found
        if self.dcc_default_quarantine is None:
            return None
        return DccLimit(self.dcc_default_quarantine, self.period_seconds)


def window_start(at: datetime, period_seconds: int) -> int:
    """The Unix time the period window holding ``at`` starts (windows aligned to the epoch: days at 00:00 UTC)."""
    now = int(at.timestamp())
    return now - now % period_seconds


def window_datetime(start: int) -> datetime:
    return datetime.fromtimestamp(start, UTC)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the thresholds make of one request: ``quarantine`` set, it is held; ``warn``, record a warning."""

    count: int                       # the request's place in its (User, SRV) window
    period_start: datetime
    period_seconds: int
    warn: bool = False               # the first request over the User's warning threshold in this window
    warning: int | None = None
    quarantine: AdtBreach | None = None
    threshold: int | None = None     # the quarantine threshold crossed
    dcc_count: int = 0


class AdtCounters:
    """Requests counted per (User ID, SRV) and per SRV in their current windows; ``check`` is the one rule."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = thresholds or Thresholds()
        self._users: dict[tuple[str, str], list[int]] = {}   # key -> [window start, count, warned]
        self._dcc: dict[str, list[int]] = {}                  # srv -> [window start, count]
        # what the other gateway processes have counted (jetstream engine: gateway.jetstream.AdtShare), added in
        self._others_users: dict[tuple[str, str], tuple[int, int]] = {}  # key -> (window start, count)
        self._others_dcc: dict[str, tuple[int, int]] = {}

    def own(self, now: datetime) -> dict[str, list[list[Any]]]:
        """This process's counts in windows not yet over at ``now`` (what it shares with the others)."""
        at = int(now.timestamp())
        users = [[u, s, start, n] for (u, s), (start, n, _) in self._users.items()
                 if start + self.thresholds.for_user(u, s).period_seconds > at]
        dcc = []
        for srv, (start, n) in self._dcc.items():
            limit = self.thresholds.for_dcc(srv)
            if start + (limit.period_seconds if limit is not None else self.thresholds.period_seconds) > at:
                dcc.append([srv, start, n])
        return {"u": users, "d": dcc}

    def set_others(self, shares: Iterable[dict[str, list[list[Any]]]]) -> None:
        """The other processes' counts (each one's ``own``), summed per key and window."""
        users: dict[tuple[str, str], tuple[int, int]] = {}
        dcc: dict[str, tuple[int, int]] = {}
        for share in shares:
            for u, srv, start, n in share.get("u", ()):
                held = users.get((u, srv))
                if held is None or held[0] < start:
                    users[(u, srv)] = (int(start), int(n))
                elif held[0] == start:
                    users[(u, srv)] = (held[0], held[1] + int(n))
            for srv, start, n in share.get("d", ()):
                held = dcc.get(srv)
                if held is None or held[0] < start:
                    dcc[srv] = (int(start), int(n))
                elif held[0] == start:
                    dcc[srv] = (held[0], held[1] + int(n))
        self._others_users, self._others_dcc = users, dcc

    def replace(self, thresholds: Thresholds) -> None:
        """New thresholds (a refresh); the counts in the current windows are kept."""
        self.thresholds = thresholds

    def seed(self, user_id: str, srv: str, at: datetime, count: int, *, warned: bool = False) -> None:
        """Start the (User, SRV) window holding ``at`` at ``count`` requests (rebuilt from the journal)."""
        limit = self.thresholds.for_user(user_id, srv)
        self._users[(user_id, srv)] = [window_start(at, limit.period_seconds), count, int(warned)]

    def seed_dcc(self, srv: str, at: datetime, count: int) -> None:
        limit = self.thresholds.for_dcc(srv)
        period = limit.period_seconds if limit is not None else self.thresholds.period_seconds
        self._dcc[srv] = [window_start(at, period), count]

    def count(self, user_id: str, srv: str, at: datetime) -> int:
        """Requests counted so far in the (User, SRV) window holding ``at``."""
        limit = self.thresholds.for_user(user_id, srv)
        start = window_start(at, limit.period_seconds)
        slot = self._users.get((user_id, srv))
        other = self._others_users.get((user_id, srv))
        return ((slot[1] if slot is not None and slot[0] == start else 0)
                + (other[1] if other is not None and other[0] == start else 0))

    def check(self, user_id: str, srv: str, at: datetime) -> Verdict:
        """Count one accepted request received at ``at`` and say whether it is warned of or quarantined."""
        limit = self.thresholds.for_user(user_id, srv)
        start = window_start(at, limit.period_seconds)
        slot = self._users.get((user_id, srv))
        if slot is None or slot[0] != start:
            slot = self._users[(user_id, srv)] = [start, 0, 0]
        slot[1] += 1
        other = self._others_users.get((user_id, srv))
        count = slot[1] + (other[1] if other is not None and other[0] == start else 0)
        dcc = self.thresholds.for_dcc(srv)
        dcc_period = dcc.period_seconds if dcc is not None else self.thresholds.period_seconds
        dcc_start = window_start(at, dcc_period)
        wide = self._dcc.get(srv)
        if wide is None or wide[0] != dcc_start:
            wide = self._dcc[srv] = [dcc_start, 0]
        wide[1] += 1
        others_wide = self._others_dcc.get(srv)
        dcc_count = wide[1] + (others_wide[1] if others_wide is not None and others_wide[0] == dcc_start else 0)
        warn = False
        if limit.warning is not None and count > limit.warning and not slot[2]:
            slot[2] = 1
            warn = True
        breach, threshold = None, None
        if limit.quarantine is not None and count > limit.quarantine:
            breach, threshold = AdtBreach.USER, limit.quarantine
        elif dcc is not None and dcc_count > dcc.quarantine:
            breach, threshold = AdtBreach.DCC, dcc.quarantine
        return Verdict(count=count, period_start=window_datetime(start), period_seconds=limit.period_seconds,
                       warn=warn, warning=limit.warning, quarantine=breach, threshold=threshold, dcc_count=dcc_count)


# ---------------------------------------------------------------- the files


@dataclass(frozen=True)
class FieldProblem:
    line: int            # 1-based line of the file; 0 for the file as a whole
    field: str           # the column, or "file" / "signature"
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, " if self.line else ""
        return f"{where}{self.field}: {self.message}"


class AdtFileError(AppError):
    """An ADT or action file refused: ``problems`` lists each by line and field."""

    status = 422

    def __init__(self, what: str, problems: Sequence[FieldProblem]) -> None:
        self.problems = list(problems)
        listed = "; ".join(str(p) for p in self.problems[:20])
        more = f" (and {len(self.problems) - 20} more)" if len(self.problems) > 20 else ""
        super().__init__(f"the {what} was refused: {listed}{more}",
                         detail=[{"line": p.line, "field": p.field, "message": p.message} for p in self.problems])


@dataclass(frozen=True)
class AdtRow:
    line: int
    user_id: str
    srv: str
    warning: int | None
    quarantine: int | None
    period_seconds: int | None


@dataclass(frozen=True)
class ActionRow:
    line: int
    user_id: str
    request_id: str
    action: QuarantineAction


def _rows(data: bytes, what: str, columns: Sequence[str],
          required: Sequence[str]) -> tuple[list[tuple[int, dict[str, str]]], list[FieldProblem]]:
    """(line, column -> value) for each data row of a CSV file, or the file-level problems."""
    if not data:
        return [], [FieldProblem(0, "file", f"the {what} is empty")]
    if len(data) > MAX_FILE_BYTES:
        return [], [FieldProblem(0, "file", f"the {what} is {len(data)} bytes; at most {MAX_FILE_BYTES} are taken")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return [], [FieldProblem(line, "file", "not UTF-8 text: save the file as UTF-8 CSV")]
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1)
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        return [], [FieldProblem(0, "file", f"the {what} has no header row: start it with "
                                            f"{','.join(columns)}")]
    try:
        parsed = [(n, next(csv.reader([line]))) for n, line in numbered]
    except csv.Error as exc:
        return [], [FieldProblem(0, "file", f"not CSV: {exc}")]
    header_line, header = parsed[0]
    names = [h.strip().lower() for h in header]
    problems = []
    unknown = [h for h in names if h not in columns]
    if unknown:
        problems.append(FieldProblem(header_line, "header", f"unknown column(s) {', '.join(unknown)}: the columns "
                                                            f"are {', '.join(columns)}"))
    missing = [c for c in required if c not in names]
    if missing:
        problems.append(FieldProblem(header_line, "header", f"missing column(s) {', '.join(missing)}"))
    if len(set(names)) != len(names):
        problems.append(FieldProblem(header_line, "header", "a column is named twice"))
    if problems:
        return [], problems
    if len(parsed) - 1 > MAX_ROWS:
        return [], [FieldProblem(0, "file", f"{len(parsed) - 1} rows; at most {MAX_ROWS} in one file")]
    if len(parsed) == 1:
        return [], [FieldProblem(0, "file", f"the {what} has a header but no rows")]
    out = []
    for n, values in parsed[1:]:
        if len(values) != len(names):
            problems.append(FieldProblem(n, "row", f"{len(values)} values for {len(names)} columns"))
            continue
        out.append((n, {k: v.strip() for k, v in zip(names, values, strict=True)}))
    return out, problems


def _user_id(n: int, value: str, problems: list[FieldProblem]) -> str | None:
    try:
        return eui64(value)
    except (KeystoreError, ValueError):
        problems.append(FieldProblem(n, "user_id", f"{value[:40]!r} is not a User ID (EUI-64, "
                                                   "like 90-B3-D5-1F-30-01-00-00)"))
        return None


def _count(n: int, name: str, value: str, problems: list[FieldProblem], *, low: int = 0) -> int | None:
    if value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9 or int(value) < low:
        problems.append(FieldProblem(n, name, f"{value[:40]!r} is not a whole number from {low} to 999999999 "
                                              "(or empty for none)"))
        return None
    return int(value)


def _one_user(rows: Iterable[AdtRow | ActionRow], problems: list[FieldProblem]) -> None:
    users = {r.user_id for r in rows}
    if len(users) > 1:
        problems.append(FieldProblem(0, "user_id", f"the file names {len(users)} User IDs ({', '.join(sorted(users))})"
                                                   ": one file is for one User ID, signed with its key"))


def parse_adt_file(data: bytes) -> list[AdtRow]:
    """The rows of an ADT file, every one checked; ``AdtFileError`` lists all that is wrong."""
    raw, problems = _rows(data, "ADT file", ADT_COLUMNS, ADT_REQUIRED)
    matrix = request_matrix()
    rows: list[AdtRow] = []
    seen: dict[tuple[str, str], int] = {}
    for n, values in raw:
        before = len(problems)
        user = _user_id(n, values["user_id"], problems)
        srv = values["srv"]
        if srv not in matrix:
            problems.append(FieldProblem(n, "srv", f"{srv[:40]!r} is not a Service Reference Variant in DUIS "
                                                   "(like 4.1.1)"))
        warning = _count(n, "warning", values["warning"], problems)
        quarantine = _count(n, "quarantine", values["quarantine"], problems)
        period = _count(n, "period_seconds", values.get("period_seconds", ""), problems, low=60)
        if warning is not None and quarantine is not None and warning > quarantine:
            problems.append(FieldProblem(n, "warning", f"{warning} is above the quarantine threshold {quarantine}: "
                                                       "the warning comes first"))
        if user is not None and (user, srv) in seen:
            problems.append(FieldProblem(n, "srv", f"{srv} for {user} is already set on line {seen[(user, srv)]}"))
        if len(problems) == before and user is not None:
            seen[(user, srv)] = n
            rows.append(AdtRow(n, user, srv, warning, quarantine, period))
    _one_user(rows, problems)
    if problems:
        raise AdtFileError("ADT file", problems)
    return rows


def parse_action_file(data: bytes) -> list[ActionRow]:
    """The rows of a quarantine action file; ``AdtFileError`` lists all that is wrong."""
    raw, problems = _rows(data, "action file", ACTION_COLUMNS, ACTION_COLUMNS)
    rows: list[ActionRow] = []
    seen: dict[str, int] = {}
    for n, values in raw:
        before = len(problems)
        user = _user_id(n, values["user_id"], problems)
        match = _REQUEST_ID.match(values["request_id"])
        request_id = ""
        if match is None:
            problems.append(FieldProblem(n, "request_id", f"{values['request_id'][:80]!r} is not a RequestID "
                                                          "(originator:target:counter)"))
        else:
            request_id = f"{eui64(match[1])}:{eui64(match[2])}:{int(match[3])}"
            if user is not None and eui64(match[1]) != user:
                problems.append(FieldProblem(n, "request_id", f"the RequestID's originator {eui64(match[1])} is "
                                                              f"not the row's User ID {user}"))
            if request_id in seen:
                problems.append(FieldProblem(n, "request_id", f"already on line {seen[request_id]}"))
        try:
            action = QuarantineAction(values["action"].lower())
        except ValueError:
            problems.append(FieldProblem(n, "action", f"{values['action'][:40]!r}: the action is release or delete"))
        if len(problems) == before and user is not None:
            seen[request_id] = n
            rows.append(ActionRow(n, user, request_id, action))
    _one_user(rows, problems)
    if problems:
        raise AdtFileError("action file", problems)
    return rows


# ---------------------------------------------------------------- detached signatures


def sign_file(data: bytes, key: ec.EllipticCurvePrivateKey) -> str:
    """The detached signature of ``data``: base64 of the DER ECDSA P-256 / SHA-256 signature over its bytes."""
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def decode_signature(signature: str | bytes) -> bytes:
    """The DER signature from its base64 text; ``AdtFileError`` (field ``signature``) when it is not base64."""
    text = signature.decode("ascii", "replace") if isinstance(signature, bytes) else signature
    cleaned = "".join(text.split())
    if not cleaned:
        raise AdtFileError("signature", [FieldProblem(0, "signature", "no signature was given: sign the file's bytes "
                                                                      "(ECDSA P-256, SHA-256) and send the base64")])
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise AdtFileError("signature", [FieldProblem(0, "signature", "not base64: send the base64 of the DER "
                                                                      "ECDSA signature")]) from None


def verify_detached(data: bytes, signature: bytes, certificates: Iterable[Any]) -> Any | None:
    """The first of ``certificates`` (or objects with a ``certificate``) whose P-256 key signed ``data``; else None."""
    for item in certificates:
        cert: x509.Certificate = getattr(item, "certificate", item)
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            continue
        try:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        return item
    return None
