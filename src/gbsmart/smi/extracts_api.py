"""JSON API of signed CPL extracts, mounted under /api/v1 (seed 004: SECAS signs, the DCC verifies and applies).

POST /cpl/extracts (Code Administrator: issue the next), GET /cpl/extracts (history),
GET /cpl/extracts/{sequence}/download (the signed file), POST /smi/extracts (DCC: apply a signed file).

The exchange lives in smi because its answers pair what the CPL issued (``cpl.extracts``) with what the SMI
applied (``smi.extract_apply``), and only smi may read both (docs/decisions/0014-domain-dependencies.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId
from gbsmart.cpl import extracts
from gbsmart.models.extracts import CplExtract
from gbsmart.smi.extract_apply import ApplyReport, HistoryRow, apply_extract, extract_history, require_applier
from gbsmart.smi.extract_upload import download_url, uploaded_extract
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["cpl extracts"])

class ApplicationRead(BaseModel):
    applied_at: datetime
    sha256: str
    signer: str | None  # the certificate that signed what was applied (None: applied before it was recorded)
    signer_fingerprint: str | None
    signer_serial: str | None
    suspended: int
    restored: int
    events: int
    seconds: float | None
    same_digest_as_issued: bool | None


class ExtractRead(BaseModel):
    sequence: int
    issued_at: datetime | None
    issued_by: str | None
    signer: str | None
    sha256: str | None
    entry_count: int | None
    removal_count: int | None
    removals: list[dict[str, Any]]
    download_url: str | None
    applied: ApplicationRead | None


def extract_read(row: HistoryRow) -> ExtractRead:
    i, a = row.issued, row.applied
    applied = None
    if a is not None:
        signed = row.applied_signer
        applied = ApplicationRead(applied_at=a.applied_at, sha256=a.sha256, signer=signed.get("signer"),
                                  signer_fingerprint=signed.get("signer_fingerprint"),
                                  signer_serial=signed.get("signer_serial"), suspended=a.suspended,
                                  restored=a.restored, events=a.events, seconds=a.seconds,
                                  same_digest_as_issued=row.digest_matches)
    return ExtractRead(
        sequence=row.sequence, issued_at=i.issued_at if i else None, issued_by=i.issued_by if i else None,
        signer=i.signer if i else None, sha256=i.sha256 if i else None, entry_count=i.entry_count if i else None,
        removal_count=i.removal_count if i else None, removals=i.removals if i else [],
        download_url=download_url(row.sequence) if i else None, applied=applied)


@router.post("/cpl/extracts", status_code=201, response_model=ExtractRead)
def issue(ctx: Ctx = Depends(get_ctx)) -> ExtractRead:
    """Sign and record the next CPL extract (Code Administrator, on behalf of the SEC Panel)."""
    row: CplExtract = extracts.issue_extract(ctx)
    return extract_read(HistoryRow(row.sequence, row, None))


@router.get("/cpl/extracts", response_model=list[ExtractRead])
def history(ctx: Ctx = Depends(get_ctx)) -> list[ExtractRead]:
    """Issued extracts, newest first, each with its application to the SMI (if any)."""
    return [extract_read(r) for r in extract_history(ctx.session)]


@router.get("/cpl/extracts/{sequence}/download")
def download(sequence: DbId, ctx: Ctx = Depends(get_ctx)) -> Response:
    """The signed extract file exactly as issued."""
    row = extracts.get_extract(ctx.session, sequence, with_document=True)
    return Response(row.document, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="cpl-extract-{row.sequence}.json"'})


@router.post("/smi/extracts", response_model=ApplyReport, responses={
    409: {"description": "replayed or out-of-order sequence number; nothing was changed"},
    422: {"description": "the extract failed verification (detail.check names the check); nothing was changed"},
})
async def apply(request: Request, ctx: Ctx = Depends(get_ctx)) -> ApplyReport:
    """Verify a signed CPL extract (raw body or multipart field ``file``) and apply it to the SMI (DCC)."""
    require_applier(ctx)  # before the upload is read
    data = await uploaded_extract(request)
    return await run_in_threadpool(apply_extract, ctx, data)
