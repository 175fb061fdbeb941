"""The fast path for DUIS XML Signatures: the one shape DUIS uses, checked on the already-parsed tree.

Same API and errors as ``signatures.verify_request`` and ``signatures.sign``, and the same answers (signxml is
its oracle in tests/gateway/test_fastsig.py), about four times faster: decision 0019 found signxml spends most
of a verify re-parsing the document it is handed and digesting slowly. Here ``signatures.signer_of`` checks the
shape, the keystore and the originator exactly as before; then, as signxml does for that shape, the Reference
is digested after the enveloped-signature transform (the Signature detached for the moment, its tail kept) and
libxml2's own C14N (``etree.tostring(method="c14n")``, no comments: exc-c14n when the Reference names it, else
inclusive C14N 1.0, XMLDSig 4.3.3.2), SHA-256 by hashlib, and SignedInfo's exc-c14n checked with one ECDSA
verify through ``cryptography`` (XMLDSig's r||s turned into DER). No canonicalisation is written here.
The request's tree is changed while it is being checked (the Signature detached, then put back as it was), so
one tree must not be verified from two threads at once; each request's own parse is only its own.
docs/decisions/0023-duis-signature-fast-path.md has the figures.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import re
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree

from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.errors import SignatureMismatch, SignatureRefused
from gbsmart.gateway.keystore import KeyEntry, Keystore
from gbsmart.gateway.signatures import ECDSA_SHA256, ENVELOPED, EXC_C14N, SHA256, _ds, key_info, signer_of
from gbsmart.gateway.xml import DS_NS

_EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
_ECDSA = ec.ECDSA(hashes.SHA256())


def _prefixes(method: etree._Element | None) -> list[str] | None:
    """An exc-c14n InclusiveNamespaces PrefixList, split as signxml splits it."""
    found = method.find(f"{{{_EC_NS}}}InclusiveNamespaces") if method is not None else None
    listed = found.get("PrefixList") if found is not None else None
    return listed.split(" ") if listed is not None else None


def _c14n(node: etree._Element, exclusive: bool, prefixes: list[str] | None) -> bytes:
    return etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=False,
                          inclusive_ns_prefixes=prefixes)


def _without_signature(root: etree._Element, signature: etree._Element, exclusive: bool,
                       prefixes: list[str] | None) -> bytes:
    """The document canonicalised with ``signature`` removed (enveloped-signature transform), then put back."""
    parent = signature.getparent()
    assert parent is not None
    previous = signature.getprevious()
    saved_text, saved_tail = parent.text, previous.tail if previous is not None else None
    index = parent.index(signature)
    tail = signature.tail
    if tail is not None:  # the text after the Signature stays in the document (as signxml's _remove_sig keeps it)
        if previous is None:
            parent.text = (parent.text or "") + tail
        else:
            previous.tail = (previous.tail or "") + tail
    parent.remove(signature)
    try:
        return _c14n(root, exclusive, prefixes)
    finally:
        parent.insert(index, signature)
        signature.tail = tail
        if previous is None:
            parent.text = saved_text
        else:
            previous.tail = saved_tail


def _b64(element: etree._Element | None, what: str) -> bytes:
    text = element.text if element is not None else None
    if text is None:
        raise SignatureRefused(f"the signature cannot be checked: its {what} is empty")
    try:
        return base64.b64decode(text)  # as signxml decodes (characters outside base64 are skipped)
    except (binascii.Error, ValueError) as exc:
        raise SignatureRefused(f"the signature cannot be checked: its {what} is not base64 ({exc})") from None


def _mismatch(why: str) -> SignatureMismatch:
    return SignatureMismatch(f"the signature does not match the request and the originator's key: {why} "
                             "(the request was changed after signing, or signed with another key)")


def verify_request(request: DuisRequest, keystore: Keystore, *, at: datetime | None = None) -> KeyEntry:
    """The originator's certificate that signed ``request``, or a ``SignatureRefused`` saying what is wrong."""
    signature, entry = signer_of(request, keystore, at=at)
    if signature.tail is not None and signature.tail.strip(" \t\r\n"):
        raise SignatureRefused("the signature cannot be checked: there is text after the ds:Signature")
    signed_info = signature.find(_ds("SignedInfo"))
    assert signed_info is not None  # signer_of checked the shape
    reference = signed_info.find(_ds("Reference"))
    assert reference is not None
    key = entry.certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureRefused(f"the signing {entry.describe()} has no elliptic-curve key for ecdsa-sha256")
    raw = _b64(signature.find(_ds("SignatureValue")), "SignatureValue")
    half = (key.key_size + 7) // 8
    if len(raw) != 2 * half:
        raise _mismatch(f"Expected {2 * half} byte SignatureValue, got {len(raw)}")
    der = encode_dss_signature(int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big"))
    method = signed_info.find(_ds("CanonicalizationMethod"))
    try:
        key.verify(der, _c14n(signed_info, True, _prefixes(method)), _ECDSA)
    except InvalidSignature:
        raise _mismatch("Signature verification failed") from None
    # SignedInfo first, then the Reference, as signxml does: the same refusal for the same fault
    transforms = reference.findall(_ds("Transforms/Transform"))
    exclusive = transforms[-1].get("Algorithm") == EXC_C14N
    document = _without_signature(request.root, signature, exclusive, _prefixes(transforms[-1]) if exclusive else None)
    digest = _b64(reference.find(_ds("DigestValue")), "DigestValue")
    if not hmac.compare_digest(digest, hashlib.sha256(document).digest()):
        raise _mismatch("Digest mismatch for reference 0")
    return entry


def _signed_info() -> tuple[etree._Element, etree._Element, etree._Element]:
    """An empty DUIS SignedInfo: (the ds:Signature, its SignedInfo, the Reference's DigestValue)."""
    signature = etree.Element(_ds("Signature"), nsmap={"ds": DS_NS})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=ECDSA_SHA256)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(transforms, _ds("Transform"), Algorithm=EXC_C14N)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SHA256)
    return signature, signed_info, etree.SubElement(reference, _ds("DigestValue"))


def _template(cert: x509.Certificate) -> etree._Element:
    """The ds:Signature ``sign`` makes for ``cert``, empty DigestValue and SignatureValue: built once per
    certificate (``_TEMPLATES``) and copied per response, the same elements in the same order as built by hand."""
    signature, _, _ = _signed_info()
    etree.SubElement(signature, _ds("SignatureValue"))
    signature.append(key_info(cert))
    return signature


#: templates by the certificate object's id, the certificate kept beside its template (so an id is never reused
#: while its entry lives); a process signs with one or two (the DCC signer, replaced only on rotation)
_TEMPLATES: dict[int, tuple[x509.Certificate, etree._Element]] = {}
_DIGEST_VALUE, _SIGNATURE_VALUE = _ds("SignedInfo/Reference/DigestValue"), _ds("SignatureValue")


def sign(root: etree._Element, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> bytes:
    """``root`` (a DUIS Response or alert, unsigned) signed with the DCC's ``key``, serialised as UTF-8 XML."""
    signature = copy.deepcopy(_signature_template(cert))
    signed_info = signature[0]
    signature.find(_DIGEST_VALUE).text = base64.b64encode(  # type: ignore[union-attr]
        hashlib.sha256(_c14n(root, True, None)).digest()).decode()
    root.append(signature)
    r, s = decode_dss_signature(key.sign(_c14n(signed_info, True, None), _ECDSA))
    half = (key.key_size + 7) // 8
    signature.find(_SIGNATURE_VALUE).text = base64.b64encode(  # type: ignore[union-attr]
        r.to_bytes(half, "big") + s.to_bytes(half, "big")).decode()
    try:
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    finally:
        root.remove(signature)  # the caller's tree is left as it was given


# ---------------------------------------------------------------- signed shapes: one message shape, many messages

#: the texts a ``SignedShape`` puts in unchanged: they read the same in the canonical form and in the serialised
#: document (nothing to escape, no whitespace to normalise), so one substitution serves both
_PLAIN = re.compile(r"[A-Za-z0-9+/=:.\-_]*\Z")


class SignedShape:
    """Many messages of one shape, signed as ``sign`` signs them, without building or canonicalising a tree each.

    Built once from an unsigned example ``root`` and the ``slots``, the elements whose texts vary (each found by
    its path from the root): the example's exc-C14N, its signed SignedInfo and its serialised signed form are made
    here by ``sign``'s own code (libxml2's C14N, the same template), with a marker in each slot, the DigestValue and
    the SignatureValue; ``render`` then only fills in the markers, digests, and signs SignedInfo's canonical bytes.
    A text that is not plain (``_PLAIN``: it would need escaping, or could read differently canonicalised) is not
    rendered here: ``render`` answers None and the caller builds the tree and calls ``sign``. The answers are the
    same bytes as ``sign``'s but for the ECDSA signature value, which is random for each signing
    (tests/gateway/test_fastsig.py checks both on many messages)."""

    def __init__(self, root: etree._Element, slots: list[str], key: ec.EllipticCurvePrivateKey,
                 cert: x509.Certificate) -> None:
        self.key, self.cert = key, cert
        self._half = (key.key_size + 7) // 8
        root = copy.deepcopy(root)
        markers = [f"@{i}@" for i in range(len(slots))]
        for path, marker in zip(slots, markers, strict=True):
            element = root.find(path)
            if element is None:
                raise ValueError(f"the shape has no element at {path!r}")
            element.text = marker
        canonical = _c14n(root, True, None).decode()
        signature = copy.deepcopy(_signature_template(cert))
        signature.find(_DIGEST_VALUE).text = "@digest@"  # type: ignore[union-attr]
        signature.find(_SIGNATURE_VALUE).text = "@signature@"  # type: ignore[union-attr]
        root.append(signature)
        signed_info = _c14n(signature[0], True, None).decode()
        document = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()
        self._canonical = _split(canonical, markers)
        self._signed_info = signed_info.split("@digest@")
        self._document = _split(document, [*markers, "@digest@", "@signature@"])
        if len(self._signed_info) != 2:
            raise ValueError("the shape's SignedInfo must hold its DigestValue once")

    def render(self, texts: list[str]) -> bytes | None:
        """The signed message with ``texts`` in the slots, in order; None if a text is not plain."""
        for text in texts:
            if not _PLAIN.match(text):
                return None
        canonical = self._canonical.format(*texts)
        digest = base64.b64encode(hashlib.sha256(canonical.encode()).digest()).decode()
        before, after = self._signed_info
        r, s = decode_dss_signature(self.key.sign((before + digest + after).encode(), _ECDSA))
        value = base64.b64encode(r.to_bytes(self._half, "big") + s.to_bytes(self._half, "big")).decode()
        return self._document.format(*texts, digest, value).encode()


def _signature_template(cert: x509.Certificate) -> etree._Element:
    known = _TEMPLATES.get(id(cert))
    if known is None or known[0] is not cert:
        if len(_TEMPLATES) >= 16:
            _TEMPLATES.clear()
        known = _TEMPLATES[id(cert)] = (cert, _template(cert))
    return known[1]


def _split(text: str, markers: list[str]) -> str:
    """``text`` as a ``str.format`` template, marker ``i`` made ``{i}``, each marker found exactly once."""
    found = sorted((text.index(m), i) for i, m in enumerate(markers) if text.count(m) == 1)
    if len(found) != len(markers):
        raise ValueError("each slot of a shape must appear exactly once in it")
    parts: list[str] = []
    at = 0
    for position, i in found:
        parts += [text[at:position].replace("{", "{{").replace("}", "}}"), f"{{{i}}}"]
        at = position + len(markers[i])
    parts.append(text[at:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts)
