"""The northbound cache on NATS JetStream (``GBSMART_MESSAGE_ENGINE=jetstream``; issue 12 point 1, decision 0029).

The dispatcher is the embedded one (``alerts.northbound``: classes, round-robin, capacity, back-off); what changes
is where a message is durable:

- **The cache is a stream**, ``<request stream>_NORTHBOUND``, subjects ``<prefix>-nb.<User's 16 hex>.<class>``:
  one subject per User and priority class. File storage, the request log's replicas (3 in a cluster),
  ``Nats-Msg-Id`` = the message id (a put repeated within the 10-minute duplicate window is stored once), and a
  ``max_age`` of the longest retention in traffic.toml plus a day: only a backstop, since each message is expired
  by gbsmart at its own ``expires_at`` and reported, never dropped silently.
- **A put is acknowledged once JetStream has it** (its PubAck: in a cluster, a quorum of replicas). It is then
  durable even if this process and PostgreSQL are lost. Its row in ``northbound_messages`` (what the portal,
  the reports and the User's "seen" mark read) is written behind, in the writer's batches; the message is
  dispatched once its row is committed, so every delivery finds its row.
- **The stream holds exactly the messages not yet done.** A message delivered (2xx) or expired is recorded in its
  row first, and deleted from the stream after that commit. A crash between the two leaves it in the stream, and
  the next start deletes it (its row says it is done).
- **On start** (a restart, or another process taking the background lease over) every message in the stream is
  read; a row missing for one (the process died before writing it behind) is written; then the rows not done are
  loaded and sent, as the embedded engine does.
- **NATS unavailable** (a node's leader election, a restart): a put waits and publishes again with the same
  Msg-Id, as the embedded writer waits for its database; callers see back-pressure, nothing is lost.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from nats.errors import ConnectionClosedError
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, NotFoundError
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.alerts.enums import OutboundKind
from gbsmart.alerts.northbound import Northbound, Outbound, Renderer, _Write
from gbsmart.alerts.traffic import Traffic
from gbsmart.config import Settings
from gbsmart.core.clock import Clock
from gbsmart.gateway.jetstream import DUPLICATE_WINDOW_S, JetStreamLog, _ensure_stream, subject_token
from gbsmart.gateway.log import LogClosed

log = logging.getLogger("gbsmart.alerts.northbound")

STREAM_SUFFIX = "_NORTHBOUND"
_H_MSG_ID = "Nats-Msg-Id"
#: publishes of one put in flight at once (a storm's batch of 1,000 goes out together, PubAcks awaited together)
_IN_FLIGHT = 1024


def _encode(item: Outbound) -> bytes:
    def at(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return json.dumps({"id": item.message_id, "user": item.user_id, "kind": item.kind.value,
                       "priority": item.priority, "created": at(item.created_at), "payload": item.payload,
                       "body": base64.b64encode(item.body).decode() if item.body is not None else None,
                       "code": item.code, "alert": item.alert_id, "deadline": at(item.deadline_at),
                       "expires": at(item.expires_at)}, separators=(",", ":")).encode()


def _decode(data: bytes) -> Outbound:
    d = json.loads(data)

    def at(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    created = at(d["created"])
    assert created is not None
    return Outbound(message_id=d["id"], user_id=d["user"], kind=OutboundKind(d["kind"]), priority=d["priority"],
                    created_at=created, payload=d.get("payload") or {},
                    body=base64.b64decode(d["body"]) if d.get("body") is not None else None, code=d.get("code", ""),
                    alert_id=d.get("alert"), deadline_at=at(d.get("deadline")), expires_at=at(d.get("expires")))


def stream_config(name: str, prefix: str, traffic: Traffic, replicas: int) -> StreamConfig:
    longest = max(traffic.retention.values(), default=timedelta(days=2))
    return StreamConfig(name=name, subjects=[f"{prefix}-nb.>"], storage=StorageType.FILE, num_replicas=replicas,
                        duplicate_window=DUPLICATE_WINDOW_S, max_age=(longest + timedelta(days=1)).total_seconds(),
                        discard=DiscardPolicy.OLD)


class JetStreamNorthbound(Northbound):
    """The Northbound with its messages durable in a JetStream stream; see the module docstring."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock, *,
                 request_log: JetStreamLog, renderers: Mapping[OutboundKind, Renderer],
                 publish_timeout: float = 5.0, **more: Any) -> None:
        super().__init__(sessions, settings, clock, renderers=renderers, **more)
        self._js: JetStreamContext = request_log._js
        self.stream = f"{request_log.stream}{STREAM_SUFFIX}"
        self._prefix = request_log.prefix
        self._replicas = settings.nats_replicas
        self._publish_timeout = publish_timeout
        self._publishing = asyncio.Semaphore(_IN_FLIGHT)
        self._seqs: dict[str, int] = {}  # message id -> its stream sequence, while it is not done
        self._published: dict[str, tuple[int, bool]] = {}  # put, row not yet committed: (seq, a duplicate)
        self._deletes: list[int] = []
        self._delete_wake = asyncio.Event()
        self._deleter: asyncio.Task[None] | None = None
        self._stopping = False
        #: publishes sent again (no PubAck in time, no stream leader for a moment, NATS reconnecting)
        self.republished = 0
        #: messages deleted from the stream once done (delivered or expired, their rows committed)
        self.deleted = 0

    def subject(self, item: Outbound) -> str:
        return f"{self._prefix}-nb.{subject_token(item.user_id)}.{item.priority}"

    # ------------------------------------------------------------ life cycle

    async def start(self) -> int:
        await _ensure_stream(self._js, stream_config(self.stream, self._prefix, self.traffic, self._replicas), 30.0)
        stored = await self._read_stream()
        if stored:  # rows the last holder had not yet written behind
            items = [item for _, item in stored]
            rows = [self._row(item) for item in items]
            await asyncio.to_thread(self._write, [_Write(rows=rows, items=items)])
        kept = await super().start()
        done = []
        for seq, item in stored:
            if item.message_id in self._known:
                self._seqs[item.message_id] = seq
            else:
                done.append(seq)  # its row says delivered or expired: only the stream's copy was left
        self._queue_deletes(done)
        self._deleter = asyncio.get_running_loop().create_task(self._delete_forever(), name="northbound-deletes")
        log.info("northbound cache on JetStream stream %s: %d messages stored, %d to send, %d already done",
                 self.stream, len(stored), kept, len(done))
        return kept

    async def close(self) -> None:
        self._stopping = True
        await super().close()
        if self._deleter is not None:  # the deletes of what the last writes recorded, given a few seconds
            self._delete_wake.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    while self._deletes:
                        await asyncio.sleep(0.05)
            self._deleter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._deleter
            self._deleter = None

    async def _read_stream(self) -> list[tuple[int, Outbound]]:
        """Every message in the stream, in order (an ephemeral reader of one replica in memory)."""
        info = await self._js.stream_info(self.stream)
        if info.state.messages == 0:
            return []
        last = info.state.last_seq
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=60.0,
                                num_replicas=1, mem_storage=True)
        subscription = await self._js.pull_subscribe(f"{self._prefix}-nb.>", stream=self.stream, config=config)
        out: list[tuple[int, Outbound]] = []
        stalls = 0
        try:
            while True:
                try:
                    messages = await subscription.fetch(512, timeout=2.0)
                except NatsTimeout:
                    # the stream may have lost messages below last_seq (deleted): ask where it now ends
                    info = await self._js.stream_info(self.stream)
                    position = out[-1][0] if out else 0
                    if info.state.messages == 0 or info.state.last_seq <= position:
                        break
                    stalls += 1
                    if stalls >= 5:
                        raise LogClosed(f"reading the northbound stream {self.stream} stalled after message "
                                        f"{position} of {info.state.last_seq}") from None
                    continue
                stalls = 0
                for message in messages:
                    seq = message.metadata.sequence.stream
                    try:
                        out.append((seq, _decode(message.data or b"")))
                    except (ValueError, KeyError, TypeError) as exc:
                        log.error("northbound stream %s message %d is not a gbsmart message (%s): left there",
                                  self.stream, seq, exc)
                if messages and (messages[-1].metadata.num_pending == 0
                                 or messages[-1].metadata.sequence.stream >= last):
                    break
        finally:
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        return out

    # ------------------------------------------------------------ putting

    async def _keep(self, fresh: list[Outbound], rows: list[dict[str, Any]], urgent: bool) -> None:
        """Durable once every PubAck is in; the rows are written behind (dispatch follows their commit)."""
        try:
            acks = await asyncio.gather(*(self._publish(item, urgent) for item in fresh))
        except BaseException:
            self._known.difference_update(item.message_id for item in fresh)
            raise
        for item, ack in zip(fresh, acks, strict=True):
            self._published[item.message_id] = ack
        write = _Write(rows=rows, items=fresh, counted=not urgent)
        if urgent:
            self._urgent.append(write)
            self._idle.clear()
            self._write_wake.set()
        else:
            await self._queue(write)

    async def _publish(self, item: Outbound, urgent: bool) -> tuple[int, bool]:
        """(stream sequence, whether JetStream already had it): published again until acknowledged."""
        data, subject, headers = _encode(item), self.subject(item), {_H_MSG_ID: item.message_id}
        delay, warned = 0.1, False
        async with contextlib.nullcontext() if urgent else self._publishing:
            while True:
                try:
                    ack = await self._js.publish(subject, data, headers=headers, timeout=self._publish_timeout)
                    return int(ack.seq), bool(ack.duplicate)
                except ConnectionClosedError:
                    raise LogClosed(f"northbound message {item.message_id} was not kept: the connection to NATS "
                                    "is closed") from None
                except APIError as exc:
                    if (exc.code or 0) < 500:
                        raise LogClosed(f"JetStream refused northbound message {item.message_id}: "
                                        f"{exc.description}") from None
                    reason = exc.description or str(exc)
                except (TimeoutError, NatsError) as exc:  # no PubAck, no stream leader for a moment, reconnecting
                    reason = str(exc) or type(exc).__name__
                if self._stopping:
                    raise LogClosed(f"northbound message {item.message_id} was not kept: stopping ({reason})")
                if not warned:
                    log.warning("JetStream did not acknowledge northbound message %s (%s): publishing it again "
                                "until it does", item.message_id, reason)
                    warned = True
                self.republished += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    # ------------------------------------------------------------ after each commit of the writer

    def _committed(self, writes: list[_Write]) -> None:
        deletes = []
        for write in writes:
            if write.items is not None:
                new = {item.message_id for item in write.new}
                for item in write.items:
                    published = self._published.pop(item.message_id, None)
                    if published is None:  # recovered from the stream at start: its seq is set there
                        continue
                    seq, duplicate = published
                    if item.message_id in new:
                        self._seqs[item.message_id] = seq
                    elif not duplicate:
                        deletes.append(seq)  # a second copy of a message whose row was already done
            for message_id, values in write.updates or ():
                if values.get("delivered_at") is not None or values.get("expired_at") is not None:
                    done = self._seqs.pop(message_id, None)
                    if done is not None:
                        deletes.append(done)
        self._queue_deletes(deletes)

    def _queue_deletes(self, seqs: Sequence[int]) -> None:
        if seqs:
            self._deletes.extend(seqs)
            self._delete_wake.set()

    async def _delete_forever(self) -> None:
        while True:
            await self._delete_wake.wait()
            self._delete_wake.clear()
            while self._deletes:
                batch, self._deletes = self._deletes[:512], self._deletes[512:]
                results = await asyncio.gather(*(self._delete(seq) for seq in batch), return_exceptions=True)
                failed = [seq for seq, ok in zip(batch, results, strict=True) if ok is not True]
                self.deleted += len(batch) - len(failed)
                if failed:  # NATS unavailable: kept, tried again (and a restart deletes them anyway)
                    log.warning("%d done northbound messages could not be deleted from %s yet; trying again",
                                len(failed), self.stream)
                    self._deletes.extend(failed)
                    await asyncio.sleep(1.0)

    async def _delete(self, seq: int) -> bool:
        try:
            await self._js.delete_msg(self.stream, seq)
        except NotFoundError:
            pass  # already gone (deleted before a crash, or aged out)
        except APIError as exc:
            if exc.err_code not in (10037, 10057):  # no message found / already deleted
                raise
        return True

    # ------------------------------------------------------------ what the stream holds

    async def stored(self) -> dict[str, dict[str, int]]:
        """User -> priority class -> messages in the stream (waiting or in flight), from JetStream's subject
        counts."""
        info = await self._js.stream_info(self.stream, subjects_filter=f"{self._prefix}-nb.>")
        out: dict[str, dict[str, int]] = {}
        for subject, count in (info.state.subjects or {}).items():
            token, _, priority = subject[len(self._prefix) + 4:].partition(".")
            user = "-".join(token[i:i + 2] for i in range(0, 16, 2)).upper() if len(token) == 16 else token
            out.setdefault(user, {})[priority] = int(count)
        return out
