"""XML Signatures on DUIS messages: requests verified against the originator's certificate, responses signed.

DUIS signs every message with an enveloped XML Signature: exclusive canonicalisation (exc-c14n), ECDSA P-256
with SHA-256, one Reference to the whole document (``URI=""``), and a KeyInfo naming the signer's certificate
by ``X509IssuerSerial`` (DOMAIN.md section 6). ``verify_request`` checks that shape first, so a wrong
algorithm or a reference to part of the document is refused with a message saying so, then finds the
certificate in the ``Keystore``, refuses one that is not the RequestID originator's (a signature by another
User's key), and has signxml check digest and signature. ``sign`` signs a response or alert with the DCC's
key the same way. docs/decisions/0019-duis-signatures.md records why signxml, and what it costs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureConstructionMethod,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.exceptions import InvalidInput, InvalidSignature

from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.errors import (
    SignatureAlgorithmRefused,
    SignatureMismatch,
    SignatureRefused,
    SignedByAnotherUser,
    UnknownSigningCertificate,
    Unsigned,
)
from gbsmart.gateway.keystore import KeyEntry, Keystore, normalised_name
from gbsmart.gateway.xml import DS_NS

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_ALLOWED_TRANSFORMS = ((ENVELOPED,), (ENVELOPED, EXC_C14N))

_EXPECT = SignatureConfiguration(
    require_x509=False,
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.ECDSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
    # a Reference whose transforms end with a node-set is hashed after inclusive C14N 1.0 (XMLDSig 1.0, 4.3.3.2):
    # DCC Boxed signs with the enveloped-signature transform alone, so this is what its digests are over
    default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
)


@lru_cache(maxsize=64)
def _ds(path: str) -> str:
    """``"KeyInfo/X509Data"`` in Clark notation, in the XML Signature namespace."""
    return "/".join(f"{{{DS_NS}}}{step}" for step in path.split("/"))


def _algorithm(parent: etree._Element, path: str, what: str, expected: str) -> None:
    element = parent.find(_ds(path))
    found = element.get("Algorithm") if element is not None else None
    if found != expected:
        raise SignatureAlgorithmRefused(
            f"the signature's {what} is {found or 'missing'}; DUIS signatures use {expected}")


def _signature_element(root: etree._Element) -> etree._Element:
    signatures = root.findall(f".//{_ds('Signature')}")
    if not signatures:
        raise Unsigned("the request is not signed: a DUIS request carries an XML Signature (ds:Signature) made "
                       "with the originator's organisation key")
    if len(signatures) > 1 or signatures[0].getparent() is not root:
        raise SignatureRefused("the request must carry exactly one ds:Signature, as the last child of the Request")
    return signatures[0]


def _check_shape(signature: etree._Element) -> tuple[str, int]:
    """The X509IssuerSerial the signature names, once its algorithms and reference are DUIS's; else a refusal."""
    signed_info = signature.find(_ds("SignedInfo"))
    if signed_info is None:
        raise SignatureRefused("the ds:Signature has no SignedInfo")
    _algorithm(signed_info, "CanonicalizationMethod", "canonicalisation method", EXC_C14N)
    _algorithm(signed_info, "SignatureMethod", "signature method", ECDSA_SHA256)
    references = signed_info.findall(_ds("Reference"))
    if len(references) != 1 or references[0].get("URI") != "":
        raise SignatureRefused('the signature must have exactly one Reference, to the whole document (URI="")')
    reference = references[0]
    _algorithm(reference, "DigestMethod", "digest method", SHA256)
    transforms = tuple(t.get("Algorithm") or "" for t in reference.findall(_ds("Transforms/Transform")))
    if transforms not in _ALLOWED_TRANSFORMS:
        raise SignatureAlgorithmRefused(f"the Reference's transforms are {', '.join(transforms) or 'none'}; DUIS "
                                        f"signatures use the enveloped-signature transform (then exc-c14n)")
    issuer_serial = signature.find(_ds("KeyInfo/X509Data/X509IssuerSerial"))
    if issuer_serial is None:
        raise SignatureRefused("the signature's KeyInfo does not name the signing certificate by "
                               "X509Data/X509IssuerSerial, as DUIS requires")
    issuer = (issuer_serial.findtext(_ds("X509IssuerName")) or "").strip()
    serial_text = (issuer_serial.findtext(_ds("X509SerialNumber")) or "").strip()
    if not issuer or not (serial_text.isascii() and serial_text.isdigit()) or len(serial_text) > 50:
        raise SignatureRefused("the X509IssuerSerial needs an X509IssuerName and a decimal X509SerialNumber")
    return issuer, int(serial_text)


def signer_of(request: DuisRequest, keystore: Keystore, *, at: datetime | None = None,
              ) -> tuple[etree._Element, KeyEntry]:
    """The request's ds:Signature, once of DUIS's shape, and the originator's certificate it names; else a refusal."""
    signature = _signature_element(request.root)
    issuer, serial = _check_shape(signature)
    entry = keystore.lookup(issuer, serial)
    if entry is None:
        raise UnknownSigningCertificate(f"the request is signed with certificate serial {serial} issued by "
                                        f"{issuer[:120]}, which the DCC does not hold for any User")
    if entry.user_id != request.originator:
        raise SignedByAnotherUser(f"the request is signed with the key of User {entry.user_id}, not that of its "
                                  f"originator {request.originator} (the RequestID's first part)")
    if at is not None and not (entry.certificate.not_valid_before_utc <= at <= entry.certificate.not_valid_after_utc):
        raise SignatureRefused(f"the signing {entry.describe()} is not valid at {at.isoformat()}: it is valid from "
                               f"{entry.certificate.not_valid_before_utc:%Y-%m-%d} to "
                               f"{entry.certificate.not_valid_after_utc:%Y-%m-%d}")
    return signature, entry


def verify_request(request: DuisRequest, keystore: Keystore, *, at: datetime | None = None) -> KeyEntry:
    """The originator's certificate that signed ``request``, or a ``SignatureRefused`` saying what is wrong.

    ``at``: also refuse a certificate outside its validity period at that time (None: not checked here).
    """
    entry = signer_of(request, keystore, at=at)[1]
    # signxml also checks the certificate's dates, against the wall clock unless told a time: give it ``at``, or
    # (no date check asked for) a time inside the validity, so that the clock stays injected (ARCHITECTURE.md)
    expect = replace(_EXPECT, verification_time=at or entry.certificate.not_valid_before_utc)
    try:
        XMLVerifier().verify(request.root, x509_cert=entry.certificate, expect_config=expect, validate_schema=False)
    except InvalidSignature as exc:
        raise SignatureMismatch(f"the signature does not match the request and the originator's key: {exc} "
                                "(the request was changed after signing, or signed with another key)") from None
    # signxml on malformed values (base64, numbers, ...), or on text after the Signature (it re-parses the element
    # with its tail: only without the schema, which refuses such text first)
    except (InvalidInput, ValueError, TypeError, etree.XMLSyntaxError) as exc:
        raise SignatureRefused(f"the signature cannot be checked: {str(exc)[:200]}") from None
    return entry


def key_info(cert: x509.Certificate) -> etree._Element:
    """A ds:KeyInfo naming ``cert`` by X509IssuerSerial, as DUIS signatures do."""
    info = etree.Element(_ds("KeyInfo"), nsmap={"ds": DS_NS})
    issuer_serial = etree.SubElement(etree.SubElement(info, _ds("X509Data")), _ds("X509IssuerSerial"))
    etree.SubElement(issuer_serial, _ds("X509IssuerName")).text = normalised_name(cert.issuer.rfc4514_string())
    etree.SubElement(issuer_serial, _ds("X509SerialNumber")).text = str(cert.serial_number)
    return info


def sign(root: etree._Element, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> bytes:
    """``root`` (a DUIS Response or alert, unsigned) signed with the DCC's ``key``, serialised as UTF-8 XML."""
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    # the exc-c14n transform is written into the Reference, so every verifier digests exactly what was signed
    signed = signer.sign(root, key=key, key_info=key_info(cert))
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
