"""JSON API of Anomaly Detection Thresholds and quarantined requests, mounted under /api/v1.

GET /gateway/adt/thresholds (the caller's organisation's; all for the DCC), GET /gateway/adt/warnings,
POST /gateway/adt/files (a signed ADT file: SRO/ARO), GET /gateway/quarantine, POST /gateway/quarantine/actions
(a signed action file: SRO/ARO). A file travels as its text with its detached base64 signature (the signature is
over the text's UTF-8 bytes); a refusal is 422 with each problem by line and field in ``detail``.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from gbsmart.core.context import Ctx
from gbsmart.core.types import Line, Text
from gbsmart.gateway import adt_service
from gbsmart.gateway.enums import QuarantineStatus
from gbsmart.gateway.store import load_keystore
from gbsmart.models.adt import AdtThreshold, AdtWarning, QuarantinedRequest
from gbsmart.web.deps import get_ctx

router = APIRouter(tags=["gateway ADT"])


class ThresholdRead(BaseModel):
    user_id: str
    srv: str
    warning: int | None
    quarantine: int | None
    period_seconds: int
    set_at: datetime
    set_by: str


class WarningRead(BaseModel):
    user_id: str
    srv: str
    period_start: datetime
    period_seconds: int
    threshold: int
    request_id: str
    raised_at: datetime


class QuarantinedRead(BaseModel):
    request_id: str
    srv: str
    breach: str
    threshold: int
    count: int
    status: QuarantineStatus
    received_at: datetime
    quarantine_event_ref: int
    actioned_at: datetime | None
    actioned_by: str | None
    processed_at: datetime | None


class SignedFile(BaseModel):
    content: Text = Field(description="The file's text (CSV, docs/gateway.md).", max_length=1024 * 1024)
    signature: Line = Field(description="Base64 of the DER ECDSA P-256 / SHA-256 signature over its UTF-8 bytes.",
                            max_length=200)


class ActionRead(BaseModel):
    officer: str
    released: list[str]
    deleted: list[str]


def _threshold(t: AdtThreshold) -> ThresholdRead:
    return ThresholdRead(user_id=t.user_id, srv=t.srv, warning=t.warning, quarantine=t.quarantine,
                         period_seconds=t.period_seconds, set_at=t.set_at, set_by=t.set_by)


def _quarantined(q: QuarantinedRequest) -> QuarantinedRead:
    return QuarantinedRead(request_id=q.request_id, srv=q.srv, breach=q.breach, threshold=q.threshold, count=q.count,
                           status=QuarantineStatus(q.status), received_at=q.received_at, quarantine_event_ref=q.log_seq,
                           actioned_at=q.actioned_at, actioned_by=q.actioned_by, processed_at=q.processed_at)


def _warning(w: AdtWarning) -> WarningRead:
    return WarningRead(user_id=w.user_id, srv=w.srv, period_start=w.period_start, period_seconds=w.period_seconds,
                       threshold=w.threshold, request_id=w.request_id, raised_at=w.raised_at)


@router.get("/gateway/adt/thresholds")
def list_thresholds(ctx: Ctx = Depends(get_ctx)) -> list[ThresholdRead]:
    return [_threshold(t) for t in adt_service.thresholds(ctx)]


@router.get("/gateway/adt/warnings")
def list_warnings(ctx: Ctx = Depends(get_ctx)) -> list[WarningRead]:
    return [_warning(w) for w in adt_service.warnings(ctx)]


@router.post("/gateway/adt/files")
async def upload_adt_file(data: SignedFile, ctx: Ctx = Depends(get_ctx)) -> list[ThresholdRead]:
    rows = await run_in_threadpool(adt_service.upload_adt_file, ctx, data.content.encode("utf-8"), data.signature,
                                   load_keystore(ctx.settings))
    return [_threshold(t) for t in rows]


@router.get("/gateway/quarantine")
def list_quarantined(ctx: Ctx = Depends(get_ctx), status: QuarantineStatus | None = None) -> list[QuarantinedRead]:
    return [_quarantined(q) for q in adt_service.quarantined(ctx, status=status)]


@router.post("/gateway/quarantine/actions")
async def apply_action_file(data: SignedFile, ctx: Ctx = Depends(get_ctx)) -> ActionRead:
    outcome = await run_in_threadpool(adt_service.apply_action_file, ctx, data.content.encode("utf-8"),
                                      data.signature)
    return ActionRead(officer=outcome.officer, released=[q.request_id for q in outcome.released],
                      deleted=[q.request_id for q in outcome.deleted])
