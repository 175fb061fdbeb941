"""The gateway's health and metrics endpoints, for load balancers and Prometheus (docs/jetstream.md).

- ``GET /healthz``: 200 ``{"status": "ok", ...}`` when this process can accept requests (started, its request log
  open and, on the jetstream engine, connected to NATS); 503 with the reason otherwise, so a load balancer sends
  requests elsewhere. It says nothing about Users, devices or traffic, so it needs no credentials.
- ``GET /metrics``: Prometheus' text format, only with ``Authorization: Bearer <GBSMART_GATEWAY_METRICS_TOKEN>``;
  without that setting it is off (403, saying how to turn it on). Answers by path and HTTP status, request
  latency, and what the log, the journal and the simulator hold, read when scraped.

Each ``Gateway`` has its own ``CollectorRegistry``, so several gateways in one process (the tests) do not mix.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from gbsmart.gateway.server import Gateway

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
_JSON = b"application/json"
_TEXT = b"text/plain; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Live(Collector):
    """Figures read from the gateway's parts when Prometheus scrapes (nothing counted on the request path)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def collect(self) -> Iterator[Any]:
        g = self._gateway
        log_ = g.log
        conflicts = CounterMetricFamily("gbsmart_gateway_log_conflicts", "Appends that met another process's "
                                        "record for the originator (JetStream: wrong last sequence or duplicate).")
        resent = CounterMetricFamily("gbsmart_gateway_log_resent", "Publishes sent again after a lost PubAck.")
        value = getattr(log_, "conflicts", 0) + getattr(log_, "duplicates", 0)
        conflicts.add_metric([], value)
        resent.add_metric([], getattr(log_, "resent", 0))
        yield conflicts
        yield resent
        journal = GaugeMetricFamily("gbsmart_gateway_journal_pending", "Journal rows queued, not yet written.")
        journal.add_metric([], g.journal.pending if g.journal is not None else 0)
        yield journal
        simulator = GaugeMetricFamily("gbsmart_gateway_simulator_pending", "Device requests awaiting their "
                                      "simulated response in this process.")
        sim = g.responses.simulator if g.responses is not None else None
        simulator.add_metric([], len(getattr(sim, "_pending", ())) if sim is not None else 0)
        yield simulator
        up = GaugeMetricFamily("gbsmart_gateway_up", "1 when this process can accept requests (as /healthz).",
                               labels=["engine", "background"])
        up.add_metric([g.settings.message_engine, str(g.background).lower()], 1 if g.ready()[0] else 0)
        yield up
        nb = g.northbound
        if nb is not None:  # the background process: the northbound cache (either engine)
            delivered = CounterMetricFamily("gbsmart_gateway_northbound_delivered", "Messages delivered to Users' "
                                            "endpoints (2xx) by this process.")
            delivered.add_metric([], nb.delivered)
            yield delivered
            failed = CounterMetricFamily("gbsmart_gateway_northbound_failed_attempts", "POSTs to Users' endpoints "
                                         "that failed (refused, timed out, not 2xx): retried with back-off.")
            failed.add_metric([], nb.failed_attempts)
            yield failed
            waiting = GaugeMetricFamily("gbsmart_gateway_northbound_waiting", "Messages queued to send, by priority "
                                        "class (all Users).", labels=["class"])
            totals: dict[str, int] = {}
            for counts in nb.backlog().values():
                for name, n in counts.items():
                    totals[name] = totals.get(name, 0) + n
            for name in nb.traffic.classes:
                waiting.add_metric([name], totals.get(name, 0))
            yield waiting
            if hasattr(nb, "republished"):
                republished = CounterMetricFamily("gbsmart_gateway_northbound_republished", "Northbound publishes "
                                                  "sent again (JetStream unavailable for a moment).")
                republished.add_metric([], nb.republished)
                yield republished
        if g.work is not None:
            given = CounterMetricFamily("gbsmart_gateway_device_work_given", "Send Commands from every gateway "
                                        "process given to this process's simulator (jetstream engine).")
            given.add_metric([], g.work.given)
            yield given


class Health:
    """The two endpoints and the counters the server updates per request."""

    def __init__(self, gateway: Gateway, token: Callable[[], str | None]) -> None:
        self._gateway = gateway
        self._token = token
        self.registry = CollectorRegistry()
        self.answers = Counter("gbsmart_gateway_http_responses", "HTTP answers by path and status.",
                               ["path", "status"], registry=self.registry)
        self.latency = Histogram("gbsmart_gateway_request_seconds", "Time from a request's arrival to its answer.",
                                 ["path"], buckets=_BUCKETS, registry=self.registry)
        self.registry.register(_Live(gateway))

    def observe(self, path: str, status: int, seconds: float) -> None:
        label = path if path.startswith("/api/v1/") and len(path) < 40 else "other"
        self.answers.labels(label, str(status)).inc()
        self.latency.labels(label).observe(seconds)

    def handle(self, scope: dict[str, Any]) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
        if scope["method"] not in ("GET", "HEAD"):
            return 405, _TEXT, f"{scope['path']} takes GET\n".encode(), []
        if scope["path"] == HEALTH_PATH:
            ok, detail = self._gateway.ready()
            body = {"status": "ok" if ok else "unavailable", "engine": self._gateway.settings.message_engine,
                    "background": self._gateway.background, **({} if ok else {"reason": detail})}
            return (200 if ok else 503), _JSON, json.dumps(body).encode() + b"\n", []
        wanted = self._token()
        if not wanted:
            return 403, _TEXT, (b"metrics are off: set GBSMART_GATEWAY_METRICS_TOKEN and scrape /metrics with "
                                b"'Authorization: Bearer <that token>'\n"), []
        given = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), b"")
        if not hmac.compare_digest(given, b"Bearer " + wanted.encode()):
            return 401, _TEXT, b"/metrics needs 'Authorization: Bearer <GBSMART_GATEWAY_METRICS_TOKEN>'\n", [
                (b"www-authenticate", b"Bearer")]
        return 200, CONTENT_TYPE_LATEST.encode(), generate_latest(self.registry), []
