"""Device responses end to end: the real gateway subprocess, real signed requests, a real HTTP endpoint per User.

Each acknowledged Send Command request is completed by the device simulator and its signed Response POSTed to
the originating User's registered endpoint (set with `gbsmart gateway endpoint set`): checked against the DCC's
certificate; an endpoint that is down gets it once it is up; a User with no endpoint has it kept and listed
(`gbsmart gateway responses`); a Device Type whose profile fails every request gets E21. Then `kill -9`:
acknowledged requests not yet completed, and kept responses not yet delivered, are all delivered after the
restart, each once, as the same response.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import delete, select

from gbsmart.config import Settings
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.core.signing import load_certificate
from gbsmart.gateway.keystore import Keystore
from gbsmart.gateway.signatures import sign, verify_request
from gbsmart.gateway.store import save_certificates
from gbsmart.gateway.xml import SUG_NS, parse_xml
from gbsmart.models.delivery import GatewayResponse
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, DccUserRole
from gbsmart.simulator.service import set_endpoint
from tests.gateway.endpoint import Endpoint, free_port
from tests.gateway.test_server import SUPPLIER, Running, _seed, _start, _stop

ROOT = Path(__file__).resolve().parents[2]
ESME, GSME = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A3"
#: DCC User IDs of the Boxed Supplier's organisation made here, one per test so their endpoints do not mix
USERS = {name: f"90-B3-D5-1F-30-06-00-{i:02X}" for i, name in enumerate(
    ("signed", "down", "none", "fails", "killed", "kept", "firmware"), start=1)}
PROFILES = '[[profile]]\ndevice_type = "GSME"\nfailure_rate = 1.0\nfailure_codes = ["E21"]\n'


def _user_key(user_id: str, serial: int) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER,
                                            b"\x00" + bytes.fromhex(user_id.replace("-", "")),
                                            _type=_ASN1Type.BitString)])
    ca = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gbsmart delivery test CA")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return key, cert


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[ec.EllipticCurvePrivateKey, x509.Certificate]]:
    return {user: _user_key(user, 0x6000 + i) for i, user in enumerate(USERS.values())}


def _gateway(tmp: Path, keys, **settings: str) -> Running:
    url = f"sqlite:///{tmp / 'gateway.db'}"
    _seed(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        supplier = session.scalar(select(DccUser).where(DccUser.eui64 == SUPPLIER))
        for user in keys:
            session.add(DccUser(organisation_id=supplier.organisation_id, eui64=user,
                                role_rows=[DccUserRole(role="IS"), DccUserRole(role="GS")]))
        session.commit()
    engine.dispose()
    for user, (_, cert) in keys.items():
        save_certificates(Settings(data_dir=tmp / "var"), user, cert.public_bytes(encoding=Encoding.PEM))
    (tmp / "profiles.toml").write_text(PROFILES)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": url,
           "GBSMART_DATA_DIR": str(tmp / "var"), "GBSMART_GATEWAY_REFRESH_SECONDS": "0.3",
           "GBSMART_SIMULATOR_PROFILES": str(tmp / "profiles.toml"), "GBSMART_SIMULATOR_LATENCY_SECONDS": "0.05",
           "GBSMART_SIMULATOR_JITTER_SECONDS": "0.02", "GBSMART_SIMULATOR_FAILURE_RATE": "0",
           "GBSMART_SIMULATOR_SEED": "1", "GBSMART_DELIVERY_RETRY_BASE_SECONDS": "0.2",
           "GBSMART_DELIVERY_RETRY_MAX_SECONDS": "0.5", **settings}
    port = free_port()
    return Running(f"http://127.0.0.1:{port}", env, port, _start(env, port), tmp / "var", url)


@pytest.fixture(scope="module")
def gateway(keys, tmp_path_factory):
    running = _gateway(tmp_path_factory.mktemp("delivery"), keys)
    yield running
    _stop(running.process)


def _request(keys, user: str, counter: int, device: str = ESME) -> bytes:
    raw = (f'<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="{SUG_NS}" schemaVersion="5.4"><sr:Header>'
           f"<sr:RequestID>{user}:{device}:{counter}</sr:RequestID>"
           "<sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference>"
           "<sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header>"
           "<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>").encode()
    key, cert = keys[user]
    return sign(etree.fromstring(raw), key, cert)


def _send(gateway: Running, body: bytes) -> str:
    response = httpx.post(f"{gateway.url}/api/v1/serviceS", content=body, headers={"content-type": "application/xml"},
                          timeout=30)
    assert response.status_code == 200, response.text
    return parse_xml(response.content).findtext(f"{{{SUG_NS}}}Header/{{{SUG_NS}}}ResponseCode") or ""


def _cli(gateway: Running, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gbsmart.cli", "gateway", *args], env={**gateway.env,
                          "COLUMNS": "250"}, capture_output=True, text=True, timeout=60)


def _rows(gateway: Running, model, user: str) -> list:
    engine = make_engine(gateway.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(model).where(model.originator == user).order_by(model.counter)))
    finally:
        engine.dispose()


def _wait(what, check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def _set_endpoint(gateway: Running, user: str, url: str) -> None:
    """What `gbsmart gateway endpoint set` does (the CLI itself is run in the first tests), then a refresh."""
    engine = make_engine(gateway.database_url)
    with make_sessionmaker(engine)() as session, session.begin():
        set_endpoint(session, user, url, datetime.now(UTC))
    engine.dispose()
    time.sleep(0.5)  # the running gateway re-reads the endpoints every 0.3 s


def _journal_states(gateway: Running, user: str) -> list[tuple[str, str]]:
    return [(row.state, row.code) for row in _rows(gateway, GatewayMessage, user)]


def _dcc_keystore(gateway: Running) -> Keystore:
    keystore = Keystore()
    keystore.add("90-B3-D5-1F-30-00-00-02", load_certificate(gateway.data_dir / "gateway" / "dcc-signing.pem"))
    return keystore


def _code(body: bytes) -> str:
    return parse_xml(body).findtext(f"{{{SUG_NS}}}Header/{{{SUG_NS}}}ResponseCode") or ""


def test_the_user_receives_the_signed_i0_at_its_registered_endpoint(gateway, keys):
    user = USERS["signed"]
    endpoint = Endpoint().start()
    try:
        registered = _cli(gateway, "endpoint", "set", user.lower(), endpoint.url)
        assert registered.returncode == 0, registered.stderr
        assert endpoint.url in _cli(gateway, "endpoint", "list").stdout
        time.sleep(0.5)  # the running gateway re-reads the endpoints every 0.3 s
        assert _send(gateway, _request(keys, user, 10)) == "I99"
        [got] = endpoint.wait_for(1)
    finally:
        endpoint.stop()
    root = parse_xml(got.body)
    header = f"{{{SUG_NS}}}Header/{{{SUG_NS}}}"
    assert root.findtext(header + "ResponseCode") == "I0"
    assert root.findtext(header + "RequestID") == f"{user}:{ESME}:10"
    assert root.findtext(header + "ResponseID") == got.response_id == f"{ESME}:{user}:10"
    dcc = _dcc_keystore(gateway)
    assert verify_request(SimpleNamespace(root=root, originator=dcc.user_ids()[0]), dcc)  # type: ignore[arg-type]
    [row] = _wait("the journal says delivered", lambda: [r for r in _rows(gateway, GatewayMessage, user)
                                                          if r.state == "delivered"])
    assert row.code == "I0" and row.answered_at <= row.completed_at <= row.delivered_at
    [kept] = _rows(gateway, GatewayResponse, user)
    assert kept.body == got.body and kept.delivered_at is not None and kept.attempts == 1


def test_a_firmware_payload_is_delivered_and_journalled_against_its_own_trt(gateway, keys):
    """11.1 Update Firmware (Non-Device) is acknowledged at once; the simulator delivers the payload to its device
    and the User gets the I0; the journal row has the firmware TRT class (PM2) with its completion."""
    user = USERS["firmware"]
    endpoint = Endpoint().start()
    try:
        _set_endpoint(gateway, user, endpoint.url)
        raw = (f'<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="{SUG_NS}" schemaVersion="5.4">'
               f"<sr:Header><sr:RequestID>{user}:90-B3-D5-1F-30-00-00-02:70</sr:RequestID>"  # the DCC: Non-Device
               "<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>11.1</sr:ServiceReference>"
               "<sr:ServiceReferenceVariant>11.1</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:UpdateFirmware>"
               "<sr:FirmwareImage>SSBhbSBhIGZpcm13YXJlIGltYWdl</sr:FirmwareImage>"
               f"<sr:FirmwareVersion>00000000</sr:FirmwareVersion><sr:DeviceIDList>{ESME}</sr:DeviceIDList>"
               "</sr:UpdateFirmware></sr:Body></sr:Request>").encode()
        key, cert = keys[user]
        answer = httpx.post(f"{gateway.url}/api/v1/serviceD", content=sign(etree.fromstring(raw), key, cert),
                            headers={"content-type": "application/xml"}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert _code(answer.content) == "I99"
        [got] = endpoint.wait_for(1)
    finally:
        endpoint.stop()
    assert _code(got.body) == "I0"
    [row] = _wait("delivered", lambda: [r for r in _rows(gateway, GatewayMessage, user) if r.state == "delivered"])
    assert row.srv == "11.1" and row.trt_class == "firmware" and row.completed_at is not None
    assert row.due_at - row.received_at == timedelta(days=1) and row.completed_at <= row.due_at


def test_an_endpoint_that_is_down_gets_the_response_once_it_is_up(gateway, keys):
    user = USERS["down"]
    endpoint = Endpoint(port=free_port())  # nothing listens there yet
    _set_endpoint(gateway, user, endpoint.url)
    assert _send(gateway, _request(keys, user, 20)) == "I99"
    [row] = _wait("retried while down", lambda: [r for r in _rows(gateway, GatewayResponse, user) if r.attempts >= 2])
    assert row.delivered_at is None and "could not be reached" in row.last_error
    assert _wait("the journal says undelivered", lambda: _journal_states(gateway, user) == [("undelivered", "I0")])
    endpoint.status = 503
    endpoint.start()
    try:
        _wait("a 503 is a failure too", lambda: endpoint.refused >= 1)
        endpoint.status = 200
        [got] = endpoint.wait_for(1)
    finally:
        endpoint.stop()
    assert _code(got.body) == "I0"
    assert _wait("delivered", lambda: _journal_states(gateway, user) == [("delivered", "I0")])
    [row] = _rows(gateway, GatewayResponse, user)
    assert row.attempts >= 3 and row.body == got.body


def test_a_user_without_an_endpoint_has_its_responses_kept_and_listed(gateway, keys):
    user = USERS["none"]
    for counter in (30, 31):
        assert _send(gateway, _request(keys, user, counter)) == "I99"
    _wait("kept", lambda: len([r for r in _rows(gateway, GatewayResponse, user)
                               if "no response endpoint is registered" in r.last_error]) == 2)
    assert _wait("undelivered", lambda: _journal_states(gateway, user) == [("undelivered", "I0")] * 2)
    listed = _cli(gateway, "responses", "--user", user)
    assert listed.returncode == 0, listed.stderr
    assert f"{ESME}:{user}:30" in listed.stdout and f"{ESME}:{user}:31" in listed.stdout
    assert " kept, " in listed.stdout and "no response endpoint" in listed.stdout  # and what to do about it
    endpoint = Endpoint().start()  # then the User registers one: the kept responses go out
    try:
        assert _cli(gateway, "endpoint", "set", user, endpoint.url).returncode == 0
        got = endpoint.wait_for(2)
    finally:
        endpoint.stop()
    assert sorted(r.response_id for r in got) == [f"{ESME}:{user}:30", f"{ESME}:{user}:31"]
    assert _wait("delivered", lambda: _journal_states(gateway, user) == [("delivered", "I0")] * 2)


def test_a_device_type_that_fails_every_request_answers_e21(gateway, keys):
    user = USERS["fails"]
    endpoint = Endpoint().start()
    try:
        _set_endpoint(gateway, user, endpoint.url)
        assert _send(gateway, _request(keys, user, 40, device=GSME)) == "I99"
        assert _send(gateway, _request(keys, user, 41, device=ESME)) == "I99"
        got = {r.response_id: _code(r.body) for r in endpoint.wait_for(2)}
    finally:
        endpoint.stop()
    assert got == {f"{GSME}:{user}:40": "E21", f"{ESME}:{user}:41": "I0"}
    rows = _wait("delivered", lambda: [r for r in _rows(gateway, GatewayMessage, user) if r.state == "delivered"]
                 if len(_journal_states(gateway, user)) == 2 and all(
                     s == "delivered" for s, _ in _journal_states(gateway, user)) else None)
    failed = next(r for r in rows if r.counter == 40)
    assert failed.code == "E21" and "could not carry out the command" in failed.explanation


# ---------------------------------------------------------------- kill -9


def test_after_kill_9_every_acknowledged_request_is_completed_and_every_kept_response_delivered(
        keys, tmp_path_factory):
    """Phase 1: requests acknowledged, their devices still 'thinking' (5 s), the gateway killed; the journal rows
    of the last few are deleted, as a journal batch not yet written when the process died would be missing.
    Phase 2: responses kept for an endpoint that is down, the gateway killed again. After each restart every
    one arrives; any ResponseID that arrives twice (POSTed just before the kill) is the same response."""
    gateway = _gateway(tmp_path_factory.mktemp("delivery-kill"), keys, GBSMART_SIMULATOR_LATENCY_SECONDS="5",
                       GBSMART_SIMULATOR_JITTER_SECONDS="0")
    user, kept_user = USERS["killed"], USERS["kept"]
    endpoint, later = Endpoint().start(), Endpoint(port=free_port())
    try:
        _set_endpoint(gateway, user, endpoint.url)
        _set_endpoint(gateway, kept_user, later.url)
        counters = range(100, 112)
        assert [_send(gateway, _request(keys, user, c)) for c in counters] == ["I99"] * len(counters)
        os.kill(gateway.process.pid, signal.SIGKILL)
        gateway.process.wait(10)
        assert gateway.process.returncode == -signal.SIGKILL
        completed = {r.counter for r in _rows(gateway, GatewayResponse, user)}
        assert not completed & set(range(108, 112)), completed  # the last ones were surely still pending
        engine = make_engine(gateway.database_url)
        with make_sessionmaker(engine)() as session, session.begin():
            session.execute(delete(GatewayMessage).where(GatewayMessage.originator == user,
                                                         GatewayMessage.counter >= 108))
        engine.dispose()
        assert len(_rows(gateway, GatewayMessage, user)) == 8
        before = {r.response_id: r.body for r in endpoint.received}

        gateway.start()
        expected = {f"{ESME}:{user}:{c}" for c in counters}
        _wait("all delivered", lambda: {r.response_id for r in endpoint.received} == expected, timeout=30)
        bodies: dict[str, set[bytes]] = {}
        for r in endpoint.received:
            bodies.setdefault(r.response_id, set()).add(r.body)
        assert all(len(b) == 1 for b in bodies.values())  # at most re-POSTed, never a different response
        assert all(before[rid] in bodies[rid] for rid in before)
        assert _wait("all delivered", lambda: _journal_states(gateway, user) == [("delivered", "I0")] * 12)
        rebuilt = [r for r in _rows(gateway, GatewayMessage, user) if r.counter >= 108]
        assert [r.log_seq is not None and r.trt_class == "on_demand" for r in rebuilt] == [True] * 4

        # phase 2: responses kept while the endpoint is down, then kill -9
        for c in (200, 201, 202):
            assert _send(gateway, _request(keys, kept_user, c)) == "I99"
        # the Northbound probes a down endpoint with one message at a time (its User backs off), so the other
        # kept responses wait unattempted behind the first (docs/decisions/0027-northbound-dispatcher.md)
        def probed() -> bool:
            rows = _rows(gateway, GatewayResponse, kept_user)
            return len(rows) == 3 and any(r.attempts >= 1 for r in rows)

        _wait("kept after failed attempts", probed, timeout=30)
        os.kill(gateway.process.pid, signal.SIGKILL)
        gateway.process.wait(10)
        kept = {r.response_id: r.body for r in _rows(gateway, GatewayResponse, kept_user)}
        assert len(kept) == 3 and later.received == []
        later.start()
        gateway.start()
        delivered = later.wait_for(3, timeout=30)
        assert {r.response_id: r.body for r in delivered} == kept  # the same responses, each once
        assert _wait("delivered", lambda: _journal_states(gateway, kept_user) == [("delivered", "I0")] * 3)
        time.sleep(0.5)
        assert len(later.received) == 3  # nothing sent twice
    finally:
        endpoint.stop()
        later.stop()
        _stop(gateway.process)
