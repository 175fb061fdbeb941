"""JSON API of the Central Products List: /api/v1/cpl/... (entries, submissions, removal, import/export, lifecycle)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from gbsmart.core.context import Ctx
from gbsmart.core.types import DbId
from gbsmart.cpl import service, signatures, upload, workbook
from gbsmart.cpl.enums import EntryStatus, PhysicalDeviceType, SubmissionStatus
from gbsmart.cpl.schemas import (
    CertificateRead,
    EntryPage,
    EntryRead,
    EntrySummary,
    EventRead,
    ImportRead,
    LifecycleRead,
    NoticeRead,
    RemovalCreate,
    RemovalRead,
    RevocationCreate,
    SubmissionCreate,
    SubmissionRead,
    VersionRead,
    VersionSet,
)
from gbsmart.models.cpl import CplEntry, Submission
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["cpl"])


def summary_of(e: CplEntry) -> EntrySummary:
    dm = e.device_model
    return EntrySummary(
        id=e.id, manufacturer=dm.manufacturer, model=dm.model, hardware_version=dm.hardware_version,
        firmware_version=dm.firmware_version, physical_device_type=dm.physical_device_type,
        physical_device_type_label=PhysicalDeviceType(dm.physical_device_type).label, status=e.status,
        status_since=e.status_since, technical_specification=e.technical_specification.label,
        gbcs_version=e.gbcs_version.version if e.gbcs_version else None, cpa_expiry=e.cpa_expiry, smets1=e.smets1,
        submitter=e.submitter_name)


def read_of(ctx: Ctx, e: CplEntry) -> EntryRead:
    today = ctx.clock.today()
    certs = []
    for c in e.ordered_certificates:
        problem = service.rules.certificate_problem(service.certificate_facts(c), today)
        certs.append(CertificateRead(
            kind=c.kind, number=c.number, issued_on=c.issued_on, firmware_version=c.firmware_version,
            expiry_date=c.expiry_date, expiry_label=c.expiry_label, conditional=c.conditional,
            conditional_date=c.conditional_date, revoked_at=c.revoked_at, revocation_reason=c.revocation_reason,
            valid_today=problem is None, problem=problem))
    return EntryRead(
        **summary_of(e).model_dump(), release_notes=e.release_notes, image_creator=e.image_creator,
        image_hash=e.image_hash, signed=e.signed, signer=signatures.signer_of(e.signer_certificates),
        mapping_evidence=e.mapping_evidence, certificates=certs,
        notices=[NoticeRead.model_validate(n) for n in e.notices],
        removals=[RemovalRead.model_validate(r) for r in e.removals], flags=service.entry_flags(e, today),
        timeline=[EventRead.model_validate(ev) for ev in e.events])


def submission_of(s: Submission) -> SubmissionRead:
    return SubmissionRead(
        id=s.id, kind=s.kind, status=s.status, status_label=SubmissionStatus(s.status).label, device_model=s.label,
        physical_device_type=s.physical_device_type, submitter=s.submitter_name, submitted_at=s.submitted_at,
        validated_at=s.validated_at, decided_at=s.decided_at, decided_by=s.decided_by, entry_id=s.entry_id,
        signed=s.signed, signer=signatures.signer_of(s.signer_certificates),
        failures=[{"field": f.field, "rule": f.rule, "message": f.message} for f in s.failures])


def _refused(sub: Submission) -> JSONResponse | None:
    """A refused submission's 422, returned (not raised) so that the request's transaction keeps it (decision 0015)."""
    refused = service.refusal_to_report(sub)
    return JSONResponse(refused.to_dict(), status_code=refused.status) if refused else None


@router.get("/cpl/entries", response_model=EntryPage, summary="Search the CPL (keyset-paged)")
def list_entries(
    ctx: Ctx = Depends(get_ctx),
    q: str | None = Query(None, description="Search manufacturer, model, versions and release notes"),
    type: PhysicalDeviceType | None = Query(None, description="Physical Device Type"),  # noqa: A002
    manufacturer: str | None = None,
    status: EntryStatus | None = None,
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> EntryPage:
    f = service.EntryFilters(q=q, type=type.value if type else None, manufacturer=manufacturer,
                             status=status.value if status else None)
    page = service.list_entries(ctx.session, f, cursor, limit)
    return EntryPage(items=[summary_of(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/cpl/entries/{entry_id}", response_model=EntryRead, summary="A CPL entry with certificates and timeline")
def get_entry(entry_id: DbId, ctx: Ctx = Depends(get_ctx)) -> EntryRead:
    return read_of(ctx, service.get_entry(ctx.session, entry_id))


@router.get("/cpl/submissions", response_model=list[SubmissionRead], summary="CPL submissions, newest first")
def list_submissions(ctx: Ctx = Depends(get_ctx), status: SubmissionStatus | None = None) -> list[SubmissionRead]:
    return [submission_of(s) for s in service.list_submissions(ctx.session, status.value if status else None)]


@router.get("/cpl/submissions/{submission_id}", response_model=SubmissionRead, summary="A CPL submission")
def get_submission(submission_id: DbId, ctx: Ctx = Depends(get_ctx)) -> SubmissionRead:
    return submission_of(service.get_submission(ctx.session, submission_id))


@router.post("/cpl/submissions", response_model=SubmissionRead, status_code=201,
             summary="Submit a new entry or a firmware update (validated at once; 422 with each failure)",
             description="A signed submission carries `signature` (base64 DER ECDSA P-256/SHA-256) and "
                         "`signer_certificates` (PEM); the signature is checked against the CPL trust anchor and "
                         "the submitting organisation (docs/cpl-extracts.md, 'Signed submissions').")
def submit(data: SubmissionCreate, response: Response, ctx: Ctx = Depends(get_ctx)) -> SubmissionRead | JSONResponse:
    sub = service.submit(ctx, data)
    if refused := _refused(sub):
        return refused
    response.headers["Location"] = f"/api/v1/cpl/submissions/{sub.id}"
    return submission_of(sub)


@router.post("/cpl/submissions/{submission_id}/approve", response_model=EntryRead,
             summary="SECAS approves a validated submission: the entry is listed Active (Code Administrator)")
def approve(submission_id: DbId, ctx: Ctx = Depends(get_ctx)) -> EntryRead | JSONResponse:
    sub = service.approve(ctx, submission_id)
    if refused := _refused(sub):
        return refused
    return read_of(ctx, service.get_entry(ctx.session, sub.entry_id))


@router.post("/cpl/entries/{entry_id}/remove", response_model=EntryRead,
             summary="Remove an entry as the Panel decided, citing its minute (Code Administrator)")
def remove(entry_id: DbId, data: RemovalCreate, ctx: Ctx = Depends(get_ctx)) -> EntryRead:
    removal = service.remove(ctx, entry_id, data)
    return read_of(ctx, removal.entry)


@router.post("/cpl/certificates/{kind}/{number}/revoke", response_model=list[EntrySummary],
             summary="Record a certificate's revocation; returns the entries it affects (Code Administrator)")
def revoke(kind: str, number: str, data: RevocationCreate, ctx: Ctx = Depends(get_ctx)) -> list[EntrySummary]:
    cert = service.revoke_certificate(ctx, kind, number, data.reason, data.revoked_on)
    return [summary_of(e) for e in cert.entries]


async def import_xlsx(request: Request, ctx: Ctx = Depends(get_ctx)) -> ImportRead:
    result = await upload.import_upload(request, ctx)
    return ImportRead(entries=result.entries, submissions=result.submissions, versions=result.versions,
                      submission_ids=result.submission_ids)


router.add_api_route(
    "/cpl/import", import_xlsx, methods=["POST"], response_model=ImportRead,
    route_class_override=upload.WorkbookUploadRoute,
    summary="Import a CPL workbook (XLSX): any bad row imports nothing (422 lists sheet, row, field, rule)",
    description="The multipart field `file` holds the workbook. Over the size limit: 413; over the row or "
                "unpacked-size limits: 422. A 422 lists the first errors and counts them all in `errors_total` "
                "(docs/cpl-and-smi.md, 'Import limits').",
    responses={413: {"description": "The workbook is over GBSMART_CPL_IMPORT_MAX_BYTES; nothing was imported"},
               422: {"description": "Bad rows, too many rows or parts that unpack too far; nothing was imported"}},
    openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}}}}})


@router.get("/cpl/export.xlsx", summary="The CPL as the SEC's workbook (CPL, New Entry and Versions sheets)",
            response_class=StreamingResponse, responses={200: {"content": {workbook.XLSX: {}}}})
def export_xlsx(ctx: Ctx = Depends(get_ctx)) -> StreamingResponse:
    name = workbook.export_filename(ctx.clock.today())
    return StreamingResponse(workbook.export_stream(ctx.session), media_type=workbook.XLSX,
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/cpl/expiring", response_model=list[EntrySummary],
            summary="Active entries whose CPA certificate expires within the given number of days")
def expiring(ctx: Ctx = Depends(get_ctx), within_days: int = Query(365, ge=0, le=3650)) -> list[EntrySummary]:
    return [summary_of(e) for e in service.expiring(ctx.session, ctx.clock.today(), within_days)]


@router.post("/cpl/lifecycle/run", response_model=LifecycleRead,
             summary="Run the CPL lifecycle: notices, expiries, scheduled removals (Code Administrator)")
def run_lifecycle(ctx: Ctx = Depends(get_ctx)) -> LifecycleRead:
    return LifecycleRead(**vars(service.run_lifecycle(ctx)))


@router.get("/cpl/versions", response_model=list[VersionRead],
            summary="Technical specification and GBCS versions, with their end dates")
def versions(ctx: Ctx = Depends(get_ctx)) -> list[VersionRead]:
    specs, gbcs = service.versions(ctx.session)
    return [VersionRead(version=v.label, end_date=v.end_date) for v in specs] + [
        VersionRead(version=g.label, end_date=g.end_date) for g in gbcs]


@router.post("/cpl/versions", response_model=VersionRead,
             summary="Record a version or set its end date (Code Administrator)")
def set_version(data: VersionSet, ctx: Ctx = Depends(get_ctx)) -> VersionRead:
    v = service.set_version(ctx, data.version, data.end_date)
    return VersionRead(version=v.label, end_date=v.end_date)
