"""The DCC gateway server: DUIS over HTTP on DCC Boxed's paths, a raw ASGI app under uvicorn (decision 0020).

``POST /api/v1/serviceS`` (Send Command), ``/api/v1/serviceT`` (Transform), ``/api/v1/serviceD`` (Non-Device),
``application/xml`` in and out. Each request goes through one pipeline, in this order:

1. media type (415) and size (413, read no further than the limit);
2. parse once: hardened XML, DUIS schema, header (400 with the codec's message);
3. XML Signature against the originator's certificate in the keystore (400; 403 for another User's key), the
   certificate within its dates at receipt (``gateway.validity``; a Signed Pre-Command, Command Variants 5 to
   7, then goes to ``gateway.transform``, which matches it to its Pre-Command instead of step 4's counter);
4. RequestID counter strictly above the originator's last accepted one (409: a replay or a decrease; no DUIS
   Response Code describes it that we know of, decision 0020);
5. authorisation (``gateway.authorise``): a refusal is a signed DUIS Response with its E-code, the plain-English
   reason in the ``X-DUIS-Explanation`` header;
6. the durable log (``gateway.log``): the request is fsynced before anything is answered; then the Anomaly
   Detection Thresholds (``gateway.adt_gate``): a request over a quarantine threshold is held, journalled
   quarantined and answered I99 with ``X-DUIS-Quarantined`` (decision 0026), one over a warning threshold warned;
7. the answer, signed with the DCC's key: at Transform, I0 with the Pre-Command (``gateway.transform``); I99
   for a device request; for a non-device request the synchronous
   answer of ``gateway.nondevice`` (8.2, 8.4, 8.14.x, 12.1, 12.2, acting on the SMI), others I99 until their
   processing exists (docs/gateway.md);
8. a Send Command request then goes to the device simulator (``gbsmart.simulator``), whose signed I0 / E20 /
   E21 Response is kept and POSTed to the User's registered endpoint.

A refusal at steps 1 to 4 is an HTTP 4xx with a plain message (no DUIS Response: the request is not, or not
provably, the User's); nothing is logged and no state changes. An unexpected error is a 500 with a plain
message, logged; the server keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from gbsmart.alerts.dcc import DccAlertSources
from gbsmart.alerts.enums import OutboundKind
from gbsmart.alerts.northbound import Northbound, Outbound, Renderer
from gbsmart.alerts.outage import OutageTracker
from gbsmart.config import Settings
from gbsmart.core import codes
from gbsmart.core.clock import Clock, SystemClock
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.core.errors import Invalid
from gbsmart.core.logs import configure as configure_logging
from gbsmart.gateway import nondevice
from gbsmart.gateway.adt_gate import AdtGate, quarantine_explanation
from gbsmart.gateway.authorise import AuthorisationIndex, authorise
from gbsmart.gateway.duis import DuisCodec, DuisRequest
from gbsmart.gateway.enums import MessageState
from gbsmart.gateway.errors import BodyTooLarge, DuisRefused
from gbsmart.gateway.fastsig import sign, verify_request  # signxml-checked fast path (decision 0023)
from gbsmart.gateway.health import HEALTH_PATH, METRICS_PATH, Health
from gbsmart.gateway.jetstream import AdtShare, DeviceWork, JetStreamLog, Lease, WorkItem
from gbsmart.gateway.journal import Journal, JournalEntry, trt_for
from gbsmart.gateway.keystore import KeyEntry, Keystore
from gbsmart.gateway.log import CounterNotIncreasing, LogClosed, RequestLog
from gbsmart.gateway.matrix import ServiceRequestVariant, WebService, request_matrix
from gbsmart.gateway.responses import acknowledgement, response
from gbsmart.gateway.sequencer import RemoteLog
from gbsmart.gateway.store import DccSigner, certificates_dir, dcc_signer, load_keystore
from gbsmart.gateway.transform import PreCommands, is_signed_pre_command
from gbsmart.gateway.validity import check_validity
from gbsmart.gateway.workers import open_log
from gbsmart.gateway.xml import SUG_NS, check_media_type
from gbsmart.simulator.responses import DeviceResponses
from gbsmart.smi.lookup import StatusIndex
from gbsmart.smi.rules import eui64_to_int

log = logging.getLogger("gbsmart.gateway")

PATHS = {service.path: service for service in WebService}
ALERTS_PATH = "/api/v1/alerts"  # gbsmart.alerts.source_api
XML = b"application/xml"
TEXT = b"text/plain; charset=utf-8"
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


class HttpRefusal(Exception):
    """An HTTP-level refusal (404, 405, 409) with a plain message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Gateway:
    """The ASGI app. ``start`` loads keystore, indexes, signer and log; ``stop`` closes the log."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.codec = DuisCodec.from_settings(settings)
        self.keystore = Keystore()
        self.index: AuthorisationIndex | None = None
        self.signer: DccSigner | None = None
        self.log: RequestLog | RemoteLog | JetStreamLog | None = None
        self.work: DeviceWork | None = None  # the jetstream engine: Send Commands to the simulator's process
        self.started = False
        self.lease: Lease | None = None  # the jetstream engine with gateway_background_lease
        self._leasing: asyncio.Task[None] | None = None
        self.health = Health(self, lambda: (settings.gateway_metrics_token.get_secret_value()
                                            if settings.gateway_metrics_token else None))
        self.journal: Journal | None = None
        self.responses: DeviceResponses | None = None  # the device simulator and delivery (gbsmart.simulator)
        self.pre_commands = PreCommands(settings)  # Transform and Signed Pre-Commands (gateway.transform)
        self.adt: AdtGate | None = None
        self.adt_share: AdtShare | None = None
        self._engine: Any = None
        self._sessions: Any = None
        self._refresher: asyncio.Task[None] | None = None
        # issue 11: the power outage tracker and the DCC Alert sources (their on_delivered go on northbound_hooks)
        self.outage: OutageTracker | None = None  # the intake hands it the hubs' power notices
        self.dcc_alerts: DccAlertSources | None = None
        self._ed_users_of: tuple[int, dict[int, str]] = (0, {})
        # the alert intake (gbsmart.alerts.intake): device alerts in-process and on POST /api/v1/alerts
        self.alerts: Any = None
        self.alert_api: Any = None
        self.spurious: Any = None
        # the northbound cache (issue 11, alerts.northbound): every message to a User goes through it. Renderers
        # by kind (alerts.messages.renderers) and on_delivered hooks (the outage tracker's) are added before start.
        self.northbound: Northbound | None = None
        self.northbound_renderers: dict[OutboundKind, Renderer] = {}
        self.northbound_hooks: list[Callable[[Outbound, datetime], None]] = []

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        self._engine = make_engine(self.settings.resolved_database_url())
        self._sessions = make_sessionmaker(self._engine)
        self.keystore = load_keystore(self.settings)
        self.signer = dcc_signer(self.settings, self.clock.now())
        with self._sessions() as session:
            self.index = AuthorisationIndex.load(session)
        self.log = await open_log(self.settings)  # the file; in a worker process the sequencer's (decision 0025);
        # or JetStream's, shared by every gateway process (decision 0029)
        if isinstance(self.log, JetStreamLog):
            self.work = await DeviceWork.open(self.log, replicas=self.settings.nats_replicas)
        self.journal = Journal(self._sessions, batch=self.settings.gateway_journal_batch)
        self.journal.start()
        self.pre_commands.start(self._sessions)
        self.adt = AdtGate(self.settings, self._sessions, self.clock)
        shared = 0
        if isinstance(self.log, JetStreamLog):  # the thresholds hold over every process together
            self.adt_share = await AdtShare.open(self.log, self.adt.counters, self.clock.now,
                                                 interval=self.settings.gateway_adt_share_seconds,
                                                 ttl=max(86_400.0, 2.0 * self.settings.adt_period_seconds),
                                                 replicas=self.settings.nats_replicas)
            shared = await self.adt_share.read_others()
        await self.adt.start(self.clock.now(), rebuild=not shared)
        if self.adt_share is not None:
            self.adt_share.start()
        if isinstance(self.log, JetStreamLog) and self.settings.gateway_background_lease:
            self.lease = await Lease.open(self.log, ttl=self.settings.gateway_lease_seconds,
                                          replicas=self.settings.nats_replicas)
            await self.lease.try_acquire()
            self._leasing = asyncio.get_running_loop().create_task(self._lease_forever(), name="gateway-lease")
        if self.background:
            await self._start_background()
        from gbsmart.alerts.source_api import AlertSourceApi

        self.alert_api = AlertSourceApi(self.settings, self.clock, lambda: self.alerts)
        # ---- end of the alerts
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever(), name="gateway-refresh")
        self.started = True
        log.info("gateway ready: %d Users, %d registrations, %d devices, %d certificates", len(self.index.users),
                 len(self.index.registrations), len(self.index.devices), len(self.keystore))

    async def _start_background(self) -> None:
        """The northbound cache, the device simulator and the alerts: one process of the gateway runs them (the
        embedded one; with the jetstream engine the one with gateway_background, or the lease's holder)."""
        # ---- the northbound cache (issue 11, alerts.northbound): every message to a User goes out through it,
        # device responses included; one process only (in a --workers N worker the supervisor delivers)
        from gbsmart.alerts.messages import renderers

        # alerts' bodies are made when sent, the common ones from their signed shapes (alerts.messages)
        self.northbound_renderers.update(renderers(self._sign, signing=self._signing))
        if isinstance(self.log, JetStreamLog):  # the cache in a stream beside the request log (decision 0029)
            from gbsmart.alerts.northbound_stream import JetStreamNorthbound

            self.northbound = JetStreamNorthbound(self._sessions, self.settings, self.clock, request_log=self.log,
                                                  renderers=self.northbound_renderers,
                                                  on_delivered=self._northbound_delivered,
                                                  on_failed=self._northbound_failed)
        else:
            self.northbound = Northbound(self._sessions, self.settings, self.clock,
                                         renderers=self.northbound_renderers, on_delivered=self._northbound_delivered,
                                         on_failed=self._northbound_failed)
        kept = await self.northbound.start()
        log.info("northbound cache: %d messages kept to deliver", kept)
        # in a --workers N worker (a RemoteLog) the supervisor runs the one simulator instead (decision 0025)
        if self.settings.simulator_enabled:
            assert isinstance(self.log, RequestLog | JetStreamLog)
            self.responses = DeviceResponses(self.settings, self._sessions, clock=self.clock, sign=self._sign,
                                             journal=self.journal, devices=lambda: self.index.devices,  # type: ignore
                                             northbound=self.northbound)
            await self.responses.start(self.log, self.codec)
            if self.work is not None:  # every process's Send Commands, those recovered above not given twice
                self.work.seen.update(self.responses.recovered_seqs)
                self.work.start(self._device_work)
        # ---- the alerts (issue 11): the outage tracker and the DCC Alert sources (alerts.outage, alerts.dcc), then
        # the intake of device alerts (alerts.intake), which hands the hubs' power notices to the tracker; all on the
        # Northbound, so one process only: without it (a --workers N worker) POST /api/v1/alerts answers 503
        from gbsmart.alerts.intake import AlertIntake
        from gbsmart.alerts.spurious import SpuriousAlerts

        if self.northbound is not None:
            self.outage = OutageTracker(self._sessions, self.settings, self.clock, northbound=self.northbound,
                                         premises=self.premises)
            self.dcc_alerts = DccAlertSources(self._sessions, self.settings, self.clock, northbound=self.northbound,
                                              rule=self.outage.rule)
            self.northbound_hooks.append(self.outage.on_delivered)
            self.northbound_hooks.append(self.dcc_alerts.on_delivered)
            await self.outage.start()
            await self.dcc_alerts.start()
            self.alerts = AlertIntake(self._sessions, self.settings, self.clock, northbound=self.northbound,
                                      index=self._index_now, outage=self.outage)
            await self.alerts.start()
            self.spurious = SpuriousAlerts.from_settings(self.settings, self.alerts, self.clock)
            if self.spurious is not None:
                self.spurious.start()
        log.info("this gateway process runs the background work (simulator, northbound cache, alerts)")

    async def _lease_forever(self) -> None:
        """Hold the background lease (renewed every third of its TTL), or take it when its holder has gone."""
        assert self.lease is not None
        while True:
            await asyncio.sleep(self.lease.ttl / 3)
            try:
                if self.lease.held:
                    if not await self.lease.renew():  # another process holds it now: two must never run it
                        log.error("the background lease was lost (this process was too slow to renew it); "
                                  "stopping, so that only its new holder runs the background work")
                        os.kill(os.getpid(), signal.SIGTERM)
                        return
                elif await self.lease.try_acquire():
                    log.info("took the background lease from a gateway process that has gone")
                    await self._start_background()
            except Exception:
                log.exception("the background lease could not be read or renewed; trying again")

    async def stop(self) -> None:
        self.started = False  # /healthz: unavailable from now on, so a load balancer stops sending here
        for task in (self._refresher, self._leasing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.spurious is not None:  # the alerts: before the Northbound closes
            await self.spurious.close()
        if self.alerts is not None:
            await self.alerts.close()
        if self.adt is not None:
            await self.adt.stop()
        if self.adt_share is not None:  # its last counts, for the processes that go on
            await self.adt_share.close()
        if self.dcc_alerts is not None:  # before the Northbound closes
            await self.dcc_alerts.close()
        if self.outage is not None:
            await self.outage.close()
        if self.work is not None:  # before the simulator it feeds
            await self.work.close()
        if self.responses is not None:
            await self.responses.close()
        if self.northbound is not None:  # after the responses (they put on it), before the journal (its hooks)
            await self.northbound.close()
        if self.journal is not None:
            await self.journal.close()
        if self.lease is not None:  # after the background work stopped: another process may take it at once
            await self.lease.release()
        if self.log is not None:
            await self.log.close()
        if self._engine is not None:
            self._engine.dispose()

    def ready(self) -> tuple[bool, str]:
        """Can this process accept requests now? (False, why) while starting, stopping or cut off from its log."""
        if not self.started or self.log is None:
            return False, "the gateway is starting or stopping"
        if isinstance(self.log, JetStreamLog) and not self.log.connected:
            return False, "not connected to NATS JetStream (reconnecting)"
        return True, ""

    @property
    def background(self) -> bool:
        """Does this process run the simulator, the northbound cache and the alerts? The one embedded gateway
        process does (not a ``--workers N`` worker); with the jetstream engine, the one with gateway_background."""
        if isinstance(self.log, JetStreamLog):
            if self.settings.gateway_background_lease:
                return self.lease is not None and self.lease.held
            return self.settings.gateway_background
        return isinstance(self.log, RequestLog)

    async def _device_work(self, item: WorkItem) -> None:
        """A Send Command acknowledged by any gateway process (the jetstream engine), given to the simulator."""
        assert self.responses is not None
        request = self.codec.parse(item.body)
        await self.responses.submit(request, log_seq=item.log_seq, received_at=item.received_at)

    def premises(self, comms_hub_id: str) -> tuple[str | None, str | None]:
        """A Communications Hub's MPAN and its Electricity Distributor's User ID today (the outage tracker's)."""
        assert self.index is not None
        try:
            found = self.index.devices.status(eui64_to_int(comms_hub_id))
        except ValueError:
            return None, None
        mpxn = found[3] if found else None
        intake = getattr(self, "alerts", None)  # the intake knows a hub's meters when its own row has no MPAN
        if mpxn is None and intake is not None and hasattr(intake, "premises"):
            return intake.premises(comms_hub_id)  # type: ignore[no-any-return]
        registration = self.index.registrations.at(mpxn, self.clock.today()) if mpxn is not None else None
        if registration is None:
            return (None if mpxn is None else str(mpxn)), None
        users = self.index.users.users
        if self._ed_users_of[0] != id(users):  # rebuilt after each refresh of the Users
            ed: dict[int, str] = {}
            for user_id, entry in sorted(users.items()):
                if "ED" in entry.roles:
                    ed.setdefault(entry.organisation_id, user_id)
            self._ed_users_of = (id(users), ed)
        return str(mpxn), self._ed_users_of[1].get(registration.network_operator_org_id)

    def _index_now(self) -> AuthorisationIndex:
        """The authorisation index as it is now (the alert intake reads the SMI and registrations through it)."""
        assert self.index is not None
        return self.index

    def _northbound_delivered(self, item: Outbound, at: datetime) -> None:
        if item.kind is OutboundKind.RESPONSE and self.responses is not None:
            self.responses.delivery.northbound_delivered(item, at)
        for hook in self.northbound_hooks:  # one listener failing must not stop the others (or the delivery)
            try:
                hook(item, at)
            except Exception:
                log.exception("an on_delivered listener failed for %s", item.message_id)

    def _northbound_failed(self, item: Outbound, attempts: int, error: str) -> None:
        if item.kind is OutboundKind.RESPONSE and self.responses is not None:
            self.responses.delivery.northbound_failed(item, attempts, error)

    def refresh(self) -> None:
        """Re-read the authorisation data and the keystore (in the event loop: requests never see half of it)."""
        assert self.index is not None
        with self._sessions() as session:
            self.index.refresh(session)
        self.keystore = load_keystore(self.settings)
        self.pre_commands.refresh()
        if self.alert_api is not None:  # alert sources' certificates
            self.alert_api.refresh()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.gateway_refresh_seconds)
            try:
                self.refresh()
                if self.adt is not None:
                    await self.adt.refresh(self._process_released)
            except Exception:  # a failed refresh keeps the last good data; the next one tries again
                log.exception("gateway refresh failed")

    # ------------------------------------------------------------ ASGI

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        arrived = time.perf_counter()
        try:
            if scope["path"] in (HEALTH_PATH, METRICS_PATH):
                status, content_type, body, headers = self.health.handle(scope)
            else:
                status, content_type, body, headers = await self.handle(scope, receive)
        except LogClosed as exc:  # nothing was acknowledged: the client sends it again, here or to another process
            log.warning("request log unavailable on %s: %s", scope.get("path"), exc)
            status, content_type, body, headers = 503, TEXT, f"{exc}: it was not accepted, send it again " \
                                                               "later\n".encode(), [(b"retry-after", b"1")]
        except Exception:
            log.exception("gateway error on %s", scope.get("path"))
            status, content_type, body, headers = 500, TEXT, b"the gateway failed to process this request; it " \
                                                               b"was not accepted: send it again later\n", []
        self.health.observe(scope["path"], status, time.perf_counter() - arrived)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                                *headers]})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                except Exception as exc:
                    log.exception("gateway failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _body(self, scope: dict[str, Any], receive: Receive) -> bytes:
        limit = self.codec.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise BodyTooLarge(f"the body is {int(value)} bytes; the gateway accepts at most {limit}")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise HttpRefusal(400, "the client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"the body is more than {limit} bytes, the most the gateway accepts")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def handle(self, scope: dict[str, Any], receive: Receive) -> tuple[int, bytes, bytes, list]:
        """(HTTP status, content type, body, extra headers) for one HTTP request."""
        if scope["path"] == ALERTS_PATH and self.alert_api is not None:  # device alerts (gbsmart.alerts.source_api)
            return await self.alert_api.handle(scope, receive)  # type: ignore[no-any-return]
        try:
            service = PATHS.get(scope["path"])
            if service is None:
                raise HttpRefusal(404, f"no DUIS service at {scope['path'][:100]}: POST to "
                                       f"{', '.join(PATHS)}")
            if scope["method"] != "POST":
                raise HttpRefusal(405, f"{service.path} takes POST with a DUIS request (application/xml)")
            content_type = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"content-type"),
                                None)
            check_media_type(content_type)
            body = await self._body(scope, receive)
            return await self.process(service, body)
        except DuisRefused as exc:
            headers = [(b"x-duis-refusal", exc.reason.encode())]
            if meaning := codes.header_text(exc.reason, "gateway_refusal"):
                headers.append((b"x-duis-code-meaning", meaning.encode("ascii", "replace")))
            return exc.status, TEXT, f"{exc.message}\n".encode(), headers
        except HttpRefusal as exc:
            return exc.status, TEXT, f"{exc.message}\n".encode(), []

    async def process(self, service: WebService, body: bytes) -> tuple[int, bytes, bytes, list]:
        """The pipeline after transport checks: parse, verify, counter, authorise, log, answer, journal."""
        assert self.index is not None and self.log is not None
        received_at = self.clock.now()
        request = self.codec.parse(body)
        entry = verify_request(request, self.keystore)
        check_validity(self.settings, entry, received_at, what="DUIS XML signing",
                       directory=certificates_dir(self.settings))
        if is_signed_pre_command(request):  # repeats its Transform request's counter: matched to it instead
            return await self.pre_commands.signed_pre_command(self, request, service, entry, body, received_at)
        originator, counter = request.originator, request.request_id.counter
        last = self.log.last_counter(originator)
        if last is not None and counter <= last:
            raise _replayed(originator, counter, last)
        decision = authorise(self.index, request, service, received_at)
        if not decision.accepted:
            assert decision.code is not None
            await self._journal(request, service, MessageState.REFUSED, decision.code, received_at,
                                explanation=decision.explanation)
            return self._answer(request, decision.code, received_at, decision.explanation)
        try:
            record = await self.log.append(originator=originator, counter=counter, service=service.value,
                                        received_at=received_at, body=body)
        except CounterNotIncreasing as exc:
            raise HttpRefusal(409, exc.message) from None
        assert decision.variant is not None and self.adt is not None
        srv = decision.variant.srv
        verdict = self.adt.check(originator, srv, received_at)
        if verdict.warn or verdict.quarantine is not None:
            await self.adt.record(verdict, request_id=str(request.request_id), originator=originator, counter=counter,
                                  srv=srv, service=service.value, log_seq=record.seq, body=body,
                                  received_at=received_at)
        if verdict.quarantine is not None:
            explanation = quarantine_explanation(verdict, record.seq)
            await self._journal(request, service, MessageState.QUARANTINED, "I99", received_at, log_seq=record.seq,
                                explanation=explanation)
            return 200, XML, self._sign(acknowledgement(request, received_at)), [
                (b"x-duis-response-code", b"I99"), (b"x-duis-quarantined", str(record.seq).encode()),
                (b"x-duis-explanation", explanation.encode("ascii", "replace"))]
        return await self._after_log(request, service, decision.variant, entry, record.seq, received_at, body=body)

    async def _after_log(self, request: DuisRequest, service: WebService, variant: ServiceRequestVariant,
                         entry: KeyEntry, log_seq: int, received_at: datetime, *, body: bytes,
                         released: bool = False) -> tuple[int, bytes, bytes, list]:
        """What an accepted request takes after the log (and a request released from quarantine, ``released``)."""
        if service is WebService.TRANSFORM:
            if released:  # its quarantined row is done with; the Pre-Command gets a row of its own
                await self._journal(request, service, MessageState.RELEASED, "I99", received_at, update=True)
            return await self.pre_commands.transform(self, request, service, entry, log_seq, received_at)
        handler = nondevice.handler_for(variant.srv) if variant.non_device else None
        if handler is not None:
            answer = await self._non_device(handler, request, received_at)
            await self._journal(request, service, MessageState.ANSWERED, answer.code, received_at,
                                log_seq=log_seq, explanation=answer.explanation, update=released)
            return self._answer(request, answer.code, received_at, answer.explanation, answer.payload)
        root = acknowledgement(request, received_at)
        await self._journal(request, service, MessageState.ACKNOWLEDGED, "I99", received_at, log_seq=log_seq,
                            update=released)
        # a device request, or a firmware payload (11.1, 11.4: trt_firmware_srvs) to deliver to its devices
        later = service is WebService.SEND_COMMAND or variant.srv in self.settings.trt_firmware_srvs
        if later and self.work is not None:  # to the simulator's process (jetstream)
            await self.work.publish(log_seq, received_at, body)
        elif later and self.responses is not None:  # the device answers later
            await self.responses.submit(request, log_seq=log_seq, received_at=received_at)
        return 200, XML, self._sign(root), []

    async def _process_released(self, held: Any) -> None:
        """The ``AdtGate`` hook: a request released from quarantine goes on as if just accepted."""
        request = self.codec.parse(held.body.encode("utf-8"))
        entry = verify_request(request, self.keystore)  # the key that signed it, for a Transform's DP104 check
        variant = request_matrix()[held.srv]
        await self._after_log(request, WebService(held.service), variant, entry, held.log_seq, held.received_at,
                              body=held.body.encode("utf-8"), released=True)

    async def _journal(self, request: DuisRequest, service: WebService, state: MessageState, code: str,
                       received_at: datetime, *, explanation: str = "", log_seq: int | None = None,
                       update: bool = False) -> None:
        """Queue the journal row of a request just answered (``gateway.journal``: written in batches); ``update``:
        the row exists (a request released from quarantine), its state and code change."""
        if self.journal is None:
            return
        if update:
            rid = request.request_id
            await self.journal.update(rid.originator, rid.counter, state=state.value, code=code,
                                      answered_at=self.clock.now(), **({"explanation": explanation} if explanation
                                                                       else {}))
            return
        variant = request_matrix().get(request.service_reference_variant)
        trt_class, due_at = trt_for(self.settings, variant, service, received_at)
        rid = request.request_id
        await self.journal.record(JournalEntry(
            request_id=str(rid), originator=rid.originator, target=rid.target, counter=rid.counter,
            srv=request.service_reference_variant, command_variant=request.command_variant, service=service.value,
            state=state.value, code=code, explanation=explanation, received_at=received_at,
            answered_at=self.clock.now(), trt_class=trt_class.value, due_at=due_at, log_seq=log_seq))

    async def _non_device(self, handler: nondevice.Handler, request: DuisRequest,
                          at: datetime) -> nondevice.NonDeviceAnswer:
        """Run a non-device handler in a worker thread; then put the devices it changed into the index at once."""
        assert self.index is not None
        user = self.index.users.get(request.originator)
        assert user is not None  # authorised: the originator is a known User
        caller = nondevice.Caller(request.originator, user.organisation_id, user.roles)

        def run() -> tuple[nondevice.NonDeviceAnswer, Any]:
            with self._sessions() as session:
                answer = nondevice.answer(handler, session, request, caller, self.clock, self.settings)
                try:
                    changed = StatusIndex.read_devices(session, answer.changed) if answer.changed else None
                except Exception:  # committed already: the periodic refresh brings the index up to date instead
                    log.exception("re-reading the devices %s request %s changed failed", answer.changed,
                                  request.request_id)
                    changed = None
                return answer, changed

        answer, changed = await asyncio.to_thread(run)
        if changed is not None:
            self.index.devices.apply(changed)  # in the loop: a request sees all of the change or none of it
        return answer

    def _answer(self, request: DuisRequest, code: str, at: datetime, explanation: str,
                payload: etree._Element | None = None) -> tuple[int, bytes, bytes, list]:
        headers = [(b"x-duis-response-code", code.encode())]
        meaning = codes.header_text(code)  # the code's general meaning (core/codes.toml), beside the specific reason
        if not explanation and not code.startswith("I"):
            explanation = meaning  # an E-code with no reason of its own: the catalogue's plain English
        if explanation:
            headers.append((b"x-duis-explanation", explanation.encode("ascii", "replace")))
        if meaning:
            headers.append((b"x-duis-code-meaning", meaning.encode("ascii", "replace")))
        root = response(request, code, at)
        if payload is not None:
            root.find(f"{{{SUG_NS}}}Body/{{{SUG_NS}}}ResponseMessage").append(payload)  # type: ignore[union-attr]
        return 200, XML, self._sign(root), headers

    def _sign(self, root: etree._Element) -> bytes:
        assert self.signer is not None
        return sign(root, self.signer.key, self.signer.certificate)

    def _signing(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        assert self.signer is not None
        return self.signer.key, self.signer.certificate


def _replayed(originator: str, counter: int, last: int) -> HttpRefusal:
    return HttpRefusal(409, f"the RequestID counter {counter} is not greater than {last}, the last one the DCC "
                            f"accepted from {originator}: each request needs a counter above the previous one "
                            "(a replay is refused)")


def serve(settings: Settings, host: str, port: int, *, clock: Clock | None = None, workers: int = 1) -> int:
    """Serve the gateway with uvicorn until stopped: one process, or ``workers`` of them (decision 0025)."""
    import uvicorn

    if workers > 1 and settings.message_engine == "jetstream":
        raise Invalid(
            "--workers N runs a supervisor that owns the embedded request log; with GBSMART_MESSAGE_ENGINE="
            "jetstream every gateway process is a worker of its own: start N `gbsmart gateway serve` processes "
            "on different ports (one with GBSMART_GATEWAY_BACKGROUND=true, the others false) instead")
    if workers > 1:
        from gbsmart.gateway.workers import serve_workers

        configure_logging("%(asctime)s %(name)s %(levelname)s %(message)s")
        return serve_workers(settings, host, port, workers)

    configure_logging("%(asctime)s %(name)s %(levelname)s %(message)s")
    uvicorn.run(Gateway(settings, clock=clock), host=host, port=port, lifespan="on", log_level="warning",
                access_log=False)
    return 0
