"""After a restart (a clean stop or a ``kill -9``): the device requests accepted but not yet completed.

The request log is the durable truth of what was accepted; the journal is written in batches and may lag it.
A Send Command request still needs its device response when it is in the log and has no ``gateway_responses``
row. To avoid reading the whole log at every start, the scan starts at the lowest log sequence number that
can still need one: the lowest of the journal's acknowledged Send Command rows without a response, and the
journal's highest ``log_seq`` less ``reorder_margin`` (rows reach the journal in about, not exactly, log
order: at most the log's ``max_pending`` appends are in flight at once). Every record after that is read, so
rows the journal never got are found too; their journal row is written first (acknowledged), then each request
goes to the simulator again. Responses already kept are not remade: ``Delivery.start`` sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.config import Settings
from gbsmart.gateway.duis import DuisCodec, DuisRequest
from gbsmart.gateway.enums import MessageState, TrtClass
from gbsmart.gateway.jetstream import JetStreamLog
from gbsmart.gateway.journal import JournalEntry, trt_for
from gbsmart.gateway.log import LogRecord, RequestLog
from gbsmart.gateway.matrix import WebService, request_matrix
from gbsmart.models.delivery import GatewayResponse
from gbsmart.models.gateway import GatewayMessage

#: rows reach the journal within this many log records of their order (the request log's ``max_pending``)
REORDER_MARGIN = 8192


@dataclass(frozen=True, slots=True)
class Unfinished:
    """An accepted device request with no kept response; ``journalled``: its journal row exists."""

    record: LogRecord
    request: DuisRequest
    journalled: bool


@dataclass(frozen=True, slots=True)
class Repair:
    """A journal row that lags its kept response (the journal's update was lost in the crash)."""

    originator: str
    counter: int
    values: dict[str, Any]


def scan_start(session: Session, reorder_margin: int = REORDER_MARGIN) -> int:
    """The first log sequence number that may still need a device response (or a firmware payload's delivery)."""
    highest = session.scalar(select(func.max(GatewayMessage.log_seq))) or 0
    lowest_open = session.scalar(
        select(func.min(GatewayMessage.log_seq)).where(
            GatewayMessage.state == MessageState.ACKNOWLEDGED.value,
            or_(GatewayMessage.service == WebService.SEND_COMMAND.value,
                GatewayMessage.trt_class == TrtClass.FIRMWARE.value), GatewayMessage.log_seq.is_not(None),
            ~exists().where(GatewayResponse.originator == GatewayMessage.originator,
                            GatewayResponse.counter == GatewayMessage.counter)))
    start = max(1, highest - reorder_margin + 1)
    return min(start, lowest_open) if lowest_open is not None else start


def unfinished(sessions: sessionmaker[Session], log: RequestLog | JetStreamLog, codec: DuisCodec,
               reorder_margin: int = REORDER_MARGIN, *, firmware_srvs: frozenset[str] = frozenset()
               ) -> tuple[list[Unfinished], list[Unfinished], list[Repair]]:
    """(requests to complete, logged requests whose journal row is missing although their response is kept,
    journal rows to bring up to their kept response); run in a worker thread before the gateway serves. Besides the
    Send Command requests, the Non-Device ones of ``firmware_srvs`` (their payloads' delivery) are completed too."""
    with sessions() as session:
        start = scan_start(session, reorder_margin)
        kept = set(session.scalars(select(GatewayResponse.log_seq).where(GatewayResponse.log_seq >= start)))
        journalled = set(session.scalars(select(GatewayMessage.log_seq).where(GatewayMessage.log_seq >= start)))
        lagging = session.execute(
            select(GatewayResponse.originator, GatewayResponse.counter, GatewayResponse.code,
                   GatewayResponse.completed_at, GatewayResponse.delivered_at, GatewayResponse.attempts,
                   GatewayResponse.last_error, GatewayMessage.state)
            .outerjoin(GatewayMessage, and_(GatewayMessage.originator == GatewayResponse.originator,
                                            GatewayMessage.counter == GatewayResponse.counter,
                                            GatewayMessage.state != MessageState.REFUSED.value))
            .where(GatewayResponse.log_seq >= start))
        repairs = []
        for row in lagging:
            state = (MessageState.DELIVERED if row.delivered_at is not None else
                     MessageState.UNDELIVERED if row.attempts or row.last_error else MessageState.COMPLETED)
            if row.state != state.value:
                repairs.append(Repair(row.originator, row.counter, {
                    "state": state, "code": row.code, "completed_at": row.completed_at,
                    "delivered_at": row.delivered_at}))
    to_complete, to_journal = [], []
    for record in log.read_from(start):
        if record.service == WebService.SEND_COMMAND.value:
            request = codec.parse(record.body)
        elif record.service == WebService.NON_DEVICE.value and firmware_srvs:
            request = codec.parse(record.body)
            if request.service_reference_variant not in firmware_srvs:
                continue
        else:
            continue
        if record.seq not in kept:
            to_complete.append(Unfinished(record, request, record.seq in journalled))
        elif record.seq not in journalled:
            to_journal.append(Unfinished(record, request, False))
    return to_complete, to_journal, repairs


def journal_entry(settings: Settings, item: Unfinished) -> JournalEntry:
    """The acknowledged journal row of a logged request the journal never got (rebuilt from the log)."""
    request, record = item.request, item.record
    service = WebService(record.service)
    trt_class, due_at = trt_for(settings, request_matrix().get(request.service_reference_variant), service,
                                record.received_at)
    rid = request.request_id
    return JournalEntry(
        request_id=str(rid), originator=rid.originator, target=rid.target, counter=rid.counter,
        srv=request.service_reference_variant, command_variant=request.command_variant, service=service.value,
        state=MessageState.ACKNOWLEDGED.value, code="I99", received_at=record.received_at,
        trt_class=trt_class.value, due_at=due_at, log_seq=record.seq)
