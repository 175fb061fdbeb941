"""Apply a signed CPL extract to the Smart Metering Inventory, as the DCC does on receipt (seed 004).

"The DCC will validate these credentials upon receipt of the CPL"; "The DCC shall use and rely upon the CPL
to update the SMI"; "The DCC are allowed up to 24 hours from receipt of the CPL". Verification comes first and
touches nothing; then, in the caller's one transaction, the Device Models, the SMI Statuses and the record of
the application are written together, so a refusal or a failure at any point leaves the SMI as it was.

The history of the exchange (what SECAS issued, ``cpl.extracts``, beside what the DCC applied) is read here too:
the SMI reads the CPL, never the reverse (docs/decisions/0014-domain-dependencies.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Forbidden
from gbsmart.cpl.extracts import ExtractReplayed, VerifiedExtract, issued_extracts, verify_extract
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.extracts import CplExtract
from gbsmart.models.smi import SmiExtractApplication
from gbsmart.smi.service import (
    apply_cpl_statuses,
    last_applied_sequence,
    record_extract_application,
    upsert_device_models,
)

log = logging.getLogger("gbsmart.smi.extracts")

APPLIER_ROLES = ("dcc", "code_administrator", "system")
#: seed 004: "The DCC are allowed up to 24 hours from receipt of the CPL to make any modifications to the SMI"
HOURS_ALLOWED = 24


@dataclass
class ApplyReport:
    """What applying one extract verified and changed, with the seconds each phase took."""

    sequence: int
    sha256: str
    signer: str
    signer_fingerprint: str  # SHA-256 of the signing certificate (decision 0011)
    signer_serial: str
    issued_at: str
    entries: int
    removals: list[dict[str, Any]]
    models: dict[str, int]  # added, updated, withdrawn (smi.service.upsert_device_models)
    suspended: int
    restored: int
    events: int
    seconds: dict[str, float] = field(default_factory=dict)  # verify, models, statuses, record, total
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _warnings(verified: VerifiedExtract, now: datetime) -> list[str]:
    out = []
    for r in verified.removals_without_minute:
        out.append(f"removal of {r.get('manufacturer')} {r.get('model')} (HW {r.get('hardware_version')}, FW "
                   f"{r.get('firmware_version')}) cites no Panel minute: confirm it in the SEC Panel's minutes "
                   "(seed 004)")
    try:
        issued = datetime.fromisoformat(verified.issued_at)
    except ValueError:
        return out
    hours = (now - issued).total_seconds() / 3600
    if hours > HOURS_ALLOWED:
        out.append(f"applied {hours:.0f} hours after the extract was issued; the DCC has {HOURS_ALLOWED} hours "
                   "(seed 004)")
    return out


FORBIDDEN_TO_APPLY = "Only the DCC (or the Code Administrator) applies CPL extracts to the SMI."


def may_apply(ctx: Ctx) -> bool:
    """Applying CPL extracts to the SMI: the DCC or the Code Administrator (or a system job)."""
    return ctx.actor.has_role(*APPLIER_ROLES)


def require_applier(ctx: Ctx) -> None:
    """403 with ``FORBIDDEN_TO_APPLY`` unless the actor may apply extracts (doors ask before reading an upload)."""
    if not may_apply(ctx):
        raise Forbidden(FORBIDDEN_TO_APPLY)


def apply_extract(ctx: Ctx, source: bytes | str | Path) -> ApplyReport:
    """Verify a signed CPL extract (decision 0006), then upsert its Device Models, apply the CPL rule to every
    device and record the application, all in the caller's transaction. Raises before any write if refused."""
    require_applier(ctx)
    timings: dict[str, float] = {}
    started = mark = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[phase] = round(now - mark, 4)
        mark = now

    now = ctx.clock.now()
    verified = verify_extract(source, settings=ctx.settings, at=now, last_applied=last_applied_sequence(ctx.session))
    lap("verify")
    models = upsert_device_models(ctx, verified.entries)
    lap("models")
    result = apply_cpl_statuses(ctx, extract_sequence=verified.sequence, reason=f"CPL extract {verified.sequence}")
    lap("statuses")
    try:
        record_extract_application(ctx, verified.sequence, verified.sha256, result)
    except IntegrityError:  # applied by someone else meanwhile
        raise ExtractReplayed(f"replayed: extract {verified.sequence} was applied by someone else meanwhile",
                              detail={"check": "sequence", "got": verified.sequence}) from None
    lap("record")
    timings["total"] = round(time.perf_counter() - started, 4)
    report = ApplyReport(
        sequence=verified.sequence, sha256=verified.sha256, signer=verified.signer,
        signer_fingerprint=verified.signer_fingerprint, signer_serial=verified.signer_serial,
        issued_at=verified.issued_at,
        entries=len(verified.entries), removals=verified.removals, models=models, suspended=result.suspended,
        restored=result.restored, events=result.events, seconds=timings, warnings=_warnings(verified, now))
    record_change(ctx, "cpl_extract.apply", "cpl_extract", verified.sequence, None, {
        "sha256": verified.sha256, "signer": verified.signer, "signer_fingerprint": verified.signer_fingerprint,
        "signer_serial": verified.signer_serial, "signer_subject": verified.signer_subject, "chain": verified.chain,
        "issued_at": verified.issued_at,
        "entries": report.entries, "models": models, "suspended": result.suspended, "restored": result.restored,
        "events": result.events, "removals": verified.removals, "warnings": report.warnings, "seconds": timings})
    log.info("CPL extract %s applied: %s suspended, %s restored, %s events in %.3fs", verified.sequence,
             result.suspended, result.restored, result.events, timings["total"])
    return report


@dataclass(frozen=True)
class HistoryRow:
    """An issued extract beside its application to the SMI (either may be missing)."""

    sequence: int
    issued: CplExtract | None
    applied: SmiExtractApplication | None
    #: the certificate that signed the applied extract (signer, signer_fingerprint, signer_serial), from the
    #: cpl_extract.apply change record; empty for an application recorded before they were (issue 8)
    applied_signer: dict[str, Any] = field(default_factory=dict)

    @property
    def digest_matches(self) -> bool | None:
        if self.issued is None or self.applied is None:
            return None
        return self.issued.sha256 == self.applied.sha256


def extract_history(session: Session, limit: int = 200) -> list[HistoryRow]:
    """The latest ``limit`` sequence numbers, newest first: what SECAS issued and what the DCC applied."""
    issued = {r.sequence: r for r in issued_extracts(session, limit)}
    applied = {a.sequence: a for a in session.scalars(
        select(SmiExtractApplication).order_by(SmiExtractApplication.sequence.desc()).limit(limit))}
    sequences = sorted(issued.keys() | applied.keys(), reverse=True)[:limit]
    signers = {int(r.object_id): r.after or {} for r in session.scalars(
        select(ChangeRecord).where(ChangeRecord.object_type == "cpl_extract",
                                   ChangeRecord.object_id.in_([str(s) for s in applied]),
                                   ChangeRecord.action == "cpl_extract.apply"))}
    return [HistoryRow(s, issued.get(s), applied.get(s), {k: v for k, v in signers.get(s, {}).items()
                                                          if k in ("signer", "signer_fingerprint", "signer_serial")})
            for s in sequences]
