"""Keys, certificates and signatures: ECDSA P-256 with SHA-256 over X.509 chains, and a test PKI.

Domain-free: the CPL extract (``cpl/extracts.py``) and, later, DUIS/XMLDSig signing build on it. Keys are
read from paths (optionally protected by a ``SecretStr`` password), written with 0600 permissions, and never
logged or put in an error message. Every check raises a ``SigningError`` whose message names what failed.

Chain verification (``verify_chain``) walks from the signer's certificate to a *configured* trust anchor,
checking at each link: the issuer's signature, validity dates against an injected time, the basicConstraints
CA flag and path length, key usage (keyCertSign for issuers, the requested usage for the signer) and the
extended key usage when the signer's certificate carries one. Certificates supplied alongside a signature
are only used to build the path; they are never trusted for themselves.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID, ObjectIdentifier
from pydantic import SecretStr

from gbsmart.core.errors import Conflict, Invalid

log = logging.getLogger("gbsmart.signing")

CURVE = ec.SECP256R1()
HASH = hashes.SHA256()

#: id-kp-documentSigning (RFC 9336): the key may sign documents such as a CPL extract.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
#: gbsmart's *test* organisation certificate policy (a UUID-based OID under 2.25, ITU-T X.667). It is not an
#: IKI or SMKI policy OID: a real deployment uses the IKI Organisation Certificate Policy of SEC Appendix.
TEST_ORGANISATION_POLICY = ObjectIdentifier("2.25.257834910114506450140417223943275639966")
#: gbsmart's *test* "CPL extract signing" extended key usage (UUID-based, 2.25): only the SECAS CPL signer's
#: certificate carries it, and the test PKI refuses to issue it to anyone else (decision 0011).
CPL_EXTRACT_SIGNING = ObjectIdentifier("2.25.288523155029413292663537248687472042129")

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey

KEY_USAGES = {
    "digital_signature": "digitalSignature",
    "content_commitment": "nonRepudiation",
    "key_encipherment": "keyEncipherment",
    "data_encipherment": "dataEncipherment",
    "key_agreement": "keyAgreement",
    "key_cert_sign": "keyCertSign",
    "crl_sign": "cRLSign",
}

# Extensions verify_chain understands; any other extension marked critical makes a certificate unusable.
_HANDLED_EXTENSIONS = {
    ExtensionOID.BASIC_CONSTRAINTS,
    ExtensionOID.KEY_USAGE,
    ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.SUBJECT_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
}


class SigningError(Invalid):
    """A key, certificate or signature cannot be used; the message says which and why."""


class KeyFileError(SigningError):
    """A private key or certificate file is missing, unreadable or not what it should be."""


class CertificateError(SigningError):
    """A certificate chain does not verify."""


class UntrustedCertificate(CertificateError):
    """The chain does not lead to the configured trust anchor."""


class CertificateExpired(CertificateError):
    """A certificate in the chain is expired or not yet valid at the time of the check."""


class CertificateUsageError(CertificateError):
    """A certificate is used for something its basicConstraints, key usage or EKU do not allow."""


class SignatureInvalid(SigningError):
    """The signature does not match the data and the signer's public key."""


# ---------------------------------------------------------------------------------------------- names, keys


def name(common_name: str, organisation: str | None = None, unit: str | None = None, country: str = "GB") -> x509.Name:
    """An X.509 distinguished name: C, O, OU, CN."""
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, country)]
    if organisation:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def common_name(cert: x509.Certificate) -> str:
    """The subject's common name, or the whole subject when it has none."""
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else cert.subject.rfc4514_string()


def organisation_name(cert: x509.Certificate) -> str | None:
    """The subject's organisation (O=), or None when it has none."""
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(orgs[0].value) if orgs else None


def serial_number(cert: x509.Certificate) -> str:
    """The certificate's serial number as lowercase hex."""
    return f"{cert.serial_number:x}"


def describe(cert: x509.Certificate) -> str:
    """How error messages name a certificate: its common name and serial number."""
    return f"'{common_name(cert)}' (serial {serial_number(cert)})"


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint of the DER certificate, as colon-separated hex."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def new_private_key() -> ec.EllipticCurvePrivateKey:
    """A fresh ECDSA P-256 key."""
    return ec.generate_private_key(CURVE)


def _password_bytes(password: SecretStr | None) -> bytes | None:
    return password.get_secret_value().encode() if password is not None else None


def write_private_key(path: Path, key: PrivateKey, password: SecretStr | None = None) -> Path:
    """Write ``key`` as PKCS#8 PEM, created with 0600 permissions (encrypted when a password is given)."""
    secret = _password_bytes(password)
    encryption = serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, pem)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def load_private_key(path: Path, password: SecretStr | None = None) -> PrivateKey:
    """Read a PEM private key; the error names the path, never the key."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"private key not found: {path}") from None
    except OSError as exc:
        raise KeyFileError(f"private key cannot be read: {path} ({exc.strerror})") from None
    mode = Path(path).stat().st_mode & 0o077
    if mode:
        log.warning("private key %s is readable by group or others; chmod 600 it", path)
    try:
        key = serialization.load_pem_private_key(data, password=_password_bytes(password))
    except TypeError:
        raise KeyFileError(f"private key {path} is encrypted and no password was configured"
                           if password is None else f"private key {path} is not encrypted; remove the password"
                           ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"private key {path} is not a PEM private key, or the password is wrong") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFileError(f"private key {path} is of an unsupported type ({type(key).__name__})")
    return key


def certificate_pem(*certs: x509.Certificate) -> str:
    """PEM text of one or more certificates, in order."""
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)


def write_certificates(path: Path, *certs: x509.Certificate) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(certificate_pem(*certs))
    return path


def certificates_from_pem(data: bytes | str, what: str = "certificate data") -> list[x509.Certificate]:
    """Every certificate in PEM ``data`` (at least one)."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError:
        raise KeyFileError(f"{what} holds no readable PEM certificate") from None
    return certs


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file (a certificate followed by its issuers, or a bundle of anchors)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"certificate file not found: {path}") from None
    except OSError as exc:
        raise KeyFileError(f"certificate file cannot be read: {path} ({exc.strerror})") from None
    return certificates_from_pem(data, what=f"certificate file {path}")


def load_certificate(path: Path) -> x509.Certificate:
    """The first certificate in a PEM file."""
    return load_certificates(path)[0]


# ---------------------------------------------------------------------------------------------- signatures


def sign(key: PrivateKey, data: bytes) -> bytes:
    """Sign ``data``: DER ECDSA with SHA-256 for EC keys (RSA: PKCS#1 v1.5 SHA-256; Ed25519: pure)."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(HASH))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), HASH)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    raise SigningError(f"cannot sign with a key of type {type(key).__name__}")


def verify_signature(signer: x509.Certificate | PublicKey, signature: bytes, data: bytes) -> None:
    """Raise ``SignatureInvalid`` unless ``signature`` is the signer's signature over exactly ``data``."""
    public_key = signer.public_key() if isinstance(signer, x509.Certificate) else signer
    who = describe(signer) if isinstance(signer, x509.Certificate) else "the signer"
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(HASH))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, data, padding.PKCS1v15(), HASH)
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        else:
            raise SignatureInvalid(f"{who} has a public key of an unsupported type")
    except InvalidSignature:
        raise SignatureInvalid(
            f"the signature does not verify with the key of {who}: the signed data was changed, "
            "or it was signed with another key") from None


def same_public_key(key: PrivateKey, cert: x509.Certificate) -> bool:
    """Whether ``cert`` certifies the public half of ``key``."""
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


# ---------------------------------------------------------------------------------------------- chains


_Ext = TypeVar("_Ext", bound=x509.ExtensionType)


def _extension(cert: x509.Certificate, ext_type: type[_Ext]) -> _Ext | None:
    try:
        return cert.extensions.get_extension_for_class(ext_type).value
    except x509.ExtensionNotFound:
        return None


def carries_oid(cert: x509.Certificate, oid: ObjectIdentifier) -> bool:
    """Whether ``cert`` names ``oid`` itself among its extended key usages or certificate policies (the
    anyExtendedKeyUsage and anyPolicy wildcards do not count)."""
    eku = _extension(cert, x509.ExtendedKeyUsage)
    policies = _extension(cert, x509.CertificatePolicies)
    return (eku is not None and oid in set(eku)) or (
        policies is not None and any(p.policy_identifier == oid for p in policies))


def _find_issuer(cert: x509.Certificate, candidates: Iterable[x509.Certificate],
                 exclude: set[str]) -> tuple[x509.Certificate | None, x509.Certificate | None]:
    """(the candidate that issued ``cert``, a candidate with the right name whose signature did not verify)."""
    forged = None
    for candidate in candidates:
        if fingerprint(candidate) in exclude or candidate.subject != cert.issuer:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except (InvalidSignature, ValueError, TypeError):
            forged = forged or candidate
            continue
        return candidate, None
    return None, forged


def _check_validity(cert: x509.Certificate, at: datetime) -> None:
    if at < cert.not_valid_before_utc:
        raise CertificateExpired(
            f"certificate {describe(cert)} is not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC "
            f"(checked at {at:%Y-%m-%d %H:%M} UTC)")
    if at > cert.not_valid_after_utc:
        raise CertificateExpired(
            f"certificate {describe(cert)} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC "
            f"(checked at {at:%Y-%m-%d %H:%M} UTC)")


def _check_critical_extensions(cert: x509.Certificate) -> None:
    for ext in cert.extensions:
        if ext.critical and ext.oid not in _HANDLED_EXTENSIONS:
            raise CertificateUsageError(
                f"certificate {describe(cert)} has a critical extension gbsmart does not understand "
                f"({ext.oid.dotted_string})")


def _check_signer(cert: x509.Certificate, key_usage: str, extended_key_usage: ObjectIdentifier | None,
                  chained: bool) -> None:
    bc = _extension(cert, x509.BasicConstraints)
    if chained and bc is not None and bc.ca:
        raise CertificateUsageError(f"certificate {describe(cert)} is a CA certificate; a CA may not sign documents")
    ku = _extension(cert, x509.KeyUsage)
    if ku is None or not getattr(ku, key_usage):
        has = [label for attr, label in KEY_USAGES.items() if ku is not None and _ku_flag(ku, attr)]
        raise CertificateUsageError(
            f"certificate {describe(cert)} does not allow {KEY_USAGES[key_usage]} (its key usage: "
            f"{', '.join(has) or 'none'})")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if extended_key_usage is not None and eku is not None:
        allowed = set(eku)
        if extended_key_usage not in allowed and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in allowed:
            raise CertificateUsageError(
                f"certificate {describe(cert)} has an extended key usage that does not include "
                f"{extended_key_usage.dotted_string}")


def _ku_flag(ku: x509.KeyUsage, attr: str) -> bool:
    try:
        return bool(getattr(ku, attr))
    except ValueError:  # encipher_only / decipher_only without key_agreement
        return False


def _check_issuer(cert: x509.Certificate, below: int) -> None:
    """``cert`` issued a certificate with ``below`` intermediate CAs between it and the signer."""
    bc = _extension(cert, x509.BasicConstraints)
    if bc is None or not bc.ca:
        raise CertificateUsageError(
            f"certificate {describe(cert)} is not a CA certificate (basicConstraints CA flag not set), "
            "so it may not issue certificates")
    if bc.path_length is not None and below > bc.path_length:
        raise CertificateUsageError(
            f"certificate {describe(cert)} allows {bc.path_length} CA certificate(s) below it; the chain has {below}")
    ku = _extension(cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:
        raise CertificateUsageError(f"certificate {describe(cert)} does not allow keyCertSign, so it may not issue "
                                    "certificates")


def verify_chain(
    leaf: x509.Certificate,
    *,
    anchors: Sequence[x509.Certificate],
    at: datetime,
    intermediates: Sequence[x509.Certificate] = (),
    key_usage: str = "digital_signature",
    extended_key_usage: ObjectIdentifier | None = DOCUMENT_SIGNING,
    max_length: int = 6,
) -> list[x509.Certificate]:
    """The path from ``leaf`` to one of ``anchors`` (leaf first), or a ``CertificateError`` saying what failed.

    ``intermediates`` only help to build the path; trust comes from ``anchors`` alone. ``extended_key_usage``
    is required of the leaf only when the leaf carries an extendedKeyUsage extension.
    """
    if not anchors:
        raise UntrustedCertificate("no trust anchor is configured, so no certificate can be trusted")
    anchor_prints = {fingerprint(a) for a in anchors}
    path = [leaf]
    seen = {fingerprint(leaf)}
    current = leaf
    while fingerprint(current) not in anchor_prints:
        issuer, forged = _find_issuer(current, anchors, seen)
        if issuer is None:
            issuer, forged_intermediate = _find_issuer(current, intermediates, seen)
            forged = forged or forged_intermediate
        if issuer is None:
            if forged is not None:
                raise UntrustedCertificate(
                    f"certificate {describe(current)} names {describe(forged)} as its issuer but that certificate's "
                    "key did not sign it")
            trusted = ", ".join(describe(a) for a in anchors)
            raise UntrustedCertificate(
                f"certificate {describe(current)} (issuer '{current.issuer.rfc4514_string()}') does not chain to "
                f"the trust anchor {trusted}")
        path.append(issuer)
        seen.add(fingerprint(issuer))
        current = issuer
        if len(path) > max_length:
            raise UntrustedCertificate(f"the certificate chain is longer than {max_length}")
    for i, cert in enumerate(path):
        _check_validity(cert, at)
        _check_critical_extensions(cert)
        if i == 0:
            _check_signer(cert, key_usage, extended_key_usage, chained=len(path) > 1)
        else:
            _check_issuer(cert, below=i - 1)
    return path


# ---------------------------------------------------------------------------------------------- issuing


def issue_certificate(
    *,
    subject: x509.Name,
    public_key: PublicKey,
    issuer: x509.Certificate | None,
    issuer_key: PrivateKey,
    not_before: datetime,
    not_after: datetime,
    ca: bool,
    path_length: int | None = None,
    key_usage: Iterable[str] = ("digital_signature",),
    extended_key_usage: Sequence[ObjectIdentifier] = (),
    policies: Sequence[x509.PolicyInformation] = (),
) -> x509.Certificate:
    """A certificate for ``public_key`` signed by ``issuer_key`` (self-signed when ``issuer`` is None)."""
    usages = set(key_usage)
    unknown = usages - KEY_USAGES.keys()
    if unknown:
        raise ValueError(f"unknown key usage(s): {', '.join(sorted(unknown))}")
    flags = {attr: attr in usages for attr in KEY_USAGES} | {"encipher_only": False, "decipher_only": False}
    issuer_name = issuer.subject if issuer is not None else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True)
        .add_extension(x509.KeyUsage(**flags), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if extended_key_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(extended_key_usage)), critical=False)
    if policies:
        builder = builder.add_extension(x509.CertificatePolicies(list(policies)), critical=False)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else HASH
    return builder.sign(issuer_key, algorithm)


def organisation_policy(note: str) -> x509.PolicyInformation:
    """The gbsmart test organisation certificate policy, with a user notice saying what it is for."""
    return x509.PolicyInformation(TEST_ORGANISATION_POLICY, [x509.UserNotice(None, note[:200])])


ROOT_CA_NAME = "gbsmart Test Root CA"
ORGANISATION_CA_NAME = "gbsmart Test Organisation CA"
CPL_SIGNER_NAME = "SECAS (on behalf of the SEC Panel)"
CPL_SIGNER_ORGANISATION = "SECAS"
TEST_PKI_ORGANISATION = "gbsmart test PKI (not for production)"


@dataclass(frozen=True)
class TestPki:
    """Where a test PKI's files live: a root CA, an issuing (organisation) CA and the SECAS CPL signer."""

    __test__ = False  # not a pytest test class

    directory: Path

    @property
    def root_certificate(self) -> Path:
        return self.directory / "root-ca.pem"

    @property
    def root_key(self) -> Path:
        return self.directory / "root-ca.key"

    @property
    def organisation_ca_certificate(self) -> Path:
        return self.directory / "organisation-ca.pem"

    @property
    def organisation_ca_key(self) -> Path:
        return self.directory / "organisation-ca.key"

    @property
    def signer_certificate(self) -> Path:
        return self.directory / "secas-cpl-signer.pem"

    @property
    def signer_chain(self) -> Path:
        """The signer's certificate followed by the organisation CA's: what a signer presents."""
        return self.directory / "secas-cpl-signer-chain.pem"

    @property
    def signer_key(self) -> Path:
        return self.directory / "secas-cpl-signer.key"

    def files(self) -> list[Path]:
        return [self.root_certificate, self.root_key, self.organisation_ca_certificate, self.organisation_ca_key,
                self.signer_certificate, self.signer_chain, self.signer_key]

    def exists(self) -> bool:
        return any(p.exists() for p in self.files())

    def issue_organisation_certificate(
        self,
        common_name: str,
        *,
        now: datetime,
        organisation: str | None = None,
        days: int = 730,
        key_usage: Iterable[str] = ("digital_signature",),
        extended_key_usage: Sequence[ObjectIdentifier] = (DOCUMENT_SIGNING,),
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """A new key and an organisation certificate for it, issued by this PKI's organisation CA (in memory).

        Refuses (``Invalid``) the CPL signer's identity: its common name, O=SECAS or the CPL extract signing EKU.
        """
        reserved_for_the_signer(common_name, organisation or common_name, extended_key_usage)
        ca_cert = load_certificate(self.organisation_ca_certificate)
        ca_key = load_private_key(self.organisation_ca_key)
        key = new_private_key()
        cert = issue_certificate(
            subject=name(common_name, organisation or common_name, "IKI Organisation Certificate (test)"),
            public_key=key.public_key(), issuer=ca_cert, issuer_key=ca_key,
            not_before=now - timedelta(hours=1), not_after=now + timedelta(days=days), ca=False,
            key_usage=key_usage, extended_key_usage=extended_key_usage,
            policies=[organisation_policy(f"gbsmart test organisation certificate for {common_name}; not a real IKI "
                                  "certificate")])
        return key, cert


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def reserved_for_the_signer(common_name: str, organisation: str,
                            extended_key_usage: Sequence[ObjectIdentifier]) -> None:
    """Raise ``Invalid`` when an organisation certificate would carry the SECAS CPL signer's identity."""
    why = ", which only `gbsmart pki init-test` creates: an organisation certificate may not carry it"
    if _folded(common_name) == _folded(CPL_SIGNER_NAME):
        raise Invalid(f"the common name '{common_name}' is reserved for the SECAS CPL signer{why}")
    if _folded(organisation) == _folded(CPL_SIGNER_ORGANISATION):
        raise Invalid(f"O={CPL_SIGNER_ORGANISATION} is reserved for the SECAS CPL signer{why}")
    if CPL_EXTRACT_SIGNING in extended_key_usage:
        raise Invalid(f"the CPL extract signing extended key usage ({CPL_EXTRACT_SIGNING.dotted_string}) is reserved "
                      f"for the SECAS CPL signer{why}")


def create_test_pki(directory: Path, *, now: datetime, force: bool = False, signer_days: int = 730) -> TestPki:
    """Create a test PKI in ``directory``: root CA, organisation CA and the SECAS CPL signer (keys 0600).

    Refuses (``Conflict``) to overwrite an existing PKI unless ``force``. For demonstrations and tests only:
    SEC Appendix-defined IKI credentials replace it in a real deployment.
    """
    pki = TestPki(Path(directory))
    if pki.exists() and not force:
        raise Conflict(f"a PKI already exists in {pki.directory}; use --force to replace it (the old keys are lost)")
    pki.directory.mkdir(parents=True, exist_ok=True)
    pki.directory.chmod(0o700)
    start = now - timedelta(hours=1)

    root_key = new_private_key()
    root = issue_certificate(
        subject=name(ROOT_CA_NAME, TEST_PKI_ORGANISATION), public_key=root_key.public_key(), issuer=None,
        issuer_key=root_key, not_before=start, not_after=now + timedelta(days=20 * 365), ca=True, path_length=1,
        key_usage=("key_cert_sign", "crl_sign"))
    ca_key = new_private_key()
    ca = issue_certificate(
        subject=name(ORGANISATION_CA_NAME, TEST_PKI_ORGANISATION), public_key=ca_key.public_key(), issuer=root,
        issuer_key=root_key, not_before=start, not_after=now + timedelta(days=10 * 365), ca=True, path_length=0,
        key_usage=("key_cert_sign", "crl_sign"), policies=[organisation_policy("gbsmart test organisation CA")])
    signer_key = new_private_key()
    signer = issue_certificate(
        subject=name(CPL_SIGNER_NAME, CPL_SIGNER_ORGANISATION, "IKI Organisation Certificate (test)"),
        public_key=signer_key.public_key(), issuer=ca, issuer_key=ca_key, not_before=start,
        not_after=now + timedelta(days=signer_days), ca=False, key_usage=("digital_signature",),
        extended_key_usage=(DOCUMENT_SIGNING, CPL_EXTRACT_SIGNING),
        policies=[organisation_policy("gbsmart test IKI organisation certificate: signs CPL extracts on behalf of the "
                              "SEC Panel; not a real IKI certificate")])

    write_private_key(pki.root_key, root_key)
    write_private_key(pki.organisation_ca_key, ca_key)
    write_private_key(pki.signer_key, signer_key)
    write_certificates(pki.root_certificate, root)
    write_certificates(pki.organisation_ca_certificate, ca)
    write_certificates(pki.signer_certificate, signer)
    write_certificates(pki.signer_chain, signer, ca)
    log.info("test PKI created in %s (signer %s)", pki.directory, fingerprint(signer))
    return pki


def digest(data: bytes) -> str:
    """SHA-256 of ``data`` as lowercase hex."""
    return hashlib.sha256(data).hexdigest()
