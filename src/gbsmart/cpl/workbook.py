"""The CPL as the SEC's workbook (openpyxl): a "CPL" sheet with one row per entry, a "New Entry" sheet for
submissions (fields highlighted light green, as SECAS asks) and a "Versions" sheet of technical specification and
GBCS versions with their end dates.

Import validates every row first and imports nothing if any row is bad, reporting each one (sheet, row number,
field, rule). CPL and Versions rows are SECAS's to load (Code Administrator); anyone may import New Entry rows,
which become submissions. Export writes a write-only workbook row by row and streams it.

Every door (API, page, CLI) imports through ``import_workbook``, which owns the limits (Settings ``cpl_import_*``):
the file's size (413), then what its zip declares its parts unpack to, in bytes and as a multiple of the file's size,
checked before openpyxl opens a part; rows are counted as they are read and reading stops past the row limit; only
the first errors are kept, with the total (docs/cpl-and-smi.md, "Import limits").

Sources: seed 004 ("Entry Submission Process", "What Information is Required").
"""

from __future__ import annotations

import base64
import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gbsmart.config import Settings
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.exports import xlsx_cell
from gbsmart.cpl import rules, service, signatures
from gbsmart.cpl.enums import CertificateKind, EntryStatus, PhysicalDeviceType, SubmissionKind, SubmissionStatus
from gbsmart.cpl.errors import WorkbookInvalid, WorkbookTooLarge
from gbsmart.cpl.schemas import CertificateIn, SubmissionCreate
from gbsmart.models.cpl import Certificate, CplEntry, GbcsVersion, ScheduledRemoval, TechnicalSpecification
from gbsmart.parties.service import find_organisation

CPL, NEW, VERSIONS = "CPL", "New Entry", "Versions"
KINDS = (("ZigBee", CertificateKind.ZIGBEE), ("DLMS", CertificateKind.DLMS), ("CPA", CertificateKind.CPA))
Progress = Callable[[int, int], None]


def _cert_columns(with_revocation: bool) -> list[tuple[str, str, type]]:
    cols: list[tuple[str, str, type]] = []
    for label, kind in KINDS:
        k = kind.value
        cols += [(f"{label} Certificate", f"{k}_number", str), (f"{label} Issued", f"{k}_issued_on", date),
                 (f"{label} Firmware", f"{k}_firmware_version", str)]
        if kind is CertificateKind.CPA:
            cols += [("CPA Expiry Date", "cpa_expiry_date", date), ("CPA Conditional Date", "cpa_conditional_date",
                                                                    date)]
        if with_revocation:
            cols += [(f"{label} Revoked On", f"{k}_revoked_on", date), (f"{label} Revocation Reason",
                                                                        f"{k}_revocation_reason", str)]
    return cols


_DEVICE = [("Manufacturer", "manufacturer", str), ("Model", "model", str), ("Hardware Version", "hardware_version",
                                                                              str),
           ("Firmware Version", "firmware_version", str), ("Physical Device Type", "physical_device_type", str)]
_FIELDS = [("Manufacturer Release Notes", "release_notes", str),
           ("Technical Specification", "technical_specification", str), ("GBCS Version", "gbcs_version", str),
           ("SMETS1", "smets1", bool)]
_IMAGE = [("Manufacturer Image Creator", "image_creator", str), ("Manufacturer Image Hash", "image_hash", str),
          ("Signature (base64)", "signature", str), ("Signer Certificates (PEM)", "signer_certificates", str),
          ("Mapping Evidence", "mapping_evidence", str)]
_REMOVAL = [("Removal Panel Minute", "removal_minute", str), ("Removal Reason", "removal_reason", str),
            ("Removal Date", "removal_date", date), ("Removal Grace Until", "removal_grace_until", date)]
CPL_COLUMNS = [*_DEVICE, ("Status", "status", str), ("Status Date", "status_since", date), *_FIELDS,
               *_cert_columns(True), *_IMAGE, ("Signed", "signed", bool), ("Submitted By", "submitter", str),
               *_REMOVAL]
NEW_COLUMNS = [("Submission Type", "kind", str), *_DEVICE, *_FIELDS, *_cert_columns(False), *_IMAGE,
               ("Supplier Confirmation (Supplier)", "supplier", str), ("Supplier Confirmed By", "confirmed_by", str),
               ("Supplier Confirmation Reference", "confirmation_reference", str)]
VERSION_COLUMNS = [("Kind", "kind", str), ("Name", "name", str), ("Version", "version", str),
                   ("End Date", "end_date", date)]
SHEETS = {CPL: CPL_COLUMNS, NEW: NEW_COLUMNS, VERSIONS: VERSION_COLUMNS}
REQUIRED = {CPL: ("manufacturer", "model", "hardware_version", "firmware_version", "physical_device_type",
                  "status"),
            NEW: ("manufacturer", "model", "hardware_version", "firmware_version", "physical_device_type"),
            VERSIONS: ("kind", "version")}


# ---------------------------------------------------------------- cells


class CellError(ValueError):
    pass


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d %b %Y", "%d %B %Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellError(f"{text!r} is not a date (use YYYY-MM-DD)")


def _bool(value: Any) -> bool:
    if value in (None, ""):
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("yes", "y", "true", "1", "x"):
        return True
    if text in ("no", "n", "false", "0"):
        return False
    raise CellError(f"{value!r} is not Yes or No")


def _str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def device_type(value: str) -> str:
    """A Physical Device Type code from its code or its label, as the workbook may carry either."""
    key = value.strip().lower()
    for t in PhysicalDeviceType:
        if key in (t.value.lower(), t.label.lower()):
            return t.value
    return value.strip().upper()


def submission_kind(value: str) -> SubmissionKind:
    key = value.strip().lower().replace(" ", "_") or "new_entry"
    for k in SubmissionKind:
        if key in (k.value, k.label.lower().replace(" ", "_")):
            return k
    raise CellError(f"{value!r} is not 'New Entry' or 'Firmware Update'")


# ---------------------------------------------------------------- import


@dataclass
class ImportResult:
    entries: int = 0
    submissions: int = 0
    versions: int = 0
    unchanged: int = 0
    submission_ids: list[int] = field(default_factory=list)


@dataclass
class Row:
    sheet: str
    number: int
    values: dict[str, Any]


def _report_order(item: dict[str, Any]) -> tuple[int, int]:
    order = [VERSIONS, CPL, NEW]
    return order.index(item["sheet"]) if item["sheet"] in order else -1, item["row"] or 0


class Report:
    """The errors found: every bad row is remembered and every error counted, but only the first ``limit`` errors
    (in the order they are listed: sheet, then row) are kept, so a workbook of bad rows cannot fill the memory."""

    def __init__(self, limit: int) -> None:
        self.limit, self.total = limit, 0
        self.items: list[dict[str, Any]] = []
        self.rows: set[tuple[str | None, int | None]] = set()

    def add(self, row: Row | None, field_name: str, rule: str, message: str, sheet: str | None = None) -> None:
        item = {"sheet": row.sheet if row else sheet, "row": row.number if row else None, "field": field_name,
                "rule": rule, "message": message}
        self.total += 1
        self.rows.add((item["sheet"], item["row"]))
        self.items.append(item)
        if len(self.items) >= 2 * self.limit:
            self.first()

    def first(self) -> list[dict[str, Any]]:
        """The first ``limit`` errors, sorted (stable: errors of one row keep the order they were found in)."""
        self.items.sort(key=_report_order)
        del self.items[self.limit:]
        return self.items

    def failures(self, row: Row, failures: list[rules.Failure]) -> None:
        for f in failures:
            self.add(row, f.field, f.rule, str(f))


class RowCount:
    """Rows read so far, all sheets together, blank rows included; past ``cpl_import_max_rows`` reading stops."""

    def __init__(self, settings: Settings) -> None:
        self.limit, self.seen = settings.cpl_import_max_rows, 0

    def add(self, sheet: str, number: int) -> None:
        self.seen += 1
        if self.seen > self.limit:
            raise _refused("workbook-rows", f"The workbook has more than {self.limit:,} rows (the {sheet} sheet passes "
                                            f"the limit at row {number}); the limit is {self.limit:,} rows (set "
                                            "GBSMART_CPL_IMPORT_MAX_ROWS to change it). Nothing was imported.")


def _read_rows(wb: Any, sheet: str, report: Report, count: RowCount) -> list[Row]:
    if sheet not in wb.sheetnames:
        return []
    columns = {label.lower(): (key, kind) for label, key, kind in SHEETS[sheet]}
    ws = wb[sheet]
    header = next(ws.iter_rows(max_row=1, values_only=True), ())
    keys = [columns.get(_str(h).lower()) for h in header]
    present = {k[0] for k in keys if k}
    missing = [label for label, key, _ in SHEETS[sheet] if key in REQUIRED[sheet] and key not in present]
    if missing:
        report.add(None, ", ".join(missing), "workbook-columns", f"the {sheet} sheet has no column "
                                                                 f"{', '.join(missing)}", sheet=sheet)
        return []
    width = max(i for i, k in enumerate(keys) if k) + 1  # cells right of the last known column are not read
    out = []
    for number, cells in enumerate(ws.iter_rows(min_row=2, max_col=width, values_only=True), start=2):
        count.add(sheet, number)
        if not any(_str(c) for c in cells):
            continue
        row = Row(sheet, number, {})
        for col, value in zip(keys, cells, strict=False):
            if col is None:
                continue
            key, kind = col
            try:
                row.values[key] = _date(value) if kind is date else _bool(value) if kind is bool else _str(value)
            except CellError as exc:
                report.add(row, key, "cell-format", f"{key}: {exc}")
                row.values[key] = None
        out.append(row)
    return out


def _certificates(v: dict[str, Any]) -> list[CertificateIn]:
    out = []
    for _, kind in KINDS:
        k = kind.value
        if v.get(f"{k}_number"):
            cpa = kind is CertificateKind.CPA
            out.append(CertificateIn(
                kind=kind, number=v[f"{k}_number"], issued_on=v.get(f"{k}_issued_on"),
                firmware_version=v.get(f"{k}_firmware_version") or None,
                expiry_date=v.get("cpa_expiry_date") if cpa else None,
                conditional=bool(cpa and v.get("cpa_conditional_date")),
                conditional_date=v.get("cpa_conditional_date") if cpa else None))
    return out


def _submission(v: dict[str, Any], kind: SubmissionKind = SubmissionKind.NEW_ENTRY) -> SubmissionCreate:
    confirmation = {"supplier": v["supplier"], "confirmed_by": v.get("confirmed_by") or "",
                    "reference": v.get("confirmation_reference") or ""} if v.get("supplier") else None
    return SubmissionCreate(
        kind=kind, manufacturer=v.get("manufacturer") or "", model=v.get("model") or "",
        hardware_version=v.get("hardware_version") or "", firmware_version=v.get("firmware_version") or "",
        physical_device_type=device_type(v.get("physical_device_type") or ""),
        release_notes=v.get("release_notes") or "", technical_specification=v.get("technical_specification") or "",
        gbcs_version=v.get("gbcs_version") or None, smets1=bool(v.get("smets1")), certificates=_certificates(v),
        image_creator=v.get("image_creator") or None, image_hash=v.get("image_hash") or None,
        signature=v.get("signature") or None, signer_certificates=v.get("signer_certificates") or None,
        mapping_evidence=v.get("mapping_evidence") or None, supplier_confirmation=confirmation)


def _key(v: dict[str, Any]) -> tuple[str, ...]:
    return tuple(v.get(k) or "" for k in ("manufacturer", "model", "hardware_version", "firmware_version"))


def _load_versions(ctx: Ctx, rows: list[Row], report: Report) -> int:
    """Record the Versions sheet's versions and end dates (SECAS only); returns how many were new or changed."""
    changed = 0
    for row in rows:
        v = row.values
        kind = (v.get("kind") or "").strip().lower()
        if kind in ("gbcs", "gbcs version"):
            label = f"GBCS v{service.gbcs_key(v['version'])}"
            found = service.find_gbcs(ctx.session, v["version"])
        elif kind in ("technical specification", "specification") and service.parse_spec(
                f"{v.get('name') or ''} {v.get('version') or ''}"):
            label = f"{v.get('name')} v{v['version']}"
            found = service.find_spec(ctx.session, label)
        else:
            report.add(row, "kind", "version-known", "kind: say 'Technical Specification' (name SMETS1, SMETS2 or "
                                                     "CHTS) or 'GBCS'")
            continue
        if found is None or found.end_date != v.get("end_date"):
            service.set_version(ctx, label, v.get("end_date"))
            changed += 1
    return changed


def _spec_and_gbcs(ctx: Ctx, v: dict[str, Any]) -> tuple[TechnicalSpecification | None, GbcsVersion | None]:
    """The versions a CPL row names, recorded (without end dates) if SECAS has not recorded them yet."""
    spec = service.find_spec(ctx.session, v.get("technical_specification"))
    parsed = service.parse_spec(v.get("technical_specification"))
    if spec is None and parsed:
        spec = service.set_version(ctx, f"{parsed[0]} v{parsed[1]}")
    gbcs = service.find_gbcs(ctx.session, v.get("gbcs_version"))
    if gbcs is None and service.gbcs_key(v.get("gbcs_version")):
        gbcs = service.set_version(ctx, f"GBCS v{service.gbcs_key(v.get('gbcs_version'))}")
    return spec, gbcs


def _same_as_listed(entry: CplEntry, v: dict[str, Any]) -> bool:
    return (entry.status == v.get("status")
            and entry.device_model.physical_device_type == device_type(v.get("physical_device_type") or "")
            and entry.technical_specification.label.lower() == (v.get("technical_specification") or "").lower())


def _cpl_row(ctx: Ctx, row: Row, report: Report, certs: dict[tuple[str, str], tuple[Row, CertificateIn]],
             result: ImportResult) -> None:
    v = row.values
    existing = service.find_entry(ctx.session, *_key(v))
    if existing is not None:
        if _same_as_listed(existing, v):
            result.unchanged += 1
        else:
            report.add(row, "device_model", "device-model-unique", "device_model: this Device Model is already on "
                                                                   "the CPL with other details; change it through "
                                                                   "submissions and removals")
        return
    try:
        data = _submission(v)
        status = EntryStatus(v.get("status") or "")
    except ValidationError as exc:
        for e in exc.errors():
            report.add(row, ".".join(str(x) for x in e["loc"]), "cell-format", e["msg"])
        return
    except ValueError:
        report.add(row, "status", "entry-status", f"status: {v.get('status')!r} is not Active, Cancelled, Expired "
                                                  "or Withdrawn")
        return
    try:
        signature = signatures.decode_signature(data.signature)
    except Invalid as exc:
        report.add(row, "signature", "cell-format", f"signature: {exc.detail[0]['message']}")
        return
    # An entry already listed: its signature was checked when it was submitted and is carried over, not checked
    # again (its signed content is the original submission's); "Signed" = Yes with no signature is recorded as is.
    signed = bool(v.get("signed")) or signature is not None
    facts = rules.SubmissionFacts(
        kind=SubmissionKind.NEW_ENTRY, manufacturer=data.manufacturer, model=data.model,
        hardware_version=data.hardware_version, firmware_version=data.firmware_version,
        physical_device_type=data.physical_device_type, release_notes=data.release_notes or "-",
        technical_specification=data.technical_specification or None,
        technical_specification_known=service.parse_spec(data.technical_specification) is not None,
        gbcs_version=service.gbcs_key(data.gbcs_version) or None, smets1=data.smets1, signed=signed,
        certificates=tuple(rules.CertificateFacts(kind=c.kind, number=c.number, expiry_date=c.expiry_date,
                                                  conditional=c.conditional, conditional_date=c.conditional_date)
                           for c in data.certificates),
        image_creator=data.image_creator, image_hash=data.image_hash, submitter_is_dcc=True,
        mapping_evidence=data.mapping_evidence or "-")
    # the list as it stands: structure and the certificate matrix, not validity today (entries may have expired)
    failures = [f for f in rules.validate_submission(facts, date.min) if f.rule not in ("certificate-valid",
                                                                                         "version-current")]
    for c in data.certificates:
        seen = certs.get((c.kind.value, c.number))
        if seen and seen[1] != c:
            failures.append(rules.fail("certificates", "certificate-details", f"{c.kind.label} certificate "
                                                                              f"{c.number} differs from row "
                                                                              f"{seen[0].number}"))
        certs.setdefault((c.kind.value, c.number), (row, c))
    if v.get("removal_minute"):
        failures += rules.removal_failures(v["removal_minute"], v.get("removal_reason"), v.get("removal_date")
                                           or v.get("status_since") or ctx.clock.today(), v.get("removal_grace_until"))
    if failures:
        report.failures(row, failures)
        return
    spec, gbcs = _spec_and_gbcs(ctx, v)
    org = find_organisation(ctx.session, v.get("submitter"))
    certificates = [_import_certificate(ctx, c, v) for c in data.certificates]
    entry = service.add_entry(ctx, service.NewEntry(
        data=data, spec=spec, gbcs=gbcs, status=status, status_since=v.get("status_since") or ctx.clock.today(),
        submitter_org=org, submitter_name=org.name if org else (v.get("submitter") or "unknown"),
        signature=signature, signer_certificates=data.signer_certificates, signed=signed,
        certificates=certificates), "import", f"Imported from the CPL workbook ({row.sheet} sheet, row "
                                              f"{row.number}); listed {status.value}.")
    if v.get("removal_minute"):
        _import_removal(ctx, entry, v, status)
    result.entries += 1


def _import_removal(ctx: Ctx, entry: CplEntry, v: dict[str, Any], status: EntryStatus) -> None:
    """The removal a CPL row records: applied if the entry is no longer Active, otherwise still scheduled."""
    effective_on, grace = v.get("removal_date") or entry.status_since, v.get("removal_grace_until")
    applied = status is not EntryStatus.ACTIVE
    entry.removals.append(ScheduledRemoval(
        minute_reference=v["removal_minute"], reason=v.get("removal_reason") or "", effective_on=effective_on,
        to_status=status.value if applied else EntryStatus.WITHDRAWN.value, grace_until=grace,
        takes_effect_on=rules.removal_takes_effect_on(effective_on, grace), decided_by=ctx.actor.name,
        created_at=ctx.clock.now(), applied_at=ctx.clock.now() if applied else None))


def _import_certificate(ctx: Ctx, c: CertificateIn, v: dict[str, Any]) -> Certificate:
    found = service.find_certificate(ctx.session, c.kind.value, c.number)
    if found:
        return found
    revoked = v.get(f"{c.kind.value}_revoked_on")
    cert = Certificate(kind=c.kind.value, number=c.number, issued_on=c.issued_on, firmware_version=c.firmware_version,
                       expiry_date=c.expiry_date, conditional=c.conditional, conditional_date=c.conditional_date,
                       revoked_at=datetime.combine(revoked, time(), UTC) if revoked else None,
                       revocation_reason=v.get(f"{c.kind.value}_revocation_reason") or None)
    ctx.session.add(cert)
    ctx.session.flush()
    return cert


def _new_row(ctx: Ctx, row: Row, report: Report, result: ImportResult) -> None:
    try:
        data = _submission(row.values, submission_kind(row.values.get("kind") or ""))
    except CellError as exc:
        report.add(row, "kind", "cell-format", f"kind: {exc}")
        return
    except ValidationError as exc:
        for e in exc.errors():
            report.add(row, ".".join(str(x) for x in e["loc"]), "cell-format", e["msg"])
        return
    try:
        signatures.decode_signature(data.signature)
    except Invalid as exc:
        report.add(row, "signature", "cell-format", f"signature: {exc.detail[0]['message']}")
        return
    sub = service.submit(ctx, data)
    if sub.status == SubmissionStatus.REFUSED:
        for f in sub.failures:
            report.add(row, f.field, f.rule, f.message)
    result.submissions += 1
    result.submission_ids.append(sub.id)


def _file_error(rule: str, message: str) -> dict[str, Any]:
    return {"sheet": None, "row": None, "field": "file", "rule": rule, "message": message}


def _refused(rule: str, message: str) -> WorkbookInvalid:
    return WorkbookInvalid(message, detail=[_file_error(rule, message)])


def _not_xlsx(exc: Exception) -> WorkbookInvalid:
    return WorkbookInvalid("The file is not an XLSX workbook; nothing was imported.",
                           detail=[_file_error("xlsx", f"file: not an XLSX workbook ({type(exc).__name__})")])


def too_large(found: str, settings: Settings) -> WorkbookTooLarge:
    """The refusal of a workbook, or of its upload, over ``cpl_import_max_bytes``; ``found`` says how large it is."""
    message = (f"The workbook is too large: {found}; the limit is {settings.cpl_import_max_bytes:,} bytes (set "
               "GBSMART_CPL_IMPORT_MAX_BYTES to change it). Nothing was imported.")
    return WorkbookTooLarge(message, detail=[_file_error("workbook-size", message)])


def checked_file(content: bytes | BinaryIO, settings: Settings) -> BinaryIO:
    """The workbook as a file, refused unless its size and what its zip declares its parts unpack to (in all, and
    as a multiple of the file's size) are within the limits. Nothing is decompressed here, and openpyxl reads a
    part through zipfile, which stops at the declared size, so these figures bound what the import unpacks."""
    fh = io.BytesIO(content) if isinstance(content, bytes) else content
    size = fh.seek(0, io.SEEK_END)
    if size > settings.cpl_import_max_bytes:
        raise too_large(f"{size:,} bytes", settings)
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as archive:
            parts = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - zipfile raises several kinds for a file that is not a zip
        raise _not_xlsx(exc) from exc
    fh.seek(0)
    unpacked = sum(p.file_size for p in parts)
    if unpacked > settings.cpl_import_max_uncompressed_bytes:
        largest = max(parts, key=lambda p: p.file_size)
        raise _refused("workbook-unpacked-size", f"The workbook unpacks to {unpacked:,} bytes ({largest.filename} "
                                                 f"alone is {largest.file_size:,}); the limit is "
                                                 f"{settings.cpl_import_max_uncompressed_bytes:,} bytes (set "
                                                 "GBSMART_CPL_IMPORT_MAX_UNCOMPRESSED_BYTES to change it). Nothing "
                                                 "was imported.")
    if unpacked > settings.cpl_import_max_compression_ratio * size:
        raise _refused("workbook-compression", f"The workbook unpacks to {unpacked // size:,} times its size "
                                               f"({unpacked:,} bytes from {size:,}); the limit is "
                                               f"{settings.cpl_import_max_compression_ratio:,} times (set "
                                               "GBSMART_CPL_IMPORT_MAX_COMPRESSION_RATIO to change it). Nothing "
                                               "was imported.")
    return fh


def import_workbook(ctx: Ctx, content: bytes | BinaryIO, progress: Progress | None = None) -> ImportResult:
    """Check the workbook against the limits, validate every row, then import; if any row is bad, raise
    WorkbookInvalid and (the boundary rolling back) import nothing. CPL and Versions rows need the Code
    Administrator; New Entry rows become submissions."""
    fh = checked_file(content, ctx.settings)
    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise _not_xlsx(exc) from exc
    report, result, count = Report(ctx.settings.cpl_import_max_errors), ImportResult(), RowCount(ctx.settings)
    if not set(wb.sheetnames) & set(SHEETS):
        report.add(None, "sheets", "workbook-columns", f"the workbook has none of the sheets {', '.join(SHEETS)}")
    admin = ctx.actor.has_role(*service.ADMIN_ROLES)
    try:
        versions, cpl_rows, new_rows = (_read_rows(wb, s, report, count) for s in (VERSIONS, CPL, NEW))
    finally:
        wb.close()
    if (versions or cpl_rows) and not admin:
        versions, cpl_rows = [], []  # a manufacturer's copy of the published list: only its New Entry rows count
    seen: dict[tuple[str, ...], Row] = {}
    for row in cpl_rows + new_rows:
        first = seen.setdefault(_key(row.values), row)
        if first is not row:
            report.add(row, "device_model", "device-model-unique", f"device_model: the same Device Model as "
                                                                   f"{first.sheet} row {first.number}")
    total, done = len(versions) + len(cpl_rows) + len(new_rows), len(versions)
    result.versions = _load_versions(ctx, versions, report) if versions else 0
    certs: dict[tuple[str, str], tuple[Row, CertificateIn]] = {}
    bad_rows = set(report.rows)
    for row in cpl_rows:
        if (row.sheet, row.number) not in bad_rows:
            _cpl_row(ctx, row, report, certs, result)
        done += 1
        if progress:
            progress(done, total)
    for row in new_rows:
        if (row.sheet, row.number) not in bad_rows:
            _new_row(ctx, row, report, result)
        done += 1
        if progress:
            progress(done, total)
    if report.total:
        rows, listed = len(report.rows), report.first()
        more = (f" The first {len(listed)} of {report.total} errors are listed (set GBSMART_CPL_IMPORT_MAX_ERRORS "
                "to list more)." if report.total > len(listed) else "")
        raise WorkbookInvalid(f"The workbook has {rows} bad row{'s' if rows != 1 else ''}; nothing was imported."
                              + more, detail=listed, errors_total=report.total)
    record_change(ctx, "cpl.workbook.import", "cpl_workbook", ctx.clock.today().isoformat(), None,
                  {"entries": result.entries, "submissions": result.submissions, "versions": result.versions,
                   "unchanged": result.unchanged})
    return result


# ---------------------------------------------------------------- export


def _header(ws: Any, columns: list[tuple[str, str, type]], fill: PatternFill | None = None) -> None:
    cells = []
    for label, _, _ in columns:
        cell = WriteOnlyCell(ws, value=label)
        cell.font = Font(bold=True)
        if fill:
            cell.fill = fill
        cells.append(cell)
    ws.append(cells)


def entry_row(e: CplEntry) -> dict[str, Any]:
    """One CPL sheet row, by column key."""
    dm = e.device_model
    v: dict[str, Any] = {
        "manufacturer": dm.manufacturer, "model": dm.model, "hardware_version": dm.hardware_version,
        "firmware_version": dm.firmware_version,
        "physical_device_type": PhysicalDeviceType(dm.physical_device_type).label, "status": e.status,
        "status_since": e.status_since, "release_notes": e.release_notes,
        "technical_specification": e.technical_specification.label,
        "gbcs_version": e.gbcs_version.version if e.gbcs_version else None, "smets1": "Yes" if e.smets1 else "No",
        "image_creator": e.image_creator, "image_hash": e.image_hash,
        "signature": base64.b64encode(e.signature).decode() if e.signature else None,
        "signer_certificates": e.signer_certificates, "signed": "Yes" if e.signed else "No",
        "mapping_evidence": e.mapping_evidence, "submitter": e.submitter_name, "cpa_expiry_date": e.cpa_expiry}
    if e.removals:
        r = e.removals[-1]
        v.update(removal_minute=r.minute_reference, removal_reason=r.reason, removal_date=r.effective_on,
                 removal_grace_until=r.grace_until)
    for c in e.certificates:
        k = c.kind
        v.update({f"{k}_number": c.number, f"{k}_issued_on": c.issued_on, f"{k}_firmware_version": c.firmware_version,
                  f"{k}_revoked_on": c.revoked_at.date() if c.revoked_at else None,
                  f"{k}_revocation_reason": c.revocation_reason})
        if k == CertificateKind.CPA:
            v.update(cpa_expiry_date=c.expiry_date, cpa_conditional_date=c.conditional_date if c.conditional else None)
    return v


def write_workbook(session: Session, out: BinaryIO) -> int:
    """Write the CPL, New Entry and Versions sheets to ``out``, reading entries in batches; returns the row count."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(CPL)
    _header(ws, CPL_COLUMNS)
    stmt = (select(CplEntry).join(CplEntry.device_model).options(selectinload(CplEntry.certificates))
            .order_by(*service.KEY).execution_options(yield_per=500))
    n = 0
    for e in session.scalars(stmt):
        v = entry_row(e)
        ws.append([xlsx_cell(ws, v.get(key)) for _, key, _ in CPL_COLUMNS])
        n += 1
    new = wb.create_sheet(NEW)
    _header(new, NEW_COLUMNS, PatternFill("solid", fgColor="C6EFCE"))
    vs = wb.create_sheet(VERSIONS)
    _header(vs, VERSION_COLUMNS)
    for s in session.scalars(select(TechnicalSpecification).order_by(TechnicalSpecification.name,
                                                                     TechnicalSpecification.version)):
        vs.append([xlsx_cell(vs, x) for x in ("Technical Specification", s.name, s.version, s.end_date)])
    for g in session.scalars(select(GbcsVersion).order_by(GbcsVersion.version)):
        vs.append([xlsx_cell(vs, x) for x in ("GBCS", "GBCS", g.version, g.end_date)])
    wb.save(out)
    return n


def export_bytes(session: Session) -> bytes:
    buf = io.BytesIO()
    write_workbook(session, buf)
    return buf.getvalue()


#: the workbook's media type, and the name a download of it takes on a day (the API's and the portal's export)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_filename(on: date) -> str:
    return f"gbsmart-cpl-{on:%Y%m%d}.xlsx"


def export_stream(session: Session, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """Build the workbook in a spooled temporary file (entries read in batches), then yield it in chunks."""
    tmp = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - closed by the generator
    write_workbook(session, tmp)
    tmp.seek(0)

    def chunks() -> Iterator[bytes]:
        with tmp:
            while data := tmp.read(chunk):
                yield data

    return chunks()
