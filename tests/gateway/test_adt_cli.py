"""`gbsmart gateway adt set|show|sign|upload|add-officer` and `gbsmart gateway quarantine list|action`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.config import get_settings
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.gateway.store import save_certificates
from gbsmart.models.adt import QuarantinedRequest
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, DccUserRole, Organisation, Person, PersonRole
from tests.gateway.conftest import DEVICE, SUPPLIER

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args), terminal_width=220)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def test_thresholds_set_shown_uploaded_and_quarantine_actioned_from_the_command_line(cli_env, organisations):
    settings = get_settings()
    engine = make_engine(settings.resolved_database_url())
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with make_sessionmaker(engine)() as session:
        org = Organisation(name="Supplier Ltd", kind="sec_party", created_at=now)
        session.add(org)
        session.flush()
        session.add_all([
            DccUser(organisation_id=org.id, eui64=SUPPLIER, role_rows=[DccUserRole(role="IS")]),
            Person(username="aro", full_name="Ann Officer", organisation_id=org.id, created_at=now,
                   role_rows=[PersonRole(role="authorised_responsible_officer")]),
            QuarantinedRequest(request_id=f"{SUPPLIER}:{DEVICE}:5", originator=SUPPLIER, counter=5, srv="4.1.1",
                               service="serviceS", log_seq=5, breach="user", threshold=3, count=4, status="held",
                               body="<x/>", received_at=now),
            GatewayMessage(request_id=f"{SUPPLIER}:{DEVICE}:5", originator=SUPPLIER, target=DEVICE, counter=5,
                           srv="4.1.1", command_variant=1, service="serviceS", state="quarantined", code="I99",
                           received_at=now)])
        session.commit()
    save_certificates(settings, SUPPLIER, organisations[SUPPLIER].certificate.public_bytes(serialization.Encoding.PEM))

    assert _run("gateway", "adt", "set", "4.1.1", "--dcc", "--quarantine", "5000").exit_code == 0
    done = _run("gateway", "adt", "set", "4.1.2", "--user", SUPPLIER, "--warning", "10", "--quarantine", "20")
    assert done.exit_code == 0 and "warning over 10, quarantine over 20, per 86400 s" in done.output
    bad = _run("gateway", "adt", "set", "4.1.2", "--user", SUPPLIER, "--warning", "30", "--quarantine", "20")
    assert bad.exit_code == 1 and "above the quarantine threshold" in bad.output

    adt = cli_env / "thresholds.csv"
    adt.write_text(f"user_id,srv,warning,quarantine\n{SUPPLIER},4.1.1,100,200\n")
    key_file = cli_env / "supplier.key"
    key_file.write_bytes(_pem_key(organisations[SUPPLIER].key))
    assert _run("gateway", "adt", "upload", str(adt)).exit_code == 1  # no signature yet
    assert _run("gateway", "adt", "sign", str(adt), "--key", str(key_file)).exit_code == 0
    uploaded = _run("gateway", "adt", "upload", str(adt))
    assert uploaded.exit_code == 0, uploaded.output
    assert "warning over 100, quarantine over 200, per 86400 s (was the default)" in uploaded.output
    adt.write_text(f"user_id,srv,warning,quarantine\n{SUPPLIER},4.1.1,100,250\n{SUPPLIER},4.1.2,15,20\n")
    assert _run("gateway", "adt", "sign", str(adt), "--key", str(key_file)).exit_code == 0
    again = _run("gateway", "adt", "upload", str(adt))  # what the second file changed, before and after
    assert again.exit_code == 0, again.output
    assert "4.1.1: warning over 100, quarantine over 250, per 86400 s (was 100 / 200)" in again.output
    assert "4.1.2: warning over 15, quarantine over 20, per 86400 s (was 10 / 20)" in again.output
    adt.write_text(f"user_id,srv,warning,quarantine\n{SUPPLIER},4.1.1,100,200\n")
    assert _run("gateway", "adt", "sign", str(adt), "--key", str(key_file)).exit_code == 0
    assert _run("gateway", "adt", "upload", str(adt)).exit_code == 0
    shown = _run("gateway", "adt", "show")
    assert shown.exit_code == 0 and "4.1.2" in shown.output and "200" in shown.output and "5000" in shown.output
    adt.write_text(f"user_id,srv,warning,quarantine\n{SUPPLIER},4.1.1,100,900\n")  # changed after signing
    tampered = _run("gateway", "adt", "upload", str(adt))
    assert tampered.exit_code == 1 and "signature" in tampered.output and "does not verify" in tampered.output

    officer = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Ann Officer")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(officer.public_key())
            .serial_number(3).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=9))
            .sign(officer, hashes.SHA256()))
    (cli_env / "aro.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (cli_env / "aro.key").write_bytes(_pem_key(officer))
    assert _run("gateway", "adt", "add-officer", "aro", str(cli_env / "aro.pem")).exit_code == 0
    listed = _run("gateway", "quarantine", "list", "--status", "held")
    assert listed.exit_code == 0 and f"{SUPPLIER}:{DEVICE}:5" in listed.output
    action = cli_env / "release.csv"
    action.write_text(f"user_id,request_id,action\n{SUPPLIER},{SUPPLIER}:{DEVICE}:5,release\n")
    assert _run("gateway", "adt", "sign", str(action), "--key", str(cli_env / "aro.key")).exit_code == 0
    released = _run("gateway", "quarantine", "action", str(action), "--as", "aro")
    assert released.exit_code == 0, released.output
    assert "released" in released.output and "Ann Officer (aro)" in released.output
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(QuarantinedRequest.status)) == "released"
        assert session.scalar(select(GatewayMessage.state)) == "released"
    engine.dispose()
