"""JSON API of the gateway's message path: /api/v1/gateway/messages, /gateway/trt, /gateway/users/.../certificates.

The messages are the gateway's journal (``gateway.messages``), seen as the portal shows them; certificates are
loaded with the same check as ``gbsmart gateway add-certificate`` (``gateway.certificates``).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.types import DbId
from gbsmart.gateway import certificates, messages
from gbsmart.gateway.enums import MessageState, TrtClass
from gbsmart.gateway.schemas import CertificateRead, MessagePage, MessageRead, TrtSummaryRead
from gbsmart.models.gateway import GatewayMessage
from gbsmart.web.deps import get_ctx

router = APIRouter(prefix="/gateway", tags=["gateway"])


def message_read(ctx: Ctx, m: GatewayMessage) -> MessageRead:
    return MessageRead.model_validate({**{c: getattr(m, c) for c in MessageRead.model_fields if c != "trt_outcome"},
                                       "trt_outcome": messages.outcome(ctx, m)})


def trt_seconds(ctx: Ctx, trt_class: TrtClass) -> float:
    return float(getattr(ctx.settings, f"trt_{trt_class.value}_seconds"))


def filters(request_id: str | None = Query(None, description="The whole RequestID: originator:target:counter"),
            device: str | None = Query(None, description="The target Device ID (EUI-64)"),
            originator: str | None = Query(None, description="The sending DCC User ID (EUI-64)"),
            srv: str | None = Query(None, max_length=12, description="Service Reference Variant, e.g. 4.1.1"),
            code: str | None = Query(None, max_length=8, description="DUIS Response Code, e.g. I99 or E4"),
            state: MessageState | None = Query(None),
            trt_class: TrtClass | None = Query(None),
            received_from: datetime | None = Query(None, description="Received at or after (ISO 8601)"),
            received_to: datetime | None = Query(None, description="Received before (ISO 8601)")) \
        -> messages.MessageFilters:
    return messages.make_filters(request_id=request_id, device=device, originator=originator, srv=srv, code=code,
                                 state=state.value if state else None, trt_class=trt_class.value if trt_class else None,
                                 received_from=received_from, received_to=received_to)


@router.get("/messages", response_model=MessagePage,
            summary="Your DCC Users' DUIS requests and responses, newest first (keyset-paged)")
def list_messages(ctx: Ctx = Depends(get_ctx), f: messages.MessageFilters = Depends(filters),
                  cursor: str | None = None, limit: int = Query(messages.PAGE_SIZE, ge=1, le=messages.MAX_LIMIT)) \
        -> MessagePage:
    page = messages.search(ctx, f, cursor, limit)
    return MessagePage(items=[message_read(ctx, m) for m in page.items], next_cursor=page.next_cursor)


@router.get("/messages/{message_id}", response_model=MessageRead, summary="One message with its TRT outcome")
def get_message(message_id: DbId, ctx: Ctx = Depends(get_ctx)) -> MessageRead:
    return message_read(ctx, messages.get(ctx, message_id))


@router.get("/trt", response_model=list[TrtSummaryRead],
            summary="Per TRT class: messages, met, missed, pending and the share within TRT (same filters)")
def trt(ctx: Ctx = Depends(get_ctx), f: messages.MessageFilters = Depends(filters)) -> list[TrtSummaryRead]:
    return [TrtSummaryRead(trt_class=r.trt_class, label=r.trt_class.label, trt_seconds=trt_seconds(ctx, r.trt_class),
                           messages=r.messages, met=r.met, missed=r.missed, pending=r.pending,
                           within_percent=r.within_percent) for r in messages.trt_summary(ctx, f)]


def _certificate_read(info: certificates.CertificateInfo) -> CertificateRead:
    return CertificateRead(user_id=info.user_id, serial=str(info.serial), issuer=info.issuer, subject=info.subject,
                           valid_from=info.valid_from, valid_to=info.valid_to)


@router.get("/users/{user_id}/certificates", response_model=list[CertificateRead],
            summary="The organisation certificates the gateway verifies this User ID's signatures against")
def list_certificates(user_id: str, ctx: Ctx = Depends(get_ctx)) -> list[CertificateRead]:
    return [_certificate_read(i) for i in certificates.list_certificates(ctx, user_id)]


async def _capped_body(request: Request) -> bytes:
    limit = certificates.MAX_CERTIFICATE_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Invalid(f"The body is {int(declared):,} bytes; a certificate upload may be at most {limit:,}.",
                      status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Invalid(f"The body is more than {limit:,} bytes, the most a certificate upload may be.", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/users/{user_id}/certificates", response_model=list[CertificateRead], status_code=201,
             summary="Load an organisation certificate for one of your User IDs (PEM or DER as the body)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-pem-file": {"schema": {"type": "string"}},
                 "application/pkix-cert": {"schema": {"type": "string", "format": "binary"}}}}})
async def add_certificates(user_id: str, request: Request, ctx: Ctx = Depends(get_ctx)) -> list[CertificateRead]:
    data = await _capped_body(request)
    infos = await run_in_threadpool(certificates.add_certificates, ctx, user_id, data, source="API upload")
    return [_certificate_read(i) for i in infos]
