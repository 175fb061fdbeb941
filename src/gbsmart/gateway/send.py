"""`gbsmart gateway send FILE`: sign a DUIS request and send it to a gateway, as a DCC User's client would.

``prepare`` reads the request through the hardened parser (``gateway.xml``), drops any signature it carries
(an RTDS template's placeholder), sets a fresh RequestID counter if asked (``auto``: the time in microseconds,
above any counter sent before from this machine's clock), checks it with the DUIS codec, finds the web service
its SRV and Command Variant go to (``matrix.service_for``) and signs it (``signatures.sign``) with the given key
or a **test key**. ``post`` sends it and reads the answer.

A test key is made once per User ID in ``gateway_dir/test-keys/USER-ID.key`` with a self-signed certificate
named "gbsmart TEST KEY", saved to the gateway's keystore for that User (``store.save_certificates``, the same
check as add-certificate), and only when ``gateway_allow_test_keys`` is set; a gateway trusts test keys only
with that setting too (``store.load_keystore``): it would accept any request signed with a key anyone on this
machine can read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from lxml import etree

from gbsmart.config import Settings
from gbsmart.core.errors import AppError, Invalid
from gbsmart.core.signing import load_certificate, load_private_key, write_certificates, write_private_key
from gbsmart.gateway.duis import DuisCodec, DuisRequest, parse_request_id
from gbsmart.gateway.keystore import eui64
from gbsmart.gateway.matrix import WebService, request_matrix, service_for
from gbsmart.gateway.signatures import sign
from gbsmart.gateway.store import TEST_KEY_NAME, load_keystore, save_certificates
from gbsmart.gateway.xml import DS_NS, SUG_NS, parse_xml

_REQUEST_ID = f"{{{SUG_NS}}}Header/{{{SUG_NS}}}RequestID"


@dataclass(frozen=True)
class Signer:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    new_test_key: bool = False  # made just now: a running gateway trusts it after its next refresh


@dataclass(frozen=True)
class Prepared:
    request: DuisRequest
    service: WebService
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    code: str | None          # the DUIS Response Code (header or the response's ResponseCode)
    explanation: str | None   # X-DUIS-Explanation: the plain-English reason of an E-code
    refusal: str | None       # X-DUIS-Refusal: the reason of an HTTP 4xx
    text: str

    @property
    def refused_by_http(self) -> bool:
        return self.status >= 400


def paths_of_test_key(settings: Settings, user_id: str) -> tuple[Path, Path]:
    base = settings.resolved_gateway_dir() / "test-keys"
    return base / f"{user_id}.key", base / f"{user_id}.pem"


def signer_with_test_key(settings: Settings, user_id: str, now: datetime | None = None) -> Signer:
    """The test key of ``user_id`` (made and trusted on first use), if test keys are allowed."""
    if not settings.gateway_allow_test_keys:
        raise Invalid("Test keys are off: set GBSMART_GATEWAY_ALLOW_TEST_KEYS=true to let `gateway send --test-key` "
                      "make one and have the gateway trust it (never in production), or sign with your "
                      "organisation's key: --key KEY.pem --certificate CERT.pem.")
    user = eui64(user_id)
    key_path, cert_path = paths_of_test_key(settings, user)
    made = False
    if not key_path.exists():
        now = now or datetime.now(UTC)
        new_key = ec.generate_private_key(ec.SECP256R1())
        raw = b"\x00" + bytes.fromhex(user.replace("-", ""))
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TEST_KEY_NAME),
                          x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, raw, _type=_ASN1Type.BitString)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(new_key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=3650)).sign(new_key, hashes.SHA256()))
        write_private_key(key_path, new_key)
        write_certificates(cert_path, cert)
        made = True
    key, cert = _key_pair(key_path, cert_path)
    if load_keystore(settings).lookup(cert.issuer.rfc4514_string(), cert.serial_number) is None:
        save_certificates(settings, user, cert.public_bytes(Encoding.PEM), source=cert_path.name)
        made = True
    return Signer(key, cert, new_test_key=made)


def file_signer(key_path: Path, cert_path: Path) -> Signer:
    key, cert = _key_pair(key_path, cert_path)
    return Signer(key, cert)


def _key_pair(key_path: Path, cert_path: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = load_private_key(key_path)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise Invalid(f"{key_path} is not an ECDSA key: DUIS requests are signed with ECDSA P-256")
    cert = load_certificate(cert_path)
    if cert.public_key() != key.public_key():
        raise Invalid(f"{cert_path} is not the certificate of the key in {key_path}")
    return key, cert


def auto_counter() -> int:
    """A counter above any this clock gave before: the time in microseconds since 1970."""
    return time.time_ns() // 1000


def read_request(settings: Settings, data: bytes, *, counter: int | None = None) -> tuple[etree._Element, DuisRequest]:
    """The request in ``data`` without its signature (and with ``counter``), checked by the DUIS codec."""
    root = parse_xml(data, max_bytes=settings.duis_max_body_bytes, max_depth=settings.duis_max_depth)
    for signature in root.findall(f"{{{DS_NS}}}Signature"):
        root.remove(signature)
    if counter is not None:
        element = root.find(_REQUEST_ID)
        if element is None:
            raise Invalid("the request has no Header/RequestID to set the counter of")
        rid = parse_request_id(element.text or "")
        element.text = f"{rid.originator}:{rid.target}:{counter}"
    unsigned = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    request = DuisCodec.from_settings(settings).parse(unsigned)
    return request.root, request


def prepare(settings: Settings, data: bytes, signer_for: Callable[[str], Signer], *,
            counter: int | None = None) -> Prepared:
    """``data`` ready to send: re-countered if asked, signed by ``signer_for(originator)``, its web service."""
    root, request = read_request(settings, data, counter=counter)
    variant = request_matrix().get(request.service_reference_variant)
    if variant is None:
        raise Invalid(f"ServiceReferenceVariant {request.service_reference_variant!r} is not a DUIS Service Request "
                      "Variant (the request matrix, gateway/duis-request-matrix.json)")
    signer = signer_for(request.originator)
    body = sign(root, signer.key, signer.certificate)
    return Prepared(request, service_for(variant, request.command_variant), body)


def post(url: str, prepared: Prepared, *, timeout: float = 30.0) -> Answer:
    """POST the signed request to its web service at ``url`` and read the answer."""
    target = f"{url.rstrip('/')}{prepared.service.path}"
    try:
        response = httpx.post(target, content=prepared.body, headers={"content-type": "application/xml"},
                              timeout=timeout)
    except httpx.TransportError as exc:
        raise AppError(f"could not reach the gateway at {target}: {exc}. Is `gbsmart gateway serve` running "
                       "there? (--url sets where)", status=503) from None
    code = response.headers.get("x-duis-response-code")
    if code is None and response.status_code == 200:
        try:
            code = parse_xml(response.content).findtext(f"{{{SUG_NS}}}Header/{{{SUG_NS}}}ResponseCode")
        except AppError:
            code = None
    return Answer(response.status_code, code, response.headers.get("x-duis-explanation"),
                  response.headers.get("x-duis-refusal"), response.text)
