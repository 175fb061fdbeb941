"""The alert storm scenario's driver: the alerts it feeds to gbsmart, and where it feeds them.

``AlertSink`` is the one interface the driver uses: ``await sink.ingest(batch)``, one dict per device alert
(``device_id`` EUI-64 with dashes, ``code`` "8F3E" / "8F12" / "CHPL" / "CHPR", ``occurred_at`` an aware
``datetime``), returning once gbsmart has accepted the batch. Two sinks:

- ``HttpSink``: ``POST /api/v1/alerts`` on a real ``gbsmart gateway serve``, signed as an alert source.
  The request's format is the alert API's (issue 11, A1): ``alerts_api_request`` and ``register_source``
  are the adapters to change if it changes.
- ``InProcessSink``: an ``AlertIntake`` (``gbsmart.alerts.intake``, A1) in this process, with the Northbound
  (A2) and the outage tracker (A3) built by ``build_in_process_pipeline`` from the contract's signatures,
  imported lazily; ``ingest_in_process`` is the one adapter to the intake's method.

``storm`` sends a spurious-alert storm at a steady rate (a batch every ``tick``; behind schedule it catches up
with bigger batches, so the rate reported is what gbsmart took); ``power_loss`` sends every hub's CHPL notice
at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

POWER_LOSS, POWER_RESTORED = "CHPL", "CHPR"


class AlertSink(Protocol):
    async def ingest(self, batch: list[dict[str, Any]]) -> None: ...


class PipelineMissing(RuntimeError):
    """gbsmart's alert pipeline is not there to drive (not on this branch yet, or its API refused)."""


# ---------------------------------------------------------------- over HTTP: gbsmart gateway serve


def alerts_api_request(batch: Sequence[Mapping[str, Any]], source: str, key: ec.EllipticCurvePrivateKey
                       ) -> tuple[str, dict[str, str], bytes]:
    """ADAPTER (to A1's alert API, ``gbsmart.alerts.source_api``): the path, headers and body of one ``POST``
    carrying ``batch``: ``{"sent_at", "alerts": [{"device_id", "code", "at"}]}`` as JSON, signed by the alert
    source's P-256 key (``X-Alert-Signature``: base64 of the DER ECDSA / SHA-256 signature of the body). If
    the API changes, change this function only."""
    body = json.dumps({"sent_at": _iso(datetime.now(UTC)),
                       "alerts": [{"device_id": a["device_id"], "code": a["code"], "at": _iso(a["occurred_at"])}
                                  for a in batch]}, separators=(",", ":")).encode()
    signature = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    return "/api/v1/alerts", {"content-type": "application/json", "x-alert-source": source,
                              "x-alert-signature": signature}, body


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def register_source(settings: Any, name: str, certificate_pem: bytes) -> None:
    """ADAPTER (to A1's ``gbsmart alerts add-source``): trust the driver's certificate for source ``name``."""
    try:
        from gbsmart.alerts.source_api import save_source
    except ImportError:
        return  # no alert API on this branch: the first POST says so
    save_source(settings, name, certificate_pem)


class HttpSink:
    """Alerts POSTed to a running gateway's alert API, signed as an alert source, ``connections`` in parallel
    (a batch longer than ``max_batch``, the API's limit, goes as several POSTs). A 429 (the intake full) is
    the API's back-pressure: the batch is signed afresh and sent again after its Retry-After, counted in
    ``refused_full``; ``slowest_answer_s`` is the longest any POST took to be answered."""

    def __init__(self, base_url: str, source: str, key: ec.EllipticCurvePrivateKey, *, connections: int = 4,
                 max_batch: int = 5000, timeout: float = 60.0) -> None:
        import httpx

        self.base_url, self.source, self.key, self.max_batch = base_url.rstrip("/"), source, key, max_batch
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout,
                                         limits=httpx.Limits(max_connections=connections))
        self._slots = asyncio.Semaphore(connections)
        self.requests = 0
        self.refused_full = 0
        self.slowest_answer_s = 0.0

    async def ingest(self, batch: list[dict[str, Any]]) -> None:
        await asyncio.gather(*(self._post(batch[i:i + self.max_batch]) for i in range(0, len(batch), self.max_batch)))

    async def _post(self, batch: list[dict[str, Any]]) -> None:
        while True:
            path, headers, body = alerts_api_request(batch, self.source, self.key)
            async with self._slots:
                sent = time.monotonic()
                answer = await self._client.post(path, content=body, headers=headers)
                self.slowest_answer_s = max(self.slowest_answer_s, time.monotonic() - sent)
            self.requests += 1
            if answer.status_code != 429:
                break
            self.refused_full += 1
            retry_after = answer.headers.get("retry-after", "1")
            await asyncio.sleep(float(retry_after) if retry_after.replace(".", "", 1).isdigit() else 1.0)
        if answer.status_code == 404:
            raise PipelineMissing(f"POST {self.base_url}{path} answered 404: this gateway has no alert API "
                                  "(issue 11's intake, gbsmart.alerts.intake, is not on this branch yet)")
        if not 200 <= answer.status_code < 300:
            raise PipelineMissing(f"POST {self.base_url}{path} answered {answer.status_code}: "
                                  f"{answer.text[:500]} (adjust alerts_api_request to the alert API)")

    async def close(self) -> None:
        await self._client.aclose()


# ---------------------------------------------------------------- in this process: AlertIntake


async def ingest_in_process(intake: Any, batch: list[dict[str, Any]]) -> None:
    """ADAPTER (to A1's ``AlertIntake.ingest``): hand one batch to the intake; returns once it is accepted."""
    from gbsmart.alerts.intake import DeviceAlert

    await intake.ingest([DeviceAlert(a["device_id"], a["code"], a["occurred_at"]) for a in batch],
                        source="alert-storm")


class InProcessSink:
    """Alerts handed to an ``AlertIntake`` in this process."""

    def __init__(self, intake: Any) -> None:
        self.intake = intake

    async def ingest(self, batch: list[dict[str, Any]]) -> None:
        await ingest_in_process(self.intake, batch)


@dataclass
class InProcessPipeline:
    sink: InProcessSink
    closers: list[Callable[[], Any]] = field(default_factory=list)

    async def close(self) -> None:
        for close in reversed(self.closers):
            result = close()
            if asyncio.iscoroutine(result):
                await result


async def build_in_process_pipeline(url: str, settings: Any, premises: Callable[[str], tuple[str | None, str | None]]
                                    ) -> InProcessPipeline:
    """The Northbound (A2), the outage tracker (A3) and the intake (A1) on the scenario database, wired as
    ``gateway/server.py`` does, from the interfaces in docs/alerts.md."""
    try:
        from gbsmart.alerts.intake import AlertIntake
        from gbsmart.alerts.messages import renderers
        from gbsmart.alerts.northbound import Northbound
        from gbsmart.alerts.outage import OutageTracker
    except ImportError as exc:
        raise PipelineMissing(f"gbsmart's alert pipeline is not importable ({exc}): issue 11's intake, "
                              "northbound and outage tracker are not on this branch yet") from None
    from gbsmart.core.clock import SystemClock
    from gbsmart.core.db import make_engine, make_sessionmaker
    from gbsmart.gateway.authorise import AuthorisationIndex
    from gbsmart.gateway.fastsig import sign
    from gbsmart.gateway.store import dcc_signer

    clock = SystemClock()
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    signer = dcc_signer(settings, clock.now())
    with sessions() as session:
        index = AuthorisationIndex.load(session)
    northbound = Northbound(sessions, settings, clock,
                            renderers=renderers(lambda root: sign(root, signer.key, signer.certificate),
                                                signing=lambda: (signer.key, signer.certificate)))
    await northbound.start()
    # LEAD: as Gateway.start wires them (the tracker's on_delivered hook for its deadline records is left out)
    tracker = OutageTracker(sessions, settings, clock, northbound=northbound, premises=premises)
    await tracker.start()
    intake = AlertIntake(sessions, settings, clock, northbound=northbound, index=lambda: index, outage=tracker)
    await intake.start()
    closers: list[Callable[[], Any]] = [engine.dispose, northbound.close, tracker.close, intake.close]
    return InProcessPipeline(InProcessSink(intake), closers)


# ---------------------------------------------------------------- the scenario's traffic


@dataclass
class StormStats:
    sent: int = 0
    batches: int = 0
    started: float = 0.0
    stopped: float = 0.0
    by_code: dict[str, int] = field(default_factory=dict)
    behind_max_s: float = 0.0  # how far behind schedule the driver fell (gbsmart's back-pressure)

    @property
    def seconds(self) -> float:
        return max(self.stopped - self.started, 1e-9)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds


async def storm(sink: AlertSink, devices: Mapping[str, Sequence[str]], mix: Mapping[str, float], rate: float,
                stop: asyncio.Event, *, tick: float = 0.05, seed: int = 5, stats: StormStats | None = None
                ) -> StormStats:
    """Device alerts at ``rate`` a second until ``stop`` is set: codes drawn by ``mix``, each from a random
    device of ``devices[code]``, ``occurred_at`` the time of sending."""
    stats = stats or StormStats()
    rng = np.random.default_rng(seed)
    codes = list(mix)
    weights = np.array([mix[c] for c in codes], dtype=float)
    weights /= weights.sum()
    pools = [list(devices[c]) for c in codes]
    stats.started = time.time()
    cap = max(1, int(rate))  # never more than a second's worth in one batch
    while not stop.is_set():
        elapsed = time.time() - stats.started
        due = min(int(rate * elapsed) - stats.sent, cap)
        if due <= 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick)
            continue
        stats.behind_max_s = max(stats.behind_max_s, (int(rate * elapsed) - stats.sent - due) / rate)
        at = datetime.now(UTC)
        which = rng.choice(len(codes), size=due, p=weights)
        batch: list[dict[str, Any]] = []
        for k in range(len(codes)):
            picks = rng.integers(0, len(pools[k]), size=int((which == k).sum()))
            pool, code = pools[k], codes[k]
            batch.extend({"device_id": pool[i], "code": code, "occurred_at": at} for i in picks.tolist())
            stats.by_code[code] = stats.by_code.get(code, 0) + len(picks)
        await sink.ingest(batch)
        stats.sent += due
        stats.batches += 1
    stats.stopped = time.time()
    return stats


async def power_loss(sink: AlertSink, hubs: Sequence[str], *, chunk: int = 1000) -> float:
    """Every hub's CHPL notice at once (the same ``occurred_at``), in batches of ``chunk`` sent concurrently;
    returns the power loss time (seconds since the epoch)."""
    at = datetime.now(UTC)
    batches = [[{"device_id": h, "code": POWER_LOSS, "occurred_at": at} for h in hubs[i:i + chunk]]
               for i in range(0, len(hubs), chunk)]
    await asyncio.gather(*(sink.ingest(b) for b in batches))
    return at.timestamp()
