"""POST /api/v1/alerts on the real gateway (``Gateway`` under uvicorn on loopback, real HTTP, real signatures).

The gateway's own Northbound takes what the intake routes (``Gateway.start`` makes it; the recording double set
before start is replaced then); the assertions read the ``alerts`` table and the API's answers.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

import gbsmart.models.alerts  # noqa: F401
import gbsmart.models.gateway  # noqa: F401
import gbsmart.models.smi  # noqa: F401
from gbsmart.alerts.source_api import save_source, sign_body
from gbsmart.config import Settings
from gbsmart.core.db import make_sessionmaker
from gbsmart.gateway.demo import load_gateway_demo
from gbsmart.gateway.server import Gateway
from gbsmart.models.alerts import Alert
from tests.alerts.test_intake import RecordingNorthbound

ESME, UNKNOWN = "00-DB-12-34-56-78-90-A0", "00-DB-99-99-99-99-99-99"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _key_and_cert(name: str = "csp-north test source") -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(Encoding.PEM)


class Running:
    def __init__(self, settings: Settings, engine) -> None:
        self.settings, self.engine = settings, engine
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.gateway = Gateway(settings)
        self.gateway.northbound = RecordingNorthbound()  # type: ignore[attr-defined]  (start replaces it)
        self.server = uvicorn.Server(uvicorn.Config(self.gateway, host="127.0.0.1", port=self.port, lifespan="on",
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Running:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the gateway did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}/api/v1/alerts", content=body, headers=headers, timeout=30)

    def alerts(self) -> list[Alert]:
        with make_sessionmaker(self.engine)() as session:
            return list(session.scalars(select(Alert).order_by(Alert.id)))


@pytest.fixture
def running(engine, ctx, tmp_path, db_url):
    load_gateway_demo(ctx)
    ctx.session.commit()
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, simulator_enabled=False,
                        gateway_refresh_seconds=0.2, gateway_allow_test_keys=True)
    key, pem = _key_and_cert()
    save_source(settings, "csp-north", pem)
    with Running(settings, engine) as run:
        run.key = key  # type: ignore[attr-defined]
        yield run


def _batch(*alerts: dict, sent_at: datetime | None = None) -> bytes:
    return json.dumps({"sent_at": (sent_at or datetime.now(UTC)).isoformat(), "alerts": list(alerts)}).encode()


def _signed(body: bytes, key, source: str = "csp-north") -> dict[str, str]:
    return {"content-type": "application/json", "x-alert-source": source, "x-alert-signature": sign_body(body, key)}


def _alert(device: str = ESME, code: str = "0x8f3e") -> dict:
    return {"device_id": device, "code": code, "at": datetime.now(UTC).isoformat(),
            "gbcs_payload_b64": base64.b64encode(b"\x01").decode()}


def test_a_signed_batch_is_recorded_routed_and_counted(running):
    body = _batch(_alert(), _alert(), _alert(UNKNOWN), _alert(code="8F35"))
    answer = running.post(body, _signed(body, running.key))
    assert answer.status_code == 202, answer.text
    got = answer.json()
    assert (got["accepted"], got["routed"], got["unknown_device"], got["messages"]) == (4, 3, 1, 3)
    rows = running.alerts()
    assert [(r.code, r.outcome, r.source) for r in rows] == [
        ("8F3E", "routed", "api:csp-north"), ("8F3E", "routed", "api:csp-north"),
        ("8F3E", "unknown_device", "api:csp-north"), ("8F35", "routed", "api:csp-north")]


def test_bad_input_is_refused_with_a_clear_message_and_nothing_recorded(running):
    good = _batch(_alert())
    cases = [
        (good, {"content-type": "application/json"}, 401, "not signed"),
        (good, _signed(good, running.key, source="nobody"), 401, "not registered"),
        (good, {**_signed(good, running.key), "x-alert-signature": "%%%"}, 401, "not base64"),
        (good.replace(b"8f3e", b"8f3f"), _signed(good, running.key), 403, "does not match"),
        (good, {**_signed(good, _key_and_cert()[0])}, 403, "does not match"),
        (good, {**_signed(good, running.key), "content-type": "application/xml"}, 415, "application/json"),
        (b"{not json", _signed(b"{not json", running.key), 400, "not valid JSON"),
    ]
    for body, headers, status, says in cases:
        answer = running.post(body, headers)
        assert answer.status_code == status and says in answer.json()["error"], (status, answer.text)
    stale = _batch(_alert(), sent_at=datetime.now(UTC) - timedelta(hours=1))
    answer = running.post(stale, _signed(stale, running.key))
    assert answer.status_code == 409 and "from the DCC's clock" in answer.json()["error"]
    assert running.alerts() == []
    assert running.gateway.alert_api.refusals == {401: 3, 403: 2, 415: 1, 400: 1, 409: 1}  # counted, and logged


def test_field_level_messages_name_each_bad_field(running):
    body = _batch({"device_id": "ESME-1", "code": "8F3E", "at": "now"}, {"device_id": ESME, "code": "XYZ",
                                                                        "at": datetime.now(UTC).isoformat(),
                                                                        "colour": "red"})
    answer = running.post(body, _signed(body, running.key))
    assert answer.status_code == 400
    fields = {d["field"]: d["message"] for d in answer.json()["detail"]}
    assert set(fields) == {"alerts[0].device_id", "alerts[0].at", "alerts[1].code", "alerts[1].colour"}
    assert "EUI-64" in fields["alerts[0].device_id"] and "GBCS alert code" in fields["alerts[1].code"]
    assert running.alerts() == []


def test_a_replayed_batch_is_refused(running):
    body = _batch(_alert())
    headers = _signed(body, running.key)
    assert running.post(body, headers).status_code == 202
    again = running.post(body, headers)
    assert again.status_code == 409 and "replay" in again.json()["error"]
    assert len(running.alerts()) == 1


def test_the_duis_services_still_answer_beside_it(running):
    answer = httpx.get(f"{running.url}/api/v1/serviceS", timeout=10)
    assert answer.status_code == 405


def test_alerts_inject_signs_with_a_test_key_and_the_gateway_takes_it(running):
    env = {**os.environ, "PYTHONPATH": "src", "GBSMART_DATA_DIR": str(running.settings.data_dir),
           "GBSMART_DATABASE_URL": running.settings.resolved_database_url(),
           "GBSMART_GATEWAY_ALLOW_TEST_KEYS": "true"}
    command = [sys.executable, "-m", "gbsmart.cli", "alerts", "inject", "--device", ESME, "--code", "8F3E",
               "--count", "5", "--url", running.url]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    deadline = time.monotonic() + 10
    run = first
    while "HTTP 202" not in run.stdout and time.monotonic() < deadline:  # the gateway reloads sources
        time.sleep(0.3)
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert "HTTP 202" in run.stdout, (first.stdout, first.stderr, run.stdout, run.stderr)
    got = json.loads(run.stdout.split("HTTP 202: ", 1)[1])
    assert (got["accepted"], got["routed"] + got["throttled"]) == (5, 5)
    with make_sessionmaker(running.engine)() as session:
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.source == "api:test-source")) >= 5
    off = subprocess.run(command, env={**env, "GBSMART_GATEWAY_ALLOW_TEST_KEYS": "false"}, capture_output=True,
                         text=True, timeout=60)
    assert off.returncode == 1 and "Test keys are off" in off.stderr


@pytest.fixture
def small_intake(engine, ctx, tmp_path, db_url):
    """The gateway with an intake that is full once one ordinary alert is in progress."""
    load_gateway_demo(ctx)
    ctx.session.commit()
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, simulator_enabled=False,
                        gateway_refresh_seconds=0.2, gateway_allow_test_keys=True, alerts_intake_max_pending=1,
                        alerts_api_retry_after_seconds=2)
    key, pem = _key_and_cert()
    save_source(settings, "csp-north", pem)
    with Running(settings, engine) as run:
        run.key = key  # type: ignore[attr-defined]
        yield run


def test_a_full_intake_answers_429_with_retry_after_at_once_and_still_takes_priority_alerts(small_intake, db_url):
    import sqlite3

    run = small_intake
    if not db_url.startswith("sqlite:///"):
        pytest.skip("holds the SQLite write lock to keep a batch in progress")
    lock = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30)
    lock.execute("BEGIN IMMEDIATE")  # every writer waits: the first batch stays in progress
    answers: dict[str, httpx.Response] = {}

    def post(name: str, body: bytes) -> None:
        answers[name] = run.post(body, _signed(body, run.key))

    storm = _batch(_alert())
    first = threading.Thread(target=post, args=("first", storm))
    first.start()
    deadline = time.monotonic() + 10
    while run.gateway.alerts.pending < 1:
        assert time.monotonic() < deadline, "the first batch never reached the intake"
        time.sleep(0.02)
    started = time.monotonic()
    refused_body = _batch(_alert(code="8F12"))
    refused = run.post(refused_body, _signed(refused_body, run.key))
    took = time.monotonic() - started
    urgent = threading.Thread(target=post, args=("urgent", _batch(_alert(code="8F35"))))
    urgent.start()
    time.sleep(0.3)
    assert "urgent" not in answers  # taken (waiting for the lock like the first), not refused
    lock.rollback()
    lock.close()
    first.join(30)
    urgent.join(30)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2", refused.text
    assert "send it again in 2 s" in refused.json()["error"] and took < 5  # said at once, not held
    assert answers["first"].status_code == 202 and answers["urgent"].status_code == 202
    again = run.post(refused_body, _signed(refused_body, run.key))  # the same signed batch, now taken
    assert again.status_code == 202, again.text
    assert sorted(r.code for r in run.alerts()) == ["8F12", "8F35", "8F3E"]  # nothing accepted is lost
    assert run.gateway.alert_api.refusals == {429: 1}
