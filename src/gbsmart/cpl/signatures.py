"""Signed CPL submissions (CPL Requirements section 2 (h)): what a submitter signs, and how gbsmart checks it.

A submission naming the Manufacturer Image's creator and hash "must be digitally signed" (DOMAIN.md 4); any other
submission may be signed too, and its signature is then checked all the same. The submitting organisation signs,
on its own side, with an organisation certificate issued under the PKI whose root is the configured trust anchor
(the anchor CPL extracts chain to: ``GBSMART_CPL_TRUST_ANCHOR``, by default the test PKI's ``root-ca.pem``).

**What is signed** is the UTF-8 encoding of::

    canonical_json({"format": "gbsmart-cpl-submission/1", "submission": CONTENT})

``canonical_json`` is the CPL extracts' form (``cpl/extracts.py``): keys sorted, no insignificant whitespace,
non-ASCII characters written as themselves. CONTENT is the submission as gbsmart reads it (``SubmissionCreate``
after parsing: whitespace trimmed, defaults filled in, dates as YYYY-MM-DD, enumerations as their values) without
``signature``, ``signer_certificates`` and ``submitter_organisation``, and without any field, at any depth, whose
value is null or an empty string. A JSON file, an API body, the portal form and a workbook row that say the same
thing therefore sign the same bytes. ``submitter_organisation`` (the Code Administrator submitting on someone's
behalf) is left out because the signer's organisation is checked against the submitting organisation instead.

**The signature** is DER ECDSA P-256 with SHA-256, sent base64 in ``signature``. ``signer_certificates`` is PEM:
the signer's certificate, then any intermediate CA certificates, which only help build the path to the trust
anchor and are never trusted themselves.

**The checks** (``check_signature``), each reported as a failure naming the field and the rule (``rules.py``):
the certificates are readable PEM with an ECDSA P-256 key (signer-certificates); the chain leads to the trust
anchor and every certificate in it is valid at the time the submission was received, with digitalSignature
(and documentSigning, when the certificate lists extended key usages) (signer-trusted); the certificate's
organisation (O=) is the submitting organisation (signer-organisation); the signature verifies over the signed
bytes (signature-valid). Approval re-checks at the time of receipt, so a certificate expiring while the
submission waits for SECAS does not refuse it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from gbsmart.config import Settings
from gbsmart.core.errors import Invalid
from gbsmart.core.signing import (
    CertificateError,
    KeyFileError,
    PrivateKey,
    SignatureInvalid,
    certificate_pem,
    certificates_from_pem,
    common_name,
    load_certificates,
    load_private_key,
    same_public_key,
    sign,
    verify_chain,
    verify_signature,
)
from gbsmart.cpl import rules
from gbsmart.cpl.extracts import canonical_json
from gbsmart.cpl.schemas import SubmissionCreate

FORMAT = "gbsmart-cpl-submission/1"
#: Fields of a submission that are not part of what is signed.
UNSIGNED_FIELDS = frozenset({"signature", "signer_certificates", "submitter_organisation"})


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def signed_content(data: SubmissionCreate) -> dict[str, Any]:
    """The submission's content as it is signed: parsed, without the unsigned fields and the null or empty ones."""
    return _prune(data.model_dump(mode="json", exclude=set(UNSIGNED_FIELDS)))


def signed_bytes(data: SubmissionCreate) -> bytes:
    """Exactly the bytes a submission's signature covers."""
    return canonical_json({"format": FORMAT, "submission": signed_content(data)}).encode("utf-8")


def decode_signature(text: str | None) -> bytes | None:
    """The DER signature from its base64 text (line breaks and spaces allowed); ``Invalid`` naming the field."""
    if not text or not text.strip():
        return None
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid("The signature is not base64.",
                      detail=[{"field": "signature", "message": "not base64 (give the DER ECDSA signature, "
                                                                "base64-encoded)"}]) from exc


def _organisations(cert: x509.Certificate) -> tuple[str, ...]:
    return tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))


def describe_signer(cert: x509.Certificate) -> str:
    """A signer in words: its common name, and its organisation when that differs."""
    orgs = _organisations(cert)
    name = common_name(cert)
    return f"{name} ({orgs[0]})" if orgs and orgs[0] != name else name


def signer_of(certificates_pem: str | None) -> str | None:
    """Who signed, from stored PEM certificates (for display); None when there are none or they are unreadable."""
    if not certificates_pem:
        return None
    try:
        return describe_signer(certificates_from_pem(certificates_pem)[0])
    except KeyFileError:
        return None


def _is_p256(cert: x509.Certificate) -> bool:
    key = cert.public_key()
    return isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


def check_signature(data: SubmissionCreate, signature: bytes | None, certificates_pem: str | None, *,
                    settings: Settings, at: datetime, submitter_names: tuple[str, ...]) -> rules.SignatureFacts:
    """Verify a submission's signature as of ``at`` and say what was found, for ``rules.signature_failures``."""
    given = {"signature": signature is not None, "certificates": bool(certificates_pem and certificates_pem.strip()),
             "submitter_organisations": tuple(n for n in submitter_names if n)}
    if not given["certificates"]:
        return rules.SignatureFacts(**given)
    try:
        certs = certificates_from_pem(certificates_pem, what="signer_certificates")
    except KeyFileError as exc:
        return rules.SignatureFacts(**given, certificates_problem=f"{exc.message} (paste the PEM text, from "
                                                                  "-----BEGIN CERTIFICATE-----)")
    leaf = certs[0]
    found = {"signer": describe_signer(leaf), "signer_organisations": _organisations(leaf)}
    if not _is_p256(leaf):
        return rules.SignatureFacts(**given, **found, certificates_problem=(
            f"the signer's certificate '{common_name(leaf)}' does not hold an ECDSA P-256 key"))
    chain_problem = None
    try:
        anchors = load_certificates(settings.resolved_cpl_trust_anchor())
        verify_chain(leaf, anchors=anchors, intermediates=certs[1:], at=at)
    except KeyFileError as exc:
        chain_problem = (f"gbsmart has no usable trust anchor to check it against ({exc.message}); the operator sets "
                         "GBSMART_CPL_TRUST_ANCHOR or creates the test PKI with `gbsmart pki init-test`")
    except CertificateError as exc:
        chain_problem = exc.message
    signature_problem = None
    if signature is not None:
        try:
            verify_signature(leaf, signature, signed_bytes(data))
        except SignatureInvalid:
            signature_problem = (f"the signature does not verify over this submission's content with the key of "
                                 f"'{common_name(leaf)}': the content was changed after signing, or another key "
                                 "signed it")
    return rules.SignatureFacts(**given, **found, chain_problem=chain_problem, signature_problem=signature_problem)


# ---------------------------------------------------------------- signing (the submitter's side)


def load_signing_credentials(key_path: Path, certificate_path: Path,
                             password: SecretStr | None = None) -> tuple[PrivateKey, list[x509.Certificate]]:
    """A submitter's ECDSA P-256 key and its certificate chain, checked to belong together."""
    key = load_private_key(key_path, password)
    chain = load_certificates(certificate_path)
    if not (isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"):
        raise Invalid(f"cannot sign: {key_path} is not an ECDSA P-256 key (CPL submissions are signed with ECDSA "
                      "P-256 and SHA-256)")
    if not same_public_key(key, chain[0]):
        raise Invalid(f"cannot sign: the key {key_path} does not belong to the certificate '{common_name(chain[0])}' "
                      f"(the first certificate in {certificate_path})")
    return key, chain


def sign_submission(raw: dict[str, Any], key: PrivateKey, chain: list[x509.Certificate]) -> dict[str, Any]:
    """``raw`` (a submission as JSON) with ``signature`` and ``signer_certificates`` added, any old ones replaced.

    ``raw`` is parsed first, so a submission gbsmart would not read is refused here (pydantic's error)."""
    unsigned = {k: v for k, v in raw.items() if k not in ("signature", "signer_certificates")}
    data = SubmissionCreate.model_validate(unsigned)
    signature = sign(key, signed_bytes(data))
    return {**unsigned, "signature": base64.b64encode(signature).decode("ascii"),
            "signer_certificates": certificate_pem(*chain)}
