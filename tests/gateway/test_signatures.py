"""XML Signatures: a request verified against its originator's certificate, every other case refused clearly."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import XMLVerifier

from gbsmart.gateway import errors
from gbsmart.gateway.duis import read_request
from gbsmart.gateway.keystore import Keystore, KeystoreError, certificate_user_id, eui64
from gbsmart.gateway.responses import acknowledgement
from gbsmart.gateway.signatures import _EXPECT, sign, verify_request
from gbsmart.gateway.xml import DS_NS, duis_schema

from .conftest import DCC, DEVICE, NETWORK_OPERATOR, SUPPLIER, Organisation, request_xml, signed


def test_a_request_signed_by_its_originator_verifies(codec, keystore, organisations):
    request = codec.parse(signed(request_xml(), organisations[SUPPLIER]))
    assert request.signed
    entry = verify_request(request, keystore)
    assert entry.user_id == SUPPLIER and entry.certificate == organisations[SUPPLIER].certificate


def test_an_unsigned_request_is_refused(codec, keystore):
    with pytest.raises(errors.Unsigned, match="not signed") as refused:
        verify_request(codec.parse(request_xml()), keystore)
    assert refused.value.status == 400


def test_a_signature_by_another_users_key_is_refused(codec, keystore, organisations):
    request = codec.parse(signed(request_xml(), organisations[NETWORK_OPERATOR]))
    with pytest.raises(errors.SignedByAnotherUser, match=f"key of User {NETWORK_OPERATOR}, not that of its originator "
                                                  f"{SUPPLIER}") as refused:
        verify_request(request, keystore)
    assert refused.value.status == 403


def test_a_certificate_the_dcc_does_not_hold_is_refused(codec, organisations):
    store = Keystore()
    store.add(NETWORK_OPERATOR, organisations[NETWORK_OPERATOR].certificate)
    with pytest.raises(errors.UnknownSigningCertificate, match="does not hold"):
        verify_request(codec.parse(signed(request_xml(), organisations[SUPPLIER])), store)


@pytest.mark.parametrize("old,new", [
    (b"<sr:CommandVariant>1<", b"<sr:CommandVariant>3<"),
    (b":1000</sr:RequestID>", b":1001</sr:RequestID>"),
    (b"schemaVersion=\"5.4\"", b"schemaVersion=\"5.3\""),
])
def test_a_request_changed_after_signing_is_refused(codec, keystore, organisations, old, new):
    data = signed(request_xml(), organisations[SUPPLIER])
    assert old in data
    with pytest.raises(errors.SignatureMismatch, match="changed after signing"):
        verify_request(codec.parse(data.replace(old, new)), keystore)


def test_a_changed_signature_value_is_refused(codec, keystore, organisations):
    data = signed(request_xml(), organisations[SUPPLIER])
    value = re.search(rb"<ds:SignatureValue>([^<]+)<", data).group(1)
    flipped = (b"B" if value[0:1] == b"A" else b"A") + value[1:]  # still base64, another r: a wrong signature
    with pytest.raises(errors.SignatureMismatch):
        verify_request(codec.parse(data.replace(value, flipped)), keystore)


@pytest.mark.parametrize("old,new,error,says", [
    (b"xmldsig-more#ecdsa-sha256", b"xmldsig-more#rsa-sha256", errors.SignatureAlgorithmRefused, "signature method"),
    (b'CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"',
     b'CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"',
     errors.SignatureAlgorithmRefused, "canonicalisation"),
    (b"xmlenc#sha256", b"xmldsig#sha1", errors.SignatureAlgorithmRefused, "digest method"),
    (b'Reference URI=""', b'Reference URI="#body"', errors.SignatureRefused, "whole document"),
    (b"<ds:X509IssuerSerial>", b"<ds:X509IssuerSerialX>", errors.SignatureRefused, "X509IssuerSerial"),
])
def test_other_algorithms_and_shapes_are_refused_by_name(codec, keystore, organisations, old, new, error, says):
    data = signed(request_xml(), organisations[SUPPLIER])
    assert old in data
    tampered = data.replace(old, new).replace(b"</ds:X509IssuerSerial>", b"</ds:X509IssuerSerialX>") \
        if b"IssuerSerialX" in new else data.replace(old, new)
    root = etree.fromstring(tampered)
    with pytest.raises(error, match=says):
        verify_request(read_request(root, None), keystore)


def test_two_signatures_are_refused(codec, keystore, organisations):
    root = etree.fromstring(signed(request_xml(), organisations[SUPPLIER]))
    body = root.find("{http://www.dccinterface.co.uk/ServiceUserGateway}Body")
    body.append(etree.fromstring(etree.tostring(root.find(f"{{{DS_NS}}}Signature"))))
    with pytest.raises(errors.SignatureRefused, match="exactly one"):
        verify_request(read_request(root, None), keystore)


def test_certificate_dates_are_checked_when_a_time_is_given(codec, keystore, organisations):
    request = codec.parse(signed(request_xml(), organisations[SUPPLIER]))
    verify_request(request, keystore, at=datetime(2027, 1, 1, tzinfo=UTC))
    with pytest.raises(errors.SignatureRefused, match="not valid at 2040"):
        verify_request(request, keystore, at=datetime(2040, 1, 1, tzinfo=UTC))


def test_a_response_signed_with_the_dccs_key_verifies_with_the_dccs_certificate(codec, keystore, organisations):
    request = codec.parse(signed(request_xml(), organisations[SUPPLIER]))
    data = sign(acknowledgement(request, datetime(2026, 12, 3, 12, tzinfo=UTC)), organisations[DCC].key,
                organisations[DCC].certificate)
    assert b"<sr:ResponseCode>I99</sr:ResponseCode>" in data
    assert b"<sr:ResponseDateTime>2026-12-03T12:00:00.000Z<" in data
    assert f"<sr:ResponseID>{DEVICE}:{SUPPLIER}:1000<".encode() in data
    XMLVerifier().verify(data, x509_cert=organisations[DCC].certificate, expect_config=_EXPECT)
    root = etree.fromstring(data)
    duis_schema().validate(root)  # a valid DUIS V5.4 Response, signature included
    issuer_serial = root.find(f".//{{{DS_NS}}}X509IssuerSerial")
    assert int(issuer_serial[1].text) == organisations[DCC].certificate.serial_number


def test_the_keystore_loads_pem_and_der_and_refuses_a_certificate_naming_another_user(organisations, tmp_path):
    cert = organisations[SUPPLIER].certificate
    assert certificate_user_id(cert) == SUPPLIER
    pem, der = tmp_path / "s.pem", tmp_path / "s.der"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                    + organisations[DCC].certificate.public_bytes(serialization.Encoding.PEM))
    der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    store = Keystore()
    assert [e.user_id for e in store.load_file(None, pem)] == [SUPPLIER, DCC]
    assert store.load_file(SUPPLIER.lower().replace("-", ""), der)[0] is store.for_user(SUPPLIER)[0]  # same one
    assert len(store) == 2 and store.user_ids() == sorted([SUPPLIER, DCC])
    assert store.lookup("CN=T1, OU=07", cert.serial_number).user_id == SUPPLIER
    assert store.lookup("CN=T2,OU=07", cert.serial_number) is None
    with pytest.raises(KeystoreError, match=f"names User {SUPPLIER}"):
        store.add(NETWORK_OPERATOR, cert)
    with pytest.raises(KeystoreError, match="not a PEM or DER"):
        store.add_bytes(SUPPLIER, b"junk")
    with pytest.raises(ValueError):
        eui64("90-B3")


def test_a_processing_instruction_inside_the_signature_value_is_refused_not_a_crash(codec, keystore, organisations):
    """Found by fuzzing: signxml read the SignatureValue's text as None and raised a TypeError."""
    data = signed(request_xml(), organisations[SUPPLIER]).replace(b"<ds:SignatureValue>", b"<ds:SignatureValue><?x?>")
    with pytest.raises(errors.ForbiddenXml):
        verify_request(codec.parse(data), keystore)


def test_an_expired_certificate_verifies_unless_a_time_is_given_and_signxml_never_reads_the_clock(codec):
    """The Boxed test organisations' certificates have expired; whether that matters is the caller's ``at``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "old")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(5).not_valid_before(datetime(2010, 1, 1)).not_valid_after(datetime(2011, 1, 1))
            .sign(key, hashes.SHA256()))
    store = Keystore()
    store.add(SUPPLIER, cert)
    request = codec.parse(signed(request_xml(), Organisation(SUPPLIER, key, cert)))
    assert verify_request(request, store).certificate == cert
    assert verify_request(request, store, at=datetime(2010, 6, 1, tzinfo=UTC)).certificate == cert
    with pytest.raises(errors.SignatureRefused, match="not valid at 2026-12-03"):
        verify_request(request, store, at=datetime(2026, 12, 3, tzinfo=UTC))
