"""What the gateway keeps on disk: the Users' certificates, the DCC's signing key, the request log's place.

Certificates live in ``gateway_dir/certificates/USER-ID/SERIAL.pem`` (one file per certificate, the directory
named by the User ID it was loaded for), so ``gbsmart gateway add-certificate`` and ``load-boxed-jar`` only
write files, and the server reads the directory at start (``load_keystore``). The DCC signs every response
with ``dcc_signer``: the configured key and certificate, else ``gateway_dir/dcc-signing.key``/``.pem``, made
on first use (a self-signed test certificate naming the DCC's User ID) unless ``load-boxed-jar --dsp-key``
put the DCC Boxed DSP's key there for DCC Boxed compatibility.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from gbsmart.config import Settings
from gbsmart.core.signing import load_certificate, load_private_key, write_certificates, write_private_key
from gbsmart.gateway.keystore import BoxedMaterial, KeyEntry, Keystore, KeystoreError, eui64


def certificates_dir(settings: Settings) -> Path:
    return settings.resolved_gateway_dir() / "certificates"


def log_path(settings: Settings) -> Path:
    return settings.resolved_gateway_dir() / "requests.log"


#: the subject CN of the test keys `gbsmart gateway send --test-key` makes (``gateway.send``)
TEST_KEY_NAME = "gbsmart TEST KEY (not for production)"


def is_test_key(cert: x509.Certificate) -> bool:
    return any(a.value == TEST_KEY_NAME for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))


def load_keystore(settings: Settings) -> Keystore:
    """Every certificate saved under ``certificates_dir``, each for the User its directory names; the test
    keys of `gateway send --test-key` only while ``gateway_allow_test_keys`` is set."""
    store = Keystore()
    root = certificates_dir(settings)
    if root.is_dir():
        for user_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for path in sorted(user_dir.glob("*.pem")):
                if not settings.gateway_allow_test_keys and is_test_key(load_certificate(path)):
                    continue
                store.load_file(user_dir.name, path)
    return store


def save_certificates(settings: Settings, user_id: str | None, data: bytes, *, source: str = "") -> list[KeyEntry]:
    """Check the certificates in ``data`` (PEM or DER) for ``user_id`` (None: the User each names) and save them."""
    checked = Keystore()
    entries = checked.add_bytes(eui64(user_id) if user_id else None, data, source=source)
    already = load_keystore(settings)
    for entry in entries:
        found = already.lookup(entry.issuer, entry.serial)
        if found is not None and (found.user_id != entry.user_id or found.certificate != entry.certificate):
            raise KeystoreError(f"another certificate with serial {entry.serial} from {entry.issuer} is saved "
                                f"for User {found.user_id}")
    for entry in entries:
        write_certificates(certificates_dir(settings) / entry.user_id / f"{entry.serial}.pem", entry.certificate)
    return entries


def save_boxed_material(settings: Settings, material: BoxedMaterial, *, dsp_key: bool) -> list[KeyEntry]:
    """The DCC Boxed test organisations' certificates saved; with ``dsp_key`` the DSP's key becomes the DCC's.

    Each is marked as a test certificate (``gateway.validity``), and the Suppliers' and Network Operators'
    Digital Signing certificates are also trusted for command signing (``gateway.transform``).
    """
    from gbsmart.gateway.transform import save_boxed_command_certificates
    from gbsmart.gateway.validity import mark_test_certificate

    entries = []
    for user_id in material.keystore.user_ids():
        for entry in material.keystore.for_user(user_id):
            mark_test_certificate(write_certificates(certificates_dir(settings) / user_id / f"{entry.serial}.pem",
                                                     entry.certificate))
            entries.append(entry)
    entries.extend(save_boxed_command_certificates(settings, material))
    if dsp_key:
        key_path, cert_path = _signer_paths(settings)
        write_private_key(key_path, material.dsp_key)
        write_certificates(cert_path, material.dsp_certificate)
    return entries


@dataclass(frozen=True)
class DccSigner:
    """The key and certificate every gateway response is signed with."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    source: Path


def _signer_paths(settings: Settings) -> tuple[Path, Path]:
    base = settings.resolved_gateway_dir()
    return (settings.gateway_signing_key or base / "dcc-signing.key",
            settings.gateway_signing_certificate or base / "dcc-signing.pem")


def make_test_signer(user_id: str, now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A fresh P-256 key with a self-signed certificate naming ``user_id`` (a test DCC; never for production)."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b"\x00" + bytes.fromhex(eui64(user_id).replace("-", ""))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gbsmart test DCC (not for production)"),
                      x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, raw, _type=_ASN1Type.BitString)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650)).sign(key, hashes.SHA256()))
    return key, cert


def dcc_signer(settings: Settings, now: datetime | None = None) -> DccSigner:
    """The configured DCC signing key and certificate; a test pair made into gateway_dir if there is none."""
    key_path, cert_path = _signer_paths(settings)
    if not key_path.exists():
        if settings.gateway_signing_key is not None:
            raise KeystoreError(f"gateway_signing_key {key_path} does not exist")
        key, cert = make_test_signer(settings.gateway_dcc_user_id, now or datetime.now(UTC))
        write_private_key(key_path, key)
        write_certificates(cert_path, cert)
    loaded = load_private_key(key_path)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise KeystoreError(f"{key_path} is not an ECDSA key: DUIS responses are signed with ECDSA P-256")
    return DccSigner(loaded, load_certificate(cert_path), key_path)
