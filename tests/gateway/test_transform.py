"""Transform, Pre-Commands and Signed Pre-Commands (DP104), and certificate validity (gateway.transform, .validity).

In-process checks of the payload, its signature and each refusal first; then the round trip over real HTTP
through `gbsmart gateway serve` subprocesses: our own Users' keys (an XML signing key and a separate command
signing key), DCC Boxed's templates signed by its own tool with its ZAZ1 keys, and certificates out of date under
both policies.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import select

from gbsmart.config import Settings
from gbsmart.core.db import make_engine, make_sessionmaker
from gbsmart.gateway.duis import DuisCodec
from gbsmart.gateway.keystore import Keystore
from gbsmart.gateway.matrix import WebService
from gbsmart.gateway.signatures import sign
from gbsmart.gateway.store import save_boxed_material, save_certificates
from gbsmart.gateway.transform import (
    E_NO_PRE_COMMAND,
    E_SAME_KEY,
    E_SIGNATURE,
    IssuedPreCommand,
    boxed_command_key,
    check_signed_pre_command,
    load_command_keystore,
    pre_command_payload,
    save_command_certificates,
    sign_pre_command,
)
from gbsmart.gateway.validity import CertificateOutsideValidity, check_validity, mark_test_certificate
from gbsmart.gateway.xml import SUG_NS, duis_schema
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, DccUserRole
from gbsmart.models.pre_commands import GatewayPreCommand
from tests.gateway.boxed import _example, _without_signature
from tests.gateway.test_server import SUPPLIER, Running, _code, _free_port, _seed, _start, _stop, _with_counter

DEVICE = "00-DB-12-34-56-78-90-A0"
CRITICAL = "90-B3-D5-1F-30-06-00-00"  # a Supplier User ID with our own XML and command signing keys
EXPIRED = "90-B3-D5-1F-30-07-00-00"   # one whose XML signing certificate expired
NOW = datetime.now(UTC)
CODEC = DuisCodec(duis_schema())
_ACTIVATE = ("<sr:ActivateFirmware><sr:FirmwareHash>AA758690730934FF0685AA758690730934FF0685657788990011223344556677"
             "</sr:FirmwareHash></sr:ActivateFirmware>")


class Keys:
    """One User's XML signing key and command signing key, each with a certificate naming its User ID."""

    def __init__(self, user_id: str, *, serial: int, xml_days: tuple[int, int] = (-1, 30)) -> None:
        self.user_id = user_id
        self.xml_key, self.xml_cert = _issue(user_id, "87", serial, *xml_days)
        self.command_key, self.command_cert = _issue(user_id, "02", serial + 1, -1, 30)


def _issue(user_id: str, role: str, serial: int, start_days: int, end_days: int,
           ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                         x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER,
                                            b"\x00" + bytes.fromhex(user_id.replace("-", "")),
                                            _type=_ASN1Type.BitString)])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gbsmart transform test CA")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(serial).not_valid_before(NOW + timedelta(days=start_days))
            .not_valid_after(NOW + timedelta(days=end_days)).sign(key, hashes.SHA256()))
    return key, cert


def _request(user: str, counter: int, *, cv: int = 4, sr: str = "11.3", srv: str = "11.3", body: str = _ACTIVATE,
             target: str = DEVICE) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="{SUG_NS}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>{user}:{target}:{counter}</sr:RequestID><sr:CommandVariant>{cv}</sr:CommandVariant>"
            f"<sr:ServiceReference>{sr}</sr:ServiceReference><sr:ServiceReferenceVariant>{srv}"
            f"</sr:ServiceReferenceVariant></sr:Header><sr:Body>{body}</sr:Body></sr:Request>").encode()


def _signed_pre_command(user: str, counter: int, gbcs: bytes, **kw) -> bytes:
    body = (f"<sr:SignedPreCommand><sr:GBCSPayload>{base64.b64encode(gbcs).decode()}</sr:GBCSPayload>"
            "</sr:SignedPreCommand>")
    return _request(user, counter, cv=kw.pop("cv", 5), body=body, **kw)


def _pre_command(response_xml: bytes) -> bytes:
    found = etree.fromstring(response_xml).findtext(f".//{{{SUG_NS}}}PreCommand/{{{SUG_NS}}}GBCSPayload")
    assert found, response_xml[:600]
    return base64.b64decode(found)


# ---------------------------------------------------------------- in-process


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(CRITICAL, serial=0x7100)


def _issued(request_xml: bytes, xml_cert: x509.Certificate, *, state: str = "issued") -> IssuedPreCommand:
    request = CODEC.parse(request_xml)
    spki = xml_cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    return IssuedPreCommand(1, CRITICAL, DEVICE, request.request_id.counter, request.service_reference_variant,
                            pre_command_payload(request), spki, state, NOW, None)


def _stores(keys: Keys) -> tuple[Keystore, Keystore]:
    xml, commands = Keystore(), Keystore()
    xml.add(CRITICAL, keys.xml_cert)
    commands.add(CRITICAL, keys.command_cert)
    return xml, commands


def _check(keys: Keys, gbcs: bytes, issued: IssuedPreCommand | None, *, counter: int = 10, settings=None, **kw):
    xml, commands = _stores(keys)
    spc = CODEC.parse(sign(etree.fromstring(_signed_pre_command(CRITICAL, counter, gbcs, **kw)), keys.xml_key,
                           keys.xml_cert))
    return check_signed_pre_command(spc, issued, xml.for_user(CRITICAL)[0], commands, NOW,
                                    settings=settings or Settings())


def test_the_pre_command_is_deterministic_framed_as_gbcs_general_signing_and_binds_the_request():
    first, again = CODEC.parse(_request(CRITICAL, 10)), CODEC.parse(_request(CRITICAL, 10))
    payload = pre_command_payload(first)
    assert payload == pre_command_payload(again)
    assert payload[0] == 0xDF and payload[-1] == 0 and payload[1] == 0x09
    assert payload[2:10] == (10).to_bytes(8, "big") and payload[10:18] == bytes.fromhex(CRITICAL.replace("-", ""))
    other_body = CODEC.parse(_request(CRITICAL, 10, body=_ACTIVATE.replace("AA75", "BB75")))
    assert pre_command_payload(other_body) != payload and pre_command_payload(CODEC.parse(_request(CRITICAL, 11))) \
        != payload


def test_a_pre_command_signed_with_the_command_key_is_accepted(keys):
    issued = _issued(_request(CRITICAL, 10), keys.xml_cert)
    verdict = _check(keys, sign_pre_command(issued.payload, keys.command_key), issued)
    assert verdict.code is None and verdict.certificate is not None
    assert verdict.certificate.certificate == keys.command_cert


def test_dp104_a_pre_command_signed_with_the_duis_xml_key_is_refused(keys):
    issued = _issued(_request(CRITICAL, 10), keys.xml_cert)
    verdict = _check(keys, sign_pre_command(issued.payload, keys.xml_key), issued)
    assert verdict.code == E_SAME_KEY and "DP104" in verdict.explanation and "separate keys" in verdict.explanation
    # the Transform request's XML key counts too, though another XML key signed the Signed Pre-Command
    other_xml_key, other_xml_cert = _issue(CRITICAL, "87", 0x7190, -1, 30)
    issued = _issued(_request(CRITICAL, 10), other_xml_cert)
    verdict = _check(keys, sign_pre_command(issued.payload, other_xml_key), issued)
    assert verdict.code == E_SAME_KEY and "Transform request" in verdict.explanation


def test_a_changed_payload_an_unknown_key_or_no_pre_command_is_refused(keys):
    issued = _issued(_request(CRITICAL, 10), keys.xml_cert)
    good = sign_pre_command(issued.payload, keys.command_key)
    changed = bytearray(good)
    changed[20] ^= 0x01  # a byte of the Pre-Command the signature covers
    assert _check(keys, bytes(changed), issued).code == E_NO_PRE_COMMAND
    bad_signature = good[:-1] + bytes((good[-1] ^ 0x01,))
    refused = _check(keys, bad_signature, issued)
    assert refused.code == E_SIGNATURE and "does not verify" in refused.explanation
    stranger, _ = _issue(CRITICAL, "02", 0x7191, -1, 30)
    assert _check(keys, sign_pre_command(issued.payload, stranger), issued).code == E_SIGNATURE
    never = _check(keys, good, None)
    assert never.code == E_NO_PRE_COMMAND and "issued no Pre-Command" in never.explanation
    used = _check(keys, good, _issued(_request(CRITICAL, 10), keys.xml_cert, state="accepted"))
    assert used.code == E_NO_PRE_COMMAND and "already signed and accepted" in used.explanation
    other_srv = _check(keys, good, issued, sr="11.1", srv="11.1")
    assert other_srv.code == E_NO_PRE_COMMAND and "was issued for 11.3" in other_srv.explanation


def test_certificate_validity_enforce_warn_and_the_boxed_test_marker(tmp_path, caplog):
    key, cert = _issue(CRITICAL, "87", 0x7192, -400, -10)
    entry = Keystore().add(CRITICAL, cert)
    enforce = Settings(data_dir=tmp_path)
    with pytest.raises(CertificateOutsideValidity) as refused:
        check_validity(enforce, entry, NOW, what="DUIS XML signing", directory=tmp_path)
    assert f"serial {0x7192}" in refused.value.message and "expired on" in refused.value.message
    assert f"{cert.not_valid_after_utc:%Y-%m-%d}" in refused.value.message
    assert "GBSMART_GATEWAY_ALLOW_EXPIRED_TEST_CERTIFICATES" in refused.value.message
    with caplog.at_level(logging.WARNING, logger="gbsmart.gateway.validity"):
        check_validity(Settings(data_dir=tmp_path, gateway_certificate_validity="warn"), entry, NOW,
                       what="DUIS XML signing", directory=tmp_path)
    assert "accepted because GBSMART_GATEWAY_CERTIFICATE_VALIDITY is warn" in caplog.text
    allow = Settings(data_dir=tmp_path, gateway_allow_expired_test_certificates=True)
    with pytest.raises(CertificateOutsideValidity):  # allowed past expiry only when marked as a test certificate
        check_validity(allow, entry, NOW, what="DUIS XML signing", directory=tmp_path)
    (tmp_path / CRITICAL).mkdir()
    mark_test_certificate(tmp_path / CRITICAL / f"{0x7192}.pem")
    check_validity(allow, entry, NOW, what="DUIS XML signing", directory=tmp_path)
    with pytest.raises(CertificateOutsideValidity):  # ... and the setting says so
        check_validity(enforce, entry, NOW, what="DUIS XML signing", directory=tmp_path)
    _, future = _issue(CRITICAL, "87", 0x7193, 10, 400)
    with pytest.raises(CertificateOutsideValidity, match="is not valid until"):
        check_validity(allow, Keystore().add(CRITICAL, future), NOW, what="DUIS XML signing", directory=tmp_path)


def test_an_expired_command_certificate_is_refused_under_enforce(keys, tmp_path):
    old_key, old_cert = _issue(CRITICAL, "02", 0x7194, -400, -10)
    issued = _issued(_request(CRITICAL, 10), keys.xml_cert)
    xml, commands = Keystore(), Keystore()
    xml.add(CRITICAL, keys.xml_cert)
    commands.add(CRITICAL, old_cert)
    spc = CODEC.parse(sign(etree.fromstring(_signed_pre_command(
        CRITICAL, 10, sign_pre_command(issued.payload, old_key))), keys.xml_key, keys.xml_cert))
    refused = check_signed_pre_command(spc, issued, xml.for_user(CRITICAL)[0], commands, NOW,
                                       settings=Settings(data_dir=tmp_path))
    assert refused.code == E_SIGNATURE and "command signing certificate serial" in refused.explanation
    warned = check_signed_pre_command(spc, issued, xml.for_user(CRITICAL)[0], commands, NOW,
                                      settings=Settings(data_dir=tmp_path, gateway_certificate_validity="warn"))
    assert warned.code is None


def test_the_boxed_jar_gives_command_certificates_marked_as_test_ones(boxed, tmp_path):
    settings = Settings(data_dir=tmp_path)
    save_boxed_material(settings, boxed.material, dsp_key=False)
    commands = load_command_keystore(settings)
    entries = commands.for_user(SUPPLIER)  # ZAZ1's Z1 and Z1b Supplier Digital Signing certificates
    _, cert = boxed_command_key(boxed.material, SUPPLIER)
    assert cert in [e.certificate for e in entries] and len(entries) == 2
    assert all(e.certificate.not_valid_after_utc < NOW for e in entries)  # expired in 2025 and January 2026
    assert len(commands.for_user("90-B3-D5-1F-30-02-00-00")) == 2  # the Network Operator's too
    directory = settings.resolved_gateway_dir() / "command-certificates"
    assert all((directory / SUPPLIER / f"{e.serial}.test").exists() for e in entries)
    assert list((settings.resolved_gateway_dir() / "certificates" / SUPPLIER).glob("*.test"))
    supplier = next(e for e in entries if e.certificate == cert)
    with pytest.raises(CertificateOutsideValidity):
        check_validity(settings, supplier, NOW, what="command signing", directory=directory)
    check_validity(Settings(data_dir=tmp_path, gateway_allow_expired_test_certificates=True), supplier, NOW,
                   what="command signing", directory=directory)


def test_pre_commands_are_kept_found_and_accepted_once_on_both_databases(engine, keys, tmp_path):
    from gbsmart.gateway.transform import PreCommands

    store = PreCommands(Settings(data_dir=tmp_path))
    store.start(make_sessionmaker(engine))
    request = CODEC.parse(_request(CRITICAL, 42))
    xml = Keystore()
    entry = xml.add(CRITICAL, keys.xml_cert)
    store._insert(request, pre_command_payload(request), entry, NOW)
    issued = store._find(CRITICAL, 42)
    assert issued is not None and issued.state == "issued" and issued.payload == pre_command_payload(request)
    assert store._find(CRITICAL, 43) is None and store._find(SUPPLIER, 42) is None
    assert store._accept(issued.id, keys.command_cert.serial_number, NOW) is True
    assert store._accept(issued.id, keys.command_cert.serial_number, NOW) is False  # once only
    accepted = store._find(CRITICAL, 42)
    assert accepted is not None and accepted.state == "accepted" and accepted.accepted_at == NOW


# ---------------------------------------------------------------- over HTTP, through `gbsmart gateway serve`


def _seed_users(url: str, *user_ids: str) -> None:
    """More Supplier User IDs in the DCC Boxed Test Supplier's organisation (registered for the demo devices)."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        supplier = session.scalar(select(DccUser).where(DccUser.eui64 == SUPPLIER))
        for user_id in user_ids:
            session.add(DccUser(organisation_id=supplier.organisation_id, eui64=user_id,
                                role_rows=[DccUserRole(role="IS")]))
        session.commit()
    engine.dispose()


def _gateway(tmp: Path, boxed, users: dict[str, Keys], **env: str) -> Running:
    url = f"sqlite:///{tmp / 'gateway.db'}"
    _seed(url)
    _seed_users(url, *users)
    settings = Settings(data_dir=tmp / "var")
    save_boxed_material(settings, boxed.material, dsp_key=True)
    for user in users.values():
        save_certificates(settings, user.user_id, user.xml_cert.public_bytes(Encoding.PEM))
        save_command_certificates(settings, user.user_id, user.command_cert.public_bytes(Encoding.PEM))
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
                   "GBSMART_DATABASE_URL": url, "GBSMART_DATA_DIR": str(tmp / "var"),
                   "GBSMART_GATEWAY_REFRESH_SECONDS": "0.5", **env}
    port = _free_port()
    return Running(f"http://127.0.0.1:{port}", environment, port, _start(environment, port), tmp / "var", url)


@pytest.fixture(scope="module")
def expired_user() -> Keys:
    return Keys(EXPIRED, serial=0x7300, xml_days=(-400, -10))


@pytest.fixture(scope="module")
def gateway(boxed, keys, expired_user, tmp_path_factory):
    """The default policy (enforce), with DCC Boxed's expired test certificates allowed as scripts/run does."""
    running = _gateway(tmp_path_factory.mktemp("transform"), boxed, {CRITICAL: keys, EXPIRED: expired_user},
                       GBSMART_GATEWAY_ALLOW_EXPIRED_TEST_CERTIFICATES="true")
    yield running
    _stop(running.process)


def _post(gateway: Running, service: WebService, data: bytes, keys: Keys):
    return gateway.post(service, sign(etree.fromstring(data), keys.xml_key, keys.xml_cert))


def _pre_command_rows(gateway: Running, counter: int) -> list[GatewayPreCommand]:
    engine = make_engine(gateway.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(GatewayPreCommand).where(GatewayPreCommand.counter == counter)))
    finally:
        engine.dispose()


def test_transform_then_the_signed_pre_command_is_acknowledged_once(gateway, keys):
    transform = _post(gateway, WebService.TRANSFORM, _request(CRITICAL, 100), keys)
    assert transform.status_code == 200 and _code(transform) == "I0", transform.text
    payload = _pre_command(transform.content)
    assert payload[0] == 0xDF and payload[2:10] == (100).to_bytes(8, "big")
    [row] = _pre_command_rows(gateway, 100)
    assert (row.originator, row.state, row.payload) == (CRITICAL, "issued", payload)
    rid = f"{CRITICAL}:{DEVICE}:100"
    [answered] = gateway.journal(rid)
    assert (answered.state, answered.code, answered.trt_class, answered.service) == ("answered", "I0", "transform",
                                                                                     "serviceT")
    signed = sign_pre_command(payload, keys.command_key)
    accepted = _post(gateway, WebService.SEND_COMMAND, _signed_pre_command(CRITICAL, 100, signed), keys)
    assert _code(accepted) == "I99", accepted.headers.get("x-duis-explanation")
    assert _pre_command_rows(gateway, 100)[0].state == "accepted"
    rows = gateway.journal(rid, wait=0)
    while len(rows) < 2:
        rows = gateway.journal(rid)
    assert [(r.service, r.state, r.code) for r in rows] == [("serviceT", "answered", "I0"),
                                                            ("serviceS", "acknowledged", "I99")]
    assert rows[1].log_seq is not None and rows[1].command_variant == 5
    again = _post(gateway, WebService.SEND_COMMAND, _signed_pre_command(CRITICAL, 100, signed), keys)
    assert _code(again) == E_NO_PRE_COMMAND and "already signed and accepted" in again.headers["x-duis-explanation"]
    # the counter goes on from the Transform request's; a later request is served
    assert _code(_post(gateway, WebService.TRANSFORM, _request(CRITICAL, 101), keys)) == "I0"
    assert _post(gateway, WebService.TRANSFORM, _request(CRITICAL, 99), keys).status_code == 409


def test_signed_pre_commands_refused_over_http(gateway, keys):
    payload = _pre_command(_post(gateway, WebService.TRANSFORM, _request(CRITICAL, 200), keys).content)
    same_key = _post(gateway, WebService.SEND_COMMAND,
                     _signed_pre_command(CRITICAL, 200, sign_pre_command(payload, keys.xml_key)), keys)
    assert (same_key.status_code, _code(same_key)) == (200, E_SAME_KEY)
    assert "DP104" in same_key.headers["x-duis-explanation"]
    tampered = bytearray(sign_pre_command(payload, keys.command_key))
    tampered[30] ^= 0xFF
    changed = _post(gateway, WebService.SEND_COMMAND, _signed_pre_command(CRITICAL, 200, bytes(tampered)), keys)
    assert _code(changed) == E_NO_PRE_COMMAND and "changed after the DCC issued it" in changed.headers[
        "x-duis-explanation"]
    never = _post(gateway, WebService.SEND_COMMAND,
                  _signed_pre_command(CRITICAL, 250, sign_pre_command(payload, keys.command_key)), keys)
    assert _code(never) == E_NO_PRE_COMMAND and "issued no Pre-Command" in never.headers["x-duis-explanation"]
    wrong_body = _post(gateway, WebService.SEND_COMMAND, _request(CRITICAL, 200, cv=5), keys)
    assert _code(wrong_body) == "E12"
    refused = gateway.journal(f"{CRITICAL}:{DEVICE}:200")
    assert {r.code for r in refused if r.state == "refused"} >= {E_SAME_KEY, E_NO_PRE_COMMAND, "E12"}
    # still issued: the User may send the right Signed Pre-Command after its mistakes
    good = _post(gateway, WebService.SEND_COMMAND,
                 _signed_pre_command(CRITICAL, 200, sign_pre_command(payload, keys.command_key)), keys)
    assert _code(good) == "I99"


def test_kill_9_keeps_issued_pre_commands_and_acknowledges_no_signed_pre_command_twice(gateway, keys):
    first = _pre_command(_post(gateway, WebService.TRANSFORM, _request(CRITICAL, 300), keys).content)
    second = _pre_command(_post(gateway, WebService.TRANSFORM, _request(CRITICAL, 301), keys).content)
    spc = _signed_pre_command(CRITICAL, 300, sign_pre_command(first, keys.command_key))
    assert _code(_post(gateway, WebService.SEND_COMMAND, spc, keys)) == "I99"
    os.kill(gateway.process.pid, signal.SIGKILL)
    gateway.process.wait(10)
    gateway.start()
    again = _post(gateway, WebService.SEND_COMMAND, spc, keys)
    assert _code(again) == E_NO_PRE_COMMAND and "already signed and accepted" in again.headers["x-duis-explanation"]
    later = _post(gateway, WebService.SEND_COMMAND,
                  _signed_pre_command(CRITICAL, 301, sign_pre_command(second, keys.command_key)), keys)
    assert _code(later) == "I99", later.headers.get("x-duis-explanation")  # issued before the kill: still there
    assert _post(gateway, WebService.TRANSFORM, _request(CRITICAL, 301), keys).status_code == 409


def test_an_expired_xml_certificate_is_refused_under_enforce(gateway, expired_user):
    refused = _post(gateway, WebService.TRANSFORM, _request(EXPIRED, 10), expired_user)
    assert refused.status_code == 400 and refused.headers["x-duis-refusal"] == "certificate_outside_validity"
    assert f"serial {0x7300}" in refused.text and "expired on" in refused.text


def test_boxed_templates_transform_and_signed_pre_command_signed_by_dcc_boxed(gateway, boxed, tmp_path):
    """CS02b 6.15.1 and CS06 11.3, signed by DCC Boxed's tool, get a Pre-Command the tool validates; the Pre-Command
    signed with the Boxed Supplier's Digital Signing key (expired 2025: a marked test certificate, allowed here) and
    sent back signed by the tool is acknowledged; signed with the Supplier's XML key it is refused (DP104)."""
    names = {"CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML": 8100,
             "CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML": 8200}
    files = {name: _with_counter(_without_signature(_example(boxed, name)), counter) for name, counter in names.items()}
    signed = {name: r.out for name, r in boxed.run("Sign", files, tmp_path / "sign").items()}
    answers = {}
    for name in names:
        answer = gateway.post(WebService.TRANSFORM, signed[name])
        assert _code(answer) == "I0", (name, answer.headers.get("x-duis-explanation"), answer.text[:300])
        answers[f"{name}.response.xml"] = answer.content
    for name, result in boxed.run("Validate", answers, tmp_path / "validate").items():
        assert result.code == 0 and "passed signature check" in result.err, (name, result.err)
    command_key, _ = boxed_command_key(boxed.material, SUPPLIER)
    xml_key = boxed.material.private_keys["xml-sign-90B3D51F30010000-ds"]
    spcs = {}
    for name, counter in names.items():
        payload = _pre_command(answers[f"{name}.response.xml"])
        root = etree.fromstring(signed[name])
        header = root.find(f"{{{SUG_NS}}}Header")
        srv = header.findtext(f"{{{SUG_NS}}}ServiceReferenceVariant")
        sr = header.findtext(f"{{{SUG_NS}}}ServiceReference")
        spcs[f"{counter}-dp104.xml"] = _signed_pre_command(SUPPLIER, counter, sign_pre_command(payload, xml_key),
                                                           sr=sr, srv=srv)
        spcs[f"{counter}.xml"] = _signed_pre_command(SUPPLIER, counter, sign_pre_command(payload, command_key),
                                                     sr=sr, srv=srv)
    tool = {name: r.out for name, r in boxed.run("Sign", spcs, tmp_path / "spc").items()}
    for counter in names.values():
        dp104 = gateway.post(WebService.SEND_COMMAND, tool[f"{counter}-dp104.xml"])
        assert _code(dp104) == E_SAME_KEY, dp104.headers.get("x-duis-explanation")
        accepted = gateway.post(WebService.SEND_COMMAND, tool[f"{counter}.xml"])
        assert _code(accepted) == "I99", accepted.headers.get("x-duis-explanation")


def test_warn_accepts_an_expired_certificate_and_logs_why(boxed, keys, expired_user, tmp_path):
    running = _gateway(tmp_path, boxed, {EXPIRED: expired_user}, GBSMART_GATEWAY_CERTIFICATE_VALIDITY="warn")
    try:
        answer = _post(running, WebService.TRANSFORM, _request(EXPIRED, 10), expired_user)
        assert _code(answer) == "I0", answer.text
    finally:
        _stop(running.process)
    stderr = running.process.stderr.read().decode()  # type: ignore[union-attr]
    assert f"serial {0x7300}" in stderr and "accepted because GBSMART_GATEWAY_CERTIFICATE_VALIDITY is warn" in stderr
    rows = [r for r in running.journal(f"{EXPIRED}:{DEVICE}:10") if isinstance(r, GatewayMessage)]
    assert rows and rows[0].code == "I0"
