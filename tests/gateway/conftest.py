"""Test organisations (our own keys, issued by a throwaway CA) and DUIS requests built and signed for the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from lxml import etree

from gbsmart.gateway.duis import DuisCodec
from gbsmart.gateway.keystore import Keystore
from gbsmart.gateway.signatures import sign
from gbsmart.gateway.xml import duis_schema

SUPPLIER = "90-B3-D5-1F-30-01-00-00"
NETWORK_OPERATOR = "90-B3-D5-1F-30-02-00-00"
DCC = "90-B3-D5-1F-30-00-00-02"
DEVICE = "00-DB-12-34-56-78-90-A0"


@dataclass(frozen=True)
class Organisation:
    user_id: str
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


def _issue(ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, user_id: str, serial: int) -> Organisation:
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b"\x00" + bytes.fromhex(user_id.replace("-", ""))
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "87"),
        x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, raw, _type=_ASN1Type.BitString),
    ])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now).not_valid_after(now + timedelta(days=3650))
            .sign(ca_key, hashes.SHA256()))
    return Organisation(user_id, key, cert)


@pytest.fixture(scope="session")
def organisations() -> dict[str, Organisation]:
    """A Supplier, a Network Operator and the DCC, each with a P-256 key and a certificate naming its User ID."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "07"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "T1")])
    return {uid: _issue(ca_key, ca_name, uid, 0x1000 + i) for i, uid in enumerate((SUPPLIER, NETWORK_OPERATOR, DCC))}


@pytest.fixture(scope="session")
def keystore(organisations) -> Keystore:
    store = Keystore()
    for org in organisations.values():
        store.add(org.user_id, org.certificate)
    return store


@pytest.fixture(scope="session")
def codec() -> DuisCodec:
    return DuisCodec(duis_schema())


def request_xml(*, request_id: str = f"{SUPPLIER}:{DEVICE}:1000", cv: str = "1", sr: str = "4.1",
                srv: str = "4.1.1", body: str = "<sr:ReadInstantaneousImportRegisters/>", version: str = "5.4",
                header_extra: str = "") -> bytes:
    """An unsigned DUIS request (by default ECS17b, 4.1.1 Read Instantaneous Import Registers)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" '
        f'schemaVersion="{version}"><sr:Header><sr:RequestID>{request_id}</sr:RequestID>{header_extra}'
        f"<sr:CommandVariant>{cv}</sr:CommandVariant><sr:ServiceReference>{sr}</sr:ServiceReference>"
        f"<sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant></sr:Header>"
        f"<sr:Body>{body}</sr:Body></sr:Request>"
    ).encode()


def signed(data: bytes, org: Organisation) -> bytes:
    """``data`` signed as a DUIS User signs it: enveloped, exc-c14n, ECDSA P-256, X509IssuerSerial."""
    return sign(etree.fromstring(data), org.key, org.certificate)


from tests.gateway.boxed import boxed  # noqa: E402, F401  (the DCC Boxed tool, once per session for every module)
from tests.gateway.duis_parser import duis_parser  # noqa: E402, F401  (@smartdcc/duis-parser, fetched once per session)
