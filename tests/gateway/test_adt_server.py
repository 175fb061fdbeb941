"""Anomaly detection through a real `gbsmart gateway serve` process: warned, quarantined over HTTP, released by a
Senior Responsible Officer's signed action file (then processed), deleted, and still counted after a restart."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import select

import gbsmart.models  # noqa: F401  (registers every table)
from gbsmart.config import Settings
from gbsmart.core.clock import SystemClock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.core.security import hash_password
from gbsmart.gateway import adt_service
from gbsmart.gateway.adt import sign_file
from gbsmart.gateway.matrix import WebService
from gbsmart.gateway.store import save_certificates
from gbsmart.gateway.xml import SUG_NS
from gbsmart.models.adt import AdtThreshold, AdtWarning, DccAlert, QuarantinedRequest
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, Person, PersonRole
from tests.gateway.test_server import (
    LOAD_USER,
    ROOT,
    Running,
    _free_port,
    _load_request,
    _load_user,
    _seed,
    _start,
    _stop,
)


@pytest.fixture(scope="module")
def adt_gateway(tmp_path_factory):
    """A gateway whose LOAD_USER has a warning threshold of 1 and a quarantine threshold of 2 for 4.1.1 a day."""
    tmp = tmp_path_factory.mktemp("adt-gateway")
    url = f"sqlite:///{tmp / 'gateway.db'}"
    _seed(url)
    user = _load_user()
    engine = make_engine(url)
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as session:
        org = session.scalar(select(DccUser.organisation_id).where(DccUser.eui64 == LOAD_USER))
        session.add(AdtThreshold(user_id=LOAD_USER, srv="4.1.1", period_seconds=86400, warning=1, quarantine=2,
                                 set_at=now, set_by="test"))
        session.add(Person(username="sro", full_name="Sam Officer", organisation_id=org, created_at=now,
                           password_hash=hash_password("x"), role_rows=[PersonRole(role="senior_responsible_officer")]))
        session.commit()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": url,
           "GBSMART_DATA_DIR": str(tmp / "var"), "GBSMART_GATEWAY_REFRESH_SECONDS": "0.3"}
    settings = Settings(data_dir=tmp / "var", database_url=url)
    save_certificates(settings, LOAD_USER, user.certificate.public_bytes(encoding=Encoding.PEM))
    port = _free_port()
    running = Running(f"http://127.0.0.1:{port}", env, port, _start(env, port), tmp / "var", url)
    yield running, user, engine, settings
    _stop(running.process)
    engine.dispose()


#: what an accepted device request's journal row says while and after the device simulator answers it
GOING_ON = {"acknowledged", "completed", "undelivered", "delivered"}


def _wait(engine, query, predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        with make_sessionmaker(engine)() as session:
            rows = list(session.scalars(query))
            if predicate(rows):
                return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s ({rows})")
        time.sleep(0.1)


def _code(body: bytes) -> str:
    return etree.fromstring(body).findtext(f"{{{SUG_NS}}}Header/{{{SUG_NS}}}ResponseCode") or ""


def test_over_the_threshold_a_request_is_quarantined_then_released_or_deleted_by_a_signed_action_file(adt_gateway):
    gateway, user, engine, settings = adt_gateway
    answers = [gateway.post(WebService.SEND_COMMAND, _load_request(user, c)) for c in (101, 102, 103, 104)]
    assert [(a.status_code, _code(a.content)) for a in answers] == [(200, "I99")] * 4
    assert ["x-duis-quarantined" in a.headers for a in answers] == [False, False, True, True]
    assert "over your quarantine threshold of 2" in answers[2].headers["x-duis-explanation"]
    rid = {c: f"{LOAD_USER}:00-DB-12-34-56-78-90-A0:{c}" for c in (101, 102, 103, 104, 105)}

    held = _wait(engine, select(QuarantinedRequest).order_by(QuarantinedRequest.counter), lambda r: len(r) == 2,
                 "two requests held")
    assert [(q.counter, q.status, q.breach, q.count) for q in held] == [(103, "held", "user", 3),
                                                                        (104, "held", "user", 4)]
    assert str(held[0].log_seq) == answers[2].headers["x-duis-quarantined"]
    journal = _wait(engine, select(GatewayMessage).where(GatewayMessage.originator == LOAD_USER)
                    .order_by(GatewayMessage.counter), lambda r: len(r) == 4, "journal rows")
    assert [m.state in GOING_ON for m in journal[:2]] == [True, True]  # the simulator answers them later
    assert [m.state for m in journal[2:]] == ["quarantined", "quarantined"]
    alerts = _wait(engine, select(DccAlert), lambda r: len(r) == 2, "DCC Alerts")
    assert {a.request_id for a in alerts} == {rid[103], rid[104]} and all(a.delivered_at is None for a in alerts)
    assert "ADUserThresholdBreach" in alerts[0].detail
    warned = _wait(engine, select(AdtWarning), lambda r: len(r) == 1, "one warning")
    assert (warned[0].request_id, warned[0].threshold) == (rid[102], 1)

    # the Supplier's SRO signs an action file; the DCC's operator applies it (as the CLI does)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sam Officer")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
            .sign(key, hashes.SHA256()))
    action = f"user_id,request_id,action\n{LOAD_USER},{rid[103]},release\n{LOAD_USER},{rid[104]},delete\n".encode()
    with make_sessionmaker(engine)() as session:
        ctx = Ctx(session=session, actor=Actor.system("dcc-operator"), clock=SystemClock(), settings=settings)
        adt_service.add_officer_certificate(ctx, "sro", cert.public_bytes(Encoding.PEM))
        outcome = adt_service.apply_action_file(ctx, action, sign_file(action, key))
    assert outcome.officer == "Sam Officer (sro)"

    # the gateway picks the release up at its next refresh and processes it as an accepted request
    processed = _wait(engine, select(QuarantinedRequest).where(QuarantinedRequest.counter == 103),
                      lambda r: r[0].status == "processed", "released request processed")
    assert processed[0].processed_at is not None
    states = _wait(engine, select(GatewayMessage).where(GatewayMessage.originator == LOAD_USER)
                   .order_by(GatewayMessage.counter), lambda r: r[2].state in GOING_ON, "journal updated")
    assert [(m.counter, m.state in GOING_ON) for m in states[:3]] == [(101, True), (102, True), (103, True)]
    assert (states[3].counter, states[3].state) == (104, "deleted")
    # the journal says who released it until the device's response replaces the explanation (on a loaded machine
    # the simulator may answer before this reads); the quarantine row keeps the officer for good
    assert processed[0].actioned_by == "Sam Officer (sro)"
    if states[2].state == "acknowledged":
        assert "released from quarantine by Sam Officer" in states[2].explanation
    assert "deleted from quarantine" in states[3].explanation

    # a restart rebuilds the count from the journal: the next request is still over the threshold
    _stop(gateway.process)
    gateway.start()
    again = gateway.post(WebService.SEND_COMMAND, _load_request(user, 105))
    assert _code(again.content) == "I99" and "request 5 for this SRV" in again.headers["x-duis-explanation"]
