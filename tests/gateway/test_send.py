"""`gbsmart gateway send` against a real `gbsmart gateway serve` process: signed with a test key (made and
trusted on first use, refused unless allowed) or a given key, sent to the service its SRV goes to, the answer
printed, and a non-zero exit on an HTTP refusal."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.config import Settings, get_settings
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.core.signing import write_certificates, write_private_key
from gbsmart.gateway.send import TEST_KEY_NAME, paths_of_test_key
from gbsmart.gateway.store import load_keystore, save_certificates
from gbsmart.models.gateway import GatewayMessage
from tests.gateway.conftest import DEVICE, NETWORK_OPERATOR, SUPPLIER, request_xml
from tests.gateway.test_server import ROOT, Running, _free_port, _seed, _start, _stop


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("send")
    url = f"sqlite:///{tmp / 'gateway.db'}"
    _seed(url)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": url,
           "GBSMART_DATA_DIR": str(tmp / "var"), "GBSMART_GATEWAY_REFRESH_SECONDS": "0.5"}
    env["GBSMART_GATEWAY_ALLOW_TEST_KEYS"] = "true"  # the gateway trusts test keys only with this (store.py)
    port = _free_port()
    running = Running(f"http://127.0.0.1:{port}", env, port, _start(env, port), tmp / "var", url)
    yield running
    _stop(running.process)


@pytest.fixture(autouse=True)
def _wide_consoles(monkeypatch):
    from gbsmart.core.cli_support import console, err_console

    monkeypatch.setattr(console, "_width", 250)
    monkeypatch.setattr(err_console, "_width", 250)


@dataclass
class Sent:
    returncode: int
    stdout: str
    stderr: str


def _send(gateway: Running, *args: str, allow: bool = True) -> Sent:
    """The command in this process (CliRunner), against the gateway process, with the gateway's settings."""
    env = {k: gateway.env[k] for k in ("GBSMART_DATABASE_URL", "GBSMART_DATA_DIR")}
    env["GBSMART_GATEWAY_REFRESH_SECONDS"] = "0.5"
    env["GBSMART_GATEWAY_ALLOW_TEST_KEYS"] = "true" if allow else "false"
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["gateway", "send", *args, "--url", gateway.url], env=env,
                                    terminal_width=250)
    finally:
        get_settings.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Sent(result.exit_code, result.stdout, result.stderr)


def test_send_signs_with_a_test_key_sends_and_prints_the_answer(gateway, tmp_path):
    request = tmp_path / "read.xml"
    request.write_bytes(request_xml(request_id=f"{SUPPLIER}:{DEVICE}:1000"))
    settings = Settings(data_dir=gateway.data_dir)

    refused = _send(gateway, str(request), "--test-key", allow=False)
    assert refused.returncode == 1 and "GBSMART_GATEWAY_ALLOW_TEST_KEYS" in refused.stderr
    assert not paths_of_test_key(settings, SUPPLIER)[0].exists()

    first = _send(gateway, str(request), "--test-key")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "made a TEST KEY" in first.stdout and "/api/v1/serviceS: HTTP 200" in first.stdout
    assert "Response Code: I99" in first.stdout and "<sr:ResponseCode>I99</sr:ResponseCode>" in first.stdout
    key_path, cert_path = paths_of_test_key(settings, SUPPLIER)
    assert key_path.exists() and cert_path.exists()
    allowing = Settings(data_dir=gateway.data_dir, gateway_allow_test_keys=True)
    trusted = load_keystore(allowing).for_user(SUPPLIER)
    assert any(TEST_KEY_NAME in e.certificate.subject.rfc4514_string() for e in trusted)
    # a gateway without the setting does not trust it, though the certificate stays saved
    assert not any(TEST_KEY_NAME in e.certificate.subject.rfc4514_string()
                   for e in load_keystore(settings).for_user(SUPPLIER))

    # the same counter again: the gateway's 409, printed, and a non-zero exit
    again = _send(gateway, str(request), "--test-key")
    assert again.returncode == 1 and "HTTP 409" in again.stdout and "not greater than 1000" in again.stdout
    assert "made a TEST KEY" not in again.stdout  # made once

    # --counter auto: a fresh counter above the last one, accepted
    auto = _send(gateway, str(request), "--test-key", "--counter", "auto")
    assert auto.returncode == 0 and "Response Code: I99" in auto.stdout, auto.stdout + auto.stderr
    counter = int(auto.stdout.split(f"{SUPPLIER}:{DEVICE}:")[1].split()[0])
    assert counter > 10**15
    rows = gateway.journal(f"{SUPPLIER}:{DEVICE}:{counter}")
    assert [r.state for r in rows] == ["acknowledged"]

    # an E-code is a DUIS Response: printed with its plain-English reason, exit 0
    unknown = tmp_path / "unknown.xml"
    unknown.write_bytes(request_xml(request_id=f"{SUPPLIER}:00-DB-12-34-56-78-90-FF:1"))
    e19 = _send(gateway, str(unknown), "--test-key", "--counter", "auto")
    assert e19.returncode == 0 and "Response Code: E19" in e19.stdout and "Explanation: " in e19.stdout
    assert "Unknown device" in e19.stdout  # the code's title from the codes catalogue (core/codes.toml)

    # a non-device request goes to Non-Device by its SRV and Command Variant
    inventory = tmp_path / "inventory.xml"
    inventory.write_bytes(request_xml(
        request_id=f"{SUPPLIER}:90-B3-D5-1F-30-00-00-02:1", cv="8", sr="8.2", srv="8.2",
        body=f"<sr:ReadInventory><sr:DeviceID>{DEVICE}</sr:DeviceID></sr:ReadInventory>"))
    read = _send(gateway, str(inventory), "--test-key", "--counter", "auto")
    assert "/api/v1/serviceD: HTTP 200" in read.stdout and "Response Code: I0" in read.stdout, read.stdout


def test_send_signs_with_a_given_key_and_shows_a_refusal(gateway, organisations, tmp_path):
    settings = Settings(data_dir=gateway.data_dir)
    operator = organisations[NETWORK_OPERATOR]
    save_certificates(settings, NETWORK_OPERATOR, operator.certificate.public_bytes(Encoding.PEM))
    time.sleep(1.0)  # the gateway re-reads its certificates every 0.5 s here
    key, cert = tmp_path / "no.key", tmp_path / "no.pem"
    write_private_key(key, operator.key)
    write_certificates(cert, operator.certificate)
    request = tmp_path / "read.xml"
    request.write_bytes(request_xml(request_id=f"{SUPPLIER}:{DEVICE}:1"))
    # the Network Operator's key on the Supplier's request: the gateway's 403
    other = _send(gateway, str(request), "--key", str(key), "--certificate", str(cert), "--counter", "auto")
    assert other.returncode == 1 and "HTTP 403" in other.stdout and "signed_by_another_user" in other.stdout
    # a key with another key's certificate is refused before anything is sent
    wrong = tmp_path / "wrong.pem"
    write_certificates(wrong, organisations[SUPPLIER].certificate)
    mismatch = _send(gateway, str(request), "--key", str(key), "--certificate", str(wrong))
    assert mismatch.returncode == 1 and "is not the certificate of the key" in mismatch.stderr
    both = _send(gateway, str(request), "--key", str(key), "--certificate", str(cert), "--test-key")
    assert both.returncode == 2
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>")
    assert _send(gateway, str(bad), "--test-key").returncode == 1
    engine = make_engine(gateway.database_url)
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(GatewayMessage).where(GatewayMessage.counter == 1,
                                                           GatewayMessage.target == DEVICE)) is None
    engine.dispose()
