"""The certificates the gateway checks DUIS signatures against: per User ID, and by issuer and serial number.

A DUIS request is signed with the originator's organisation key and names the certificate by
``X509IssuerSerial`` (DOMAIN.md section 6); ``Keystore.lookup`` finds it and says whose it is. Certificates
are loaded for a User ID from PEM or DER; the User ID is the EUI-64 a SMKI organisation certificate carries
in its subject's x500UniqueIdentifier, so ``add`` refuses a certificate that names another User.

``load_boxed_jar`` reads the DCC Boxed test organisations' certificates (and, for tests only, their private
keys and the DSP's response-signing key) from the DCC Boxed signing tool's jar (``dist/tool.jar`` in the npm
package ``@smartdcc/duis-sign-wrap``): each ``NAME-ds.pem`` in its resources, beside ``NAME-ds.key``.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gbsmart.core.errors import Invalid

#: the DCC Boxed DSP's User ID (it signs responses and alerts in DCC Boxed)
BOXED_DSP_USER_ID = "90-B3-D5-1F-30-00-00-02"
BOXED_DSP_KEY_NAME = "dsp-xml-sign-90B3D51F30000002-ds"
_EUI64 = re.compile(r"[0-9A-F]{2}(?:-[0-9A-F]{2}){7}")


class KeystoreError(Invalid):
    """A certificate cannot be added to the keystore; the message says why."""


def eui64(value: str | bytes) -> str:
    """A User or Device ID in the form DUIS writes it: eight upper-case hex pairs joined by hyphens."""
    if isinstance(value, bytes):
        if len(value) != 8:
            raise ValueError(f"an EUI-64 is 8 bytes, not {len(value)}")
        return "-".join(f"{b:02X}" for b in value)
    text = value.strip().upper().replace(":", "-")
    if "-" not in text and len(text) == 16:
        text = "-".join(text[i:i + 2] for i in range(0, 16, 2))
    if not _EUI64.fullmatch(text):
        raise ValueError(f"{value!r} is not an EUI-64 such as 90-B3-D5-1F-30-01-00-00")
    return text


def certificate_user_id(cert: x509.Certificate) -> str | None:
    """The User ID (EUI-64) in the subject's x500UniqueIdentifier, as SMKI organisation certificates carry it."""
    for attribute in cert.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER):
        value = attribute.value
        raw = value if isinstance(value, bytes) else str(value).encode("latin-1")
        if len(raw) == 9 and raw[0] == 0:  # a DER BIT STRING's content: unused-bits byte, then the 8 bytes
            raw = raw[1:]
        if len(raw) == 8:
            return eui64(raw)
    return None


def normalised_name(text: str) -> str:
    """An RFC 4514 distinguished name compared loosely: no spaces around separators, attribute types upper case."""
    parts = re.split(r"(?<!\\)[,+]", text)
    out = []
    for part in parts:
        key, _, value = part.partition("=")
        out.append(f"{key.strip().upper()}={value.strip()}")
    return ",".join(out)


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One User's signing certificate."""

    user_id: str
    certificate: x509.Certificate
    public_key: ec.EllipticCurvePublicKey
    issuer: str  # normalised RFC 4514 form
    serial: int
    source: str = ""

    def describe(self) -> str:
        return f"certificate serial {self.serial} issued by {self.issuer} (User {self.user_id})"


@dataclass
class Keystore:
    """Certificates by User ID and by (issuer, serial)."""

    _by_user: dict[str, list[KeyEntry]] = field(default_factory=dict)
    _by_serial: dict[int, list[KeyEntry]] = field(default_factory=dict)

    def add(self, user_id: str, cert: x509.Certificate, *, source: str = "") -> KeyEntry:
        """Trust ``cert`` for ``user_id``'s signatures; an EC P-256 key and (if it names one) the same User ID."""
        user = eui64(user_id)
        named = certificate_user_id(cert)
        if named is not None and named != user:
            raise KeystoreError(f"{source or 'the certificate'} names User {named} in its subject, not {user}")
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise KeystoreError("DUIS signing certificates carry an ECDSA P-256 key; this one does not")
        entry = KeyEntry(user, cert, key, normalised_name(cert.issuer.rfc4514_string()), cert.serial_number, source)
        for existing in self._by_serial.get(entry.serial, []):
            if existing.issuer == entry.issuer:
                if existing.certificate == cert and existing.user_id == user:
                    return existing
                raise KeystoreError(f"another certificate with serial {entry.serial} from {entry.issuer} is loaded")
        self._by_user.setdefault(user, []).append(entry)
        self._by_serial.setdefault(entry.serial, []).append(entry)
        return entry

    def add_bytes(self, user_id: str | None, data: bytes, *, source: str = "") -> list[KeyEntry]:
        """Every certificate in ``data`` (PEM, possibly several, or DER); ``user_id`` None: the one each names."""
        try:
            certs = (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                     else [x509.load_der_x509_certificate(data)])
        except ValueError as exc:
            raise KeystoreError(f"{source or 'the data'} is not a PEM or DER X.509 certificate: {exc}") from None
        entries = []
        for cert in certs:
            user = user_id or certificate_user_id(cert)
            if user is None:
                raise KeystoreError(f"{source or 'the certificate'} names no User ID (x500UniqueIdentifier): "
                                    "say which User it belongs to")
            entries.append(self.add(user, cert, source=source))
        return entries

    def load_file(self, user_id: str | None, path: Path) -> list[KeyEntry]:
        """The certificates in a PEM or DER file, for ``user_id`` (or the User each names)."""
        return self.add_bytes(user_id, path.read_bytes(), source=path.name)

    def for_user(self, user_id: str) -> tuple[KeyEntry, ...]:
        """The certificates loaded for ``user_id`` (any case, with or without hyphens)."""
        return tuple(self._by_user.get(eui64(user_id), ()))

    def lookup(self, issuer: str, serial: int) -> KeyEntry | None:
        """The certificate named by an X509IssuerSerial, or None."""
        wanted = normalised_name(issuer)
        for entry in self._by_serial.get(serial, ()):
            if entry.issuer == wanted:
                return entry
        return None

    def user_ids(self) -> list[str]:
        return sorted(self._by_user)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_user.values())


@dataclass(frozen=True)
class BoxedMaterial:
    """What the DCC Boxed signing tool's jar carries: organisations' certificates, test keys, the DSP's key."""

    keystore: Keystore
    private_keys: dict[str, ec.EllipticCurvePrivateKey]  # by resource name, e.g. "xml-sign-90B3D51F30010000-ds"
    certificates: dict[str, x509.Certificate]
    dsp_key: ec.EllipticCurvePrivateKey
    dsp_certificate: x509.Certificate


def load_boxed_jar(jar: Path) -> BoxedMaterial:
    """The DCC Boxed test organisations' certificates and keys from the signing tool's jar. Test keys only."""
    keystore = Keystore()
    keys: dict[str, ec.EllipticCurvePrivateKey] = {}
    certs: dict[str, x509.Certificate] = {}
    with zipfile.ZipFile(jar) as archive:
        names = set(archive.namelist())
        for name in sorted(names):
            if not name.endswith("-ds.pem") or "/" in name:
                continue
            stem = name.removesuffix(".pem")
            cert = x509.load_pem_x509_certificate(archive.read(name))
            certs[stem] = cert
            if certificate_user_id(cert) is not None:
                keystore.add_bytes(None, archive.read(name), source=f"{jar.name}!{name}")
            if f"{stem}.key" in names:
                key = serialization.load_der_private_key(archive.read(f"{stem}.key"), password=None)
                if isinstance(key, ec.EllipticCurvePrivateKey):
                    keys[stem] = key
    if BOXED_DSP_KEY_NAME not in keys or BOXED_DSP_KEY_NAME not in certs:
        raise KeystoreError(f"{jar} has no DSP signing key and certificate ({BOXED_DSP_KEY_NAME}.key/.pem)")
    return BoxedMaterial(keystore, keys, certs, keys[BOXED_DSP_KEY_NAME], certs[BOXED_DSP_KEY_NAME])

