"""core.signing: the test PKI, ECDSA P-256 signatures and chain verification against a trust anchor."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr

from gbsmart.core.errors import Conflict
from gbsmart.core.signing import (
    CPL_EXTRACT_SIGNING,
    CPL_SIGNER_NAME,
    DOCUMENT_SIGNING,
    ORGANISATION_CA_NAME,
    ROOT_CA_NAME,
    CertificateExpired,
    CertificateUsageError,
    KeyFileError,
    SignatureInvalid,
    UntrustedCertificate,
    common_name,
    create_test_pki,
    issue_certificate,
    load_certificate,
    load_certificates,
    load_private_key,
    name,
    new_private_key,
    same_public_key,
    sign,
    verify_chain,
    verify_signature,
    write_private_key,
)

NOW = datetime(2020, 1, 28, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return create_test_pki(tmp_path_factory.mktemp("pki") / "pki", now=NOW)


def _chain(pki):
    return load_certificates(pki.signer_chain)


def _anchors(pki):
    return load_certificates(pki.root_certificate)


def test_test_pki_has_root_issuing_ca_and_secas_signer_with_private_keys(pki):
    root, ca, signer = (load_certificate(p) for p in (pki.root_certificate, pki.organisation_ca_certificate,
                                                       pki.signer_certificate))
    assert [common_name(c) for c in (root, ca, signer)] == [ROOT_CA_NAME, ORGANISATION_CA_NAME, CPL_SIGNER_NAME]
    assert isinstance(signer.public_key(), ec.EllipticCurvePublicKey) and signer.public_key().curve.name == "secp256r1"
    ku = signer.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_cert_sign
    assert {DOCUMENT_SIGNING, CPL_EXTRACT_SIGNING} <= set(signer.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value)
    assert signer.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert signer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert [common_name(c) for c in _chain(pki)] == [CPL_SIGNER_NAME, ORGANISATION_CA_NAME]
    for key_path in (pki.root_key, pki.organisation_ca_key, pki.signer_key):
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pki.directory.stat().st_mode) == 0o700
    assert same_public_key(load_private_key(pki.signer_key), signer)


def test_an_existing_pki_is_not_overwritten_without_force(pki):
    before = pki.signer_key.read_bytes()
    with pytest.raises(Conflict, match="--force"):
        create_test_pki(pki.directory, now=NOW)
    assert pki.signer_key.read_bytes() == before


def test_force_replaces_the_keys(tmp_path):
    first = create_test_pki(tmp_path / "p", now=NOW)
    old = first.signer_key.read_bytes()
    create_test_pki(tmp_path / "p", now=NOW, force=True)
    assert first.signer_key.read_bytes() != old


def test_sign_and_verify_exact_bytes(pki):
    key, signer = load_private_key(pki.signer_key), load_certificate(pki.signer_certificate)
    data = b'{"format":"x","sequence":1}'
    signature = sign(key, data)
    verify_signature(signer, signature, data)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_signature(signer, signature, data.replace(b"1", b"2"))
    with pytest.raises(SignatureInvalid):
        verify_signature(signer, sign(new_private_key(), data), data)


def test_chain_verifies_up_to_the_anchor(pki):
    leaf, *intermediates = _chain(pki)
    path = verify_chain(leaf, intermediates=intermediates, anchors=_anchors(pki), at=NOW)
    assert [common_name(c) for c in path] == [CPL_SIGNER_NAME, ORGANISATION_CA_NAME, ROOT_CA_NAME]


def test_expired_signer_refused_when_the_clock_moves(pki):
    leaf, *intermediates = _chain(pki)
    later = NOW + timedelta(days=731)
    with pytest.raises(CertificateExpired, match=rf"'{re.escape(CPL_SIGNER_NAME)}'.* expired on 2022-01-27"):
        verify_chain(leaf, intermediates=intermediates, anchors=_anchors(pki), at=later)
    with pytest.raises(CertificateExpired, match="not valid until"):
        verify_chain(leaf, intermediates=intermediates, anchors=_anchors(pki), at=NOW - timedelta(days=1))


def test_untrusted_root_refused_even_with_its_whole_chain_in_hand(pki, tmp_path):
    other = create_test_pki(tmp_path / "other", now=NOW)  # same names, different keys
    leaf, *intermediates = load_certificates(other.signer_chain)
    every_cert = intermediates + load_certificates(other.root_certificate)
    with pytest.raises(UntrustedCertificate, match="key did not sign it|does not chain"):
        verify_chain(leaf, intermediates=every_cert, anchors=_anchors(pki), at=NOW)


def test_no_trust_anchor_trusts_nothing(pki):
    leaf, *intermediates = _chain(pki)
    with pytest.raises(UntrustedCertificate, match="no trust anchor"):
        verify_chain(leaf, intermediates=intermediates, anchors=[], at=NOW)


def test_missing_intermediate_is_untrusted(pki):
    leaf = load_certificate(pki.signer_certificate)
    with pytest.raises(UntrustedCertificate, match="does not chain to the trust anchor"):
        verify_chain(leaf, anchors=_anchors(pki), at=NOW)


def test_wrong_key_usage_refused(pki):
    _key, cert = pki.issue_organisation_certificate("Some Supplier", now=NOW, key_usage=("key_encipherment",))
    with pytest.raises(CertificateUsageError, match="does not allow digitalSignature"):
        verify_chain(cert, intermediates=_chain(pki)[1:], anchors=_anchors(pki), at=NOW)


def test_wrong_extended_key_usage_refused(pki):
    _key, cert = pki.issue_organisation_certificate(
        "TLS only", now=NOW, extended_key_usage=(x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,))
    with pytest.raises(CertificateUsageError, match="extended key usage"):
        verify_chain(cert, intermediates=_chain(pki)[1:], anchors=_anchors(pki), at=NOW)


def test_a_non_ca_certificate_cannot_issue(pki):
    signer_key, signer = load_private_key(pki.signer_key), load_certificate(pki.signer_certificate)
    key = new_private_key()
    forged = issue_certificate(subject=name("Issued by a leaf"), public_key=key.public_key(), issuer=signer,
                               issuer_key=signer_key, not_before=NOW, not_after=NOW + timedelta(days=1), ca=False)
    with pytest.raises(CertificateUsageError, match="not a CA certificate"):
        verify_chain(forged, intermediates=_chain(pki), anchors=_anchors(pki), at=NOW)


def test_a_ca_may_not_sign_documents(pki):
    ca = load_certificate(pki.organisation_ca_certificate)
    with pytest.raises(CertificateUsageError, match="CA certificate; a CA may not sign"):
        verify_chain(ca, anchors=_anchors(pki), at=NOW)


def test_key_files_errors_name_the_path_never_the_key(tmp_path):
    with pytest.raises(KeyFileError, match="not found"):
        load_private_key(tmp_path / "absent.key")
    key = new_private_key()
    path = write_private_key(tmp_path / "enc.key", key, SecretStr("s3cret-pass"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"ENCRYPTED" in path.read_bytes()
    with pytest.raises(KeyFileError, match="encrypted and no password") as exc:
        load_private_key(path)
    assert "BEGIN" not in exc.value.message
    with pytest.raises(KeyFileError, match="password is wrong"):
        load_private_key(path, SecretStr("nope"))
    assert same_public_key(load_private_key(path, SecretStr("s3cret-pass")),
                           issue_certificate(subject=name("x"), public_key=key.public_key(), issuer=None,
                                             issuer_key=key, not_before=NOW, not_after=NOW + timedelta(days=1),
                                             ca=False))
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(KeyFileError, match="no readable PEM certificate"):
        load_certificates(tmp_path / "junk.pem")
