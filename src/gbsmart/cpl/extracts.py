"""Signed CPL extracts: SECAS issues them on behalf of the SEC Panel, the DCC verifies them before use.

Seed 004 ("Roles and Responsibilities"): "SECAS, on behalf of the SEC Panel, use IKI credentials to sign the
extract sent to the DCC"; "The DCC will validate these credentials upon receipt of the CPL"; "Where a CPL extract
... includes new removals, the DCC will use and rely upon SEC Panel meeting minutes". The file format, the
canonical form and the order of the checks are recorded in docs/decisions/0006-signed-cpl-extracts.md.

A file is ``{"payload": <canonical JSON text>, "signature": <base64 DER ECDSA>, "certificates": [<PEM>...]}``;
the signature covers the UTF-8 bytes of the payload text exactly as they appear, and the verifier parses the
payload only after the chain and the signature have been checked.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from gbsmart.config import Settings
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.db import insert_or_conflict
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.core.signing import (
    CertificateError,
    KeyFileError,
    SignatureInvalid,
    SigningError,
    carries_oid,
    certificate_pem,
    certificates_from_pem,
    common_name,
    describe,
    digest,
    fingerprint,
    load_certificates,
    load_private_key,
    organisation_name,
    same_public_key,
    serial_number,
    sign,
    verify_chain,
    verify_signature,
)
from gbsmart.models.cpl import CplEntry, CplEntryEvent, DeviceModel
from gbsmart.models.extracts import CplExtract

log = logging.getLogger("gbsmart.cpl.extracts")

FORMAT = "gbsmart-cpl-extract/1"
STATUSES = ("Active", "Cancelled", "Expired", "Withdrawn")
KEY_FIELDS = ("manufacturer", "model", "hardware_version", "firmware_version")
ENTRY_FIELDS = (*KEY_FIELDS, "physical_device_type", "status", "technical_specification", "gbcs_version",
                "cpa_expiry", "smets1")
#: where an entry from gbsmart.cpl.service.extract_entries may carry the Panel minute of its removal
MINUTE_FIELDS = ("minute_reference", "panel_minute", "removal_minute")
ISSUER_ROLES = ("code_administrator", "system")


# ---------------------------------------------------------------------------------------------- errors


class ExtractRefused(Invalid):
    """A signed CPL extract failed a check; ``check`` names which (file, chain, signer, signature, format ...)."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message, detail={"check": check})
        self.check = check


class ExtractReplayed(Conflict):
    """The extract's sequence number was already applied."""


class ExtractOutOfOrder(Conflict):
    """The extract's sequence number skips one or more extracts not yet applied."""


# ---------------------------------------------------------------------------------------------- the format


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not allowed in a CPL extract")


def canonical_json(obj: Any) -> str:
    """The one text of ``obj`` that gets signed: keys sorted, no insignificant whitespace, UTF-8, no NaN."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=_json_default)


def model_key(entry: dict[str, Any]) -> tuple[str, str, str, str]:
    """A Device Model's identity: manufacturer, model, hardware version, firmware version."""
    return tuple(str(entry[f]) for f in KEY_FIELDS)  # type: ignore[return-value]


def normalise_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries as they are signed: JSON values only, sorted by Device Model, each model once, statuses known."""
    out = json.loads(canonical_json(entries))
    seen: set[tuple[str, ...]] = set()
    for entry in out:
        missing = [f for f in (*KEY_FIELDS, "status") if entry.get(f) in (None, "")]
        if missing:
            raise Invalid(f"a CPL entry has no {', '.join(missing)}: {entry}")
        if entry["status"] not in STATUSES:
            raise Invalid(f"CPL entry {model_key(entry)} has status {entry['status']!r}; "
                          f"allowed: {', '.join(STATUSES)}")
        if model_key(entry) in seen:
            raise Invalid(f"the Device Model {model_key(entry)} appears twice in the CPL")
        seen.add(model_key(entry))
    return sorted(out, key=model_key)


def new_removals(previous: list[dict[str, Any]] | None, current: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Device Models Active in the previous extract and not Active now (absent counts), with their Panel minute."""
    if previous is None:
        return []
    now = {model_key(e): e for e in current}
    removals = []
    for before in previous:
        if before.get("status") != "Active":
            continue
        after = now.get(model_key(before))
        if after is not None and after["status"] == "Active":
            continue
        source = after or before
        minute = next((source.get(f) for f in MINUTE_FIELDS if source.get(f)), None)
        removals.append({
            **{f: before[f] for f in KEY_FIELDS},
            "physical_device_type": before.get("physical_device_type"),
            "status": after["status"] if after is not None else None,  # None: no longer listed at all
            "minute_reference": minute,
        })
    return removals


def cite_panel_minutes(session: Session, removals: list[dict[str, Any]]) -> None:
    """Fill in each removal's Panel minute from its CPL entry's timeline: the latest change to that status that
    cites a reference (seed 004: the DCC relies on the minutes to know a removal is intentional)."""
    wanted = {model_key(r): r for r in removals if r.get("status") and not r.get("minute_reference")}
    if not wanted:
        return
    rows = session.execute(
        select(DeviceModel.manufacturer, DeviceModel.model, DeviceModel.hardware_version,
               DeviceModel.firmware_version, CplEntryEvent.to_status, CplEntryEvent.reference)
        .join(CplEntry, CplEntry.device_model_id == DeviceModel.id)
        .join(CplEntryEvent, CplEntryEvent.entry_id == CplEntry.id)
        .where(CplEntryEvent.reference.is_not(None), CplEntryEvent.to_status.is_not(None))
        .order_by(CplEntryEvent.entry_id, CplEntryEvent.seq))
    for manufacturer, model, hardware, firmware, to_status, reference in rows:
        removal = wanted.get((manufacturer, model, hardware, firmware))
        if removal is not None and to_status == removal["status"]:
            removal["minute_reference"] = reference


@dataclass(frozen=True)
class SignedFile:
    """A signed extract file taken apart, nothing yet verified."""

    payload: str
    signature: bytes
    certificates: list[x509.Certificate]


@dataclass(frozen=True)
class VerifiedExtract:
    """What a verified extract says: only ever built after the chain, the signature and the sequence passed."""

    sequence: int
    issued_at: str
    issuer: str
    signer: str  # the signing certificate's common name
    signer_fingerprint: str  # its SHA-256 fingerprint: what identifies it (decision 0011)
    signer_serial: str
    signer_subject: str
    sha256: str
    entries: list[dict[str, Any]]
    removals: list[dict[str, Any]]
    chain: list[str] = field(default_factory=list)  # common names, signer first, trust anchor last

    @property
    def removals_without_minute(self) -> list[dict[str, Any]]:
        return [r for r in self.removals if not r.get("minute_reference")]


def signed_document(payload_text: str, signature: bytes, chain: list[x509.Certificate]) -> str:
    """The file: the payload text, the signature over its UTF-8 bytes, and the signer's certificates."""
    return json.dumps({
        "payload": payload_text,
        "signature": base64.b64encode(signature).decode("ascii"),
        "certificates": [certificate_pem(c) for c in chain],
    }, indent=2) + "\n"


def read_source(source: bytes | str | Path) -> bytes:
    if isinstance(source, Path):
        try:
            return source.read_bytes()
        except OSError as exc:
            raise ExtractRefused("file", f"cannot read {source}: {exc.strerror}") from None
    return source.encode("utf-8") if isinstance(source, str) else source


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def _strict_json(text: str | bytes) -> Any:
    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    return json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=no_constants)


def parse_signed_file(source: bytes | str | Path) -> SignedFile:
    """Take the file apart; ``ExtractRefused('file', ...)`` when it is not a signed CPL extract at all."""
    raw = read_source(source)
    try:
        doc = _strict_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExtractRefused("file", f"not a signed CPL extract: the file is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or not {"payload", "signature", "certificates"} <= doc.keys():
        raise ExtractRefused("file", "not a signed CPL extract: expected an object with payload, signature and "
                                     "certificates")
    payload, signature, certs = doc["payload"], doc["signature"], doc["certificates"]
    if not isinstance(payload, str) or not isinstance(signature, str):
        raise ExtractRefused("file", "not a signed CPL extract: payload and signature must be strings")
    if not isinstance(certs, list) or not certs or not all(isinstance(c, str) for c in certs):
        raise ExtractRefused("file", "not a signed CPL extract: certificates must be a non-empty list of PEM texts")
    try:
        signature_bytes = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise ExtractRefused("file", "the signature is not valid base64") from None
    parsed = []
    for i, pem in enumerate(certs):
        try:
            found = certificates_from_pem(pem, what=f"certificate {i + 1} of the file")
        except KeyFileError as exc:
            raise ExtractRefused("file", exc.message) from None
        if len(found) != 1:
            raise ExtractRefused("file", f"certificate {i + 1} of the file must hold exactly one certificate")
        parsed.append(found[0])
    return SignedFile(payload=payload, signature=signature_bytes, certificates=parsed)


# ---------------------------------------------------------------------------------------------- verifying


def trust_anchors(settings: Settings) -> list[x509.Certificate]:
    path = settings.resolved_cpl_trust_anchor()
    try:
        return load_certificates(path)
    except KeyFileError as exc:
        raise ExtractRefused("trust_anchor", f"no usable trust anchor: {exc.message}. Set GBSMART_CPL_TRUST_ANCHOR "
                                             "or create the test PKI with `gbsmart pki init-test`") from None


def pinned_signers(settings: Settings) -> set[str]:
    """SHA-256 fingerprints of the certificates that may sign CPL extracts: GBSMART_CPL_SIGNER_FINGERPRINTS, or when
    that is empty the configured signing certificate's own (one machine, as `gbsmart pki init-test` sets it up)."""
    if settings.cpl_signer_fingerprints:
        return set(settings.cpl_signer_fingerprints)
    try:
        return {fingerprint(load_certificates(settings.resolved_cpl_signing_certificate())[0])}
    except KeyFileError:
        return set()


def signer_refusals(cert: x509.Certificate, settings: Settings) -> list[str]:
    """Why ``cert`` may not sign CPL extracts, empty when it may (decision 0011): it is a pinned certificate, it
    names the CPL signer's organisation, it carries the CPL signer's OID and its common name is an allowed one."""
    reasons = []
    pinned = pinned_signers(settings)
    if not pinned:
        reasons.append("no CPL signer is pinned: set GBSMART_CPL_SIGNER_FINGERPRINTS to the SHA-256 fingerprint of "
                       "SECAS's signing certificate (SECAS's `gbsmart pki show` prints it)")
    elif fingerprint(cert) not in pinned:
        source = ("GBSMART_CPL_SIGNER_FINGERPRINTS" if settings.cpl_signer_fingerprints
                  else "GBSMART_CPL_SIGNER_FINGERPRINTS is unset, so the only one pinned is the configured signing "
                  "certificate")
        reasons.append(f"its SHA-256 fingerprint {fingerprint(cert)} is not a pinned CPL signer ({source})")
    organisation = organisation_name(cert)
    if organisation != settings.cpl_signer_organisation:
        named = f"is {organisation!r}" if organisation is not None else "is missing"
        reasons.append(f"its organisation (O=) {named}, not {settings.cpl_signer_organisation!r}")
    if not carries_oid(cert, ObjectIdentifier(settings.cpl_signer_oid)):
        reasons.append(f"it does not carry the CPL extract signing OID {settings.cpl_signer_oid} as an extended key "
                       "usage or certificate policy (GBSMART_CPL_SIGNER_OID)")
    if common_name(cert) not in settings.cpl_signer_names:
        reasons.append(f"its common name is not one of {', '.join(settings.cpl_signer_names)} "
                       "(GBSMART_CPL_SIGNER_NAMES)")
    return reasons


def check_sequence(sequence: int, last_applied: int | None, *, allow_gaps: bool) -> None:
    """Refuse a replayed (already applied) or out-of-order (skipping) sequence number."""
    last = last_applied or 0
    if sequence <= last:
        raise ExtractReplayed(
            f"replayed: extract {sequence} is not newer than the last applied extract ({last})",
            detail={"check": "sequence", "last_applied": last_applied, "got": sequence})
    if sequence > last + 1 and not allow_gaps:
        raise ExtractOutOfOrder(
            f"out of order: expected {last + 1}, got {sequence}; apply the missing extracts first",
            detail={"check": "sequence", "expected": last + 1, "got": sequence})


def _entries(payload: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    entries, removals = payload.get("entries"), payload.get("removals")
    if not isinstance(entries, list) or not isinstance(removals, list):
        raise ExtractRefused("entries", "the extract's entries and removals must be lists")
    seen: set[tuple[str, ...]] = set()
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ExtractRefused("entries", f"entry {i + 1} is not an object")
        bad = [f for f in (*KEY_FIELDS, "physical_device_type") if not isinstance(entry.get(f), str) or not entry[f]]
        if bad:
            raise ExtractRefused("entries", f"entry {i + 1} has no {', '.join(bad)}")
        if entry.get("status") not in STATUSES:
            raise ExtractRefused("entries", f"entry {i + 1} has status {entry.get('status')!r}; allowed: "
                                            f"{', '.join(STATUSES)}")
        if model_key(entry) in seen:
            raise ExtractRefused("entries", f"entry {i + 1} repeats the Device Model {model_key(entry)}")
        seen.add(model_key(entry))
    return entries, removals


def verify_extract(source: bytes | str | Path, *, settings: Settings, at: datetime,
                   last_applied: int | None) -> VerifiedExtract:
    """Verify a signed extract, in this order, and only then read its entries (decision 0006):

    1. the file's structure; 2. the signer's certificate chain up to the configured trust anchor (not to
    the certificates in the file), at time ``at``; 3. the signer is the CPL signer (``signer_refusals``,
    decision 0011: a pinned certificate, not merely a name); 4. the signature
    over the exact payload bytes; 5. format and version; 6. the sequence number against ``last_applied``;
    7. the entries. Touches no database.
    """
    signed = parse_signed_file(source)
    anchors = trust_anchors(settings)
    leaf = signed.certificates[0]
    try:
        path = verify_chain(leaf, intermediates=signed.certificates[1:], anchors=anchors, at=at)
    except CertificateError as exc:
        raise ExtractRefused("chain", f"the signer's certificate is not trusted: {exc.message}") from None
    refusals = signer_refusals(leaf, settings)
    if refusals:
        raise ExtractRefused("signer", f"wrong signer: {describe(leaf)} may not sign CPL extracts: "
                                       f"{'; '.join(refusals)}")
    payload_bytes = signed.payload.encode("utf-8")
    try:
        verify_signature(leaf, signed.signature, payload_bytes)
    except SignatureInvalid as exc:
        raise ExtractRefused("signature", f"the signature is not valid: {exc.message}") from None
    try:
        payload = _strict_json(signed.payload)
    except ValueError as exc:
        raise ExtractRefused("format", f"the signed payload is not valid JSON ({exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        got = payload.get("format") if isinstance(payload, dict) else None
        raise ExtractRefused("format", f"unsupported extract format {got!r}; this gbsmart reads {FORMAT}")
    sequence = payload.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise ExtractRefused("format", f"the extract's sequence number {sequence!r} is not a positive integer")
    check_sequence(sequence, last_applied, allow_gaps=settings.cpl_extract_allow_gaps)
    entries, removals = _entries(payload)
    return VerifiedExtract(
        sequence=sequence, issued_at=str(payload.get("issued_at", "")), issuer=str(payload.get("issuer", "")),
        signer=common_name(leaf), signer_fingerprint=fingerprint(leaf), signer_serial=serial_number(leaf),
        signer_subject=leaf.subject.rfc4514_string(), sha256=digest(payload_bytes), entries=entries, removals=removals,
        chain=[common_name(c) for c in path])


# ---------------------------------------------------------------------------------------------- issuing


@dataclass(frozen=True)
class Signer:
    key: Any
    chain: list[x509.Certificate]

    @property
    def name(self) -> str:
        return common_name(self.chain[0])


def load_signer(settings: Settings, at: datetime) -> Signer:
    """SECAS's key and certificates, checked before use: the key matches the certificate, the chain verifies and
    the certificate is the CPL signer by the same rule the DCC applies (``signer_refusals``)."""
    try:
        key = load_private_key(settings.resolved_cpl_signing_key(), settings.cpl_signing_key_password)
        chain = load_certificates(settings.resolved_cpl_signing_certificate())
    except KeyFileError as exc:
        raise Invalid(f"cannot sign: {exc.message}. Configure GBSMART_CPL_SIGNING_KEY and "
                      "GBSMART_CPL_SIGNING_CERTIFICATE, or create the test PKI with `gbsmart pki init-test`") from None
    if not same_public_key(key, chain[0]):
        raise Invalid("cannot sign: the signing key does not belong to the signing certificate "
                      f"'{common_name(chain[0])}'")
    try:
        verify_chain(chain[0], intermediates=chain[1:], anchors=trust_anchors(settings), at=at)
    except SigningError as exc:
        raise Invalid(f"cannot sign: {exc.message}") from None
    refusals = signer_refusals(chain[0], settings)
    if refusals:
        raise Invalid(f"cannot sign: {describe(chain[0])} is not an authorised CPL signer: {'; '.join(refusals)}")
    return Signer(key=key, chain=chain)


def latest_extract(session: Session, *, with_document: bool = False) -> CplExtract | None:
    stmt = select(CplExtract).order_by(CplExtract.sequence.desc()).limit(1)
    if with_document:
        stmt = stmt.options(undefer(CplExtract.document))
    return session.scalar(stmt)


def payload_of(document: str) -> dict[str, Any]:
    """The payload of a document gbsmart issued itself (from the database, so not verified again)."""
    return json.loads(json.loads(document)["payload"])


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def issue_extract(ctx: Ctx, *, entries: list[dict[str, Any]] | None = None, write_file: bool = True) -> CplExtract:
    """Sign the next CPL extract as SECAS on behalf of the Panel and record it (seed 004).

    ``entries`` defaults to ``gbsmart.cpl.service.extract_entries(session)``.
    """
    if not ctx.actor.has_role(*ISSUER_ROLES):
        raise Forbidden("Only the Code Administrator (SECAS, on behalf of the SEC Panel) issues CPL extracts.")
    now = ctx.clock.now()
    signer = load_signer(ctx.settings, now)
    if entries is None:
        from gbsmart.cpl.service import extract_entries

        entries = extract_entries(ctx.session)
    current = normalise_entries(entries)
    previous = latest_extract(ctx.session, with_document=True)
    previous_entries = payload_of(previous.document)["entries"] if previous is not None else None
    removals = new_removals(previous_entries, current)
    cite_panel_minutes(ctx.session, removals)
    sequence = (previous.sequence if previous is not None else 0) + 1
    payload_text = canonical_json({
        "format": FORMAT, "sequence": sequence, "issued_at": now.isoformat(), "issuer": signer.name,
        "entries": current, "removals": removals,
    })
    payload_bytes = payload_text.encode("utf-8")
    document = signed_document(payload_text, sign(signer.key, payload_bytes), signer.chain)
    path = ctx.settings.resolved_extracts_dir() / f"cpl-extract-{sequence}.json" if write_file else None
    row = CplExtract(sequence=sequence, issued_at=now, issued_by=ctx.actor.username, signer=signer.name,
                     sha256=digest(payload_bytes), entry_count=len(current), removal_count=len(removals),
                     removals=removals, file_path=str(path) if path else None, document=document)
    insert_or_conflict(ctx.session, row,
                       Conflict(f"CPL extract {sequence} was issued by someone else at the same time; issue again"))
    if path is not None:
        _write_atomically(path, document)
    record_change(ctx, "cpl_extract.issue", "cpl_extract", sequence, None,
                  {"sha256": row.sha256, "entries": row.entry_count, "removals": removals, "signer": signer.name,
                   "signer_fingerprint": fingerprint(signer.chain[0]), "signer_serial": serial_number(signer.chain[0]),
                   "file": row.file_path})
    log.info("CPL extract %s issued by %s: %s entries, %s removals", sequence, ctx.actor.username,
             row.entry_count, row.removal_count)
    return row


def get_extract(session: Session, sequence: int, *, with_document: bool = False) -> CplExtract:
    stmt = select(CplExtract).where(CplExtract.sequence == sequence)
    if with_document:
        stmt = stmt.options(undefer(CplExtract.document))
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"There is no CPL extract {sequence}.")
    return row


def issued_extracts(session: Session, limit: int = 200) -> list[CplExtract]:
    """The latest ``limit`` issued extracts, newest first."""
    return list(session.scalars(select(CplExtract).order_by(CplExtract.sequence.desc()).limit(limit)))
