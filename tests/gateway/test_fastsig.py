"""The fast signature path gives signxml's answers: on DCC Boxed's own signatures, on every refusal, under mutation.

signxml (``signatures.verify_request``) is the oracle: whatever it refuses, ``fastsig`` refuses, with an error of
the same type; what it accepts, ``fastsig`` accepts. Responses ``fastsig`` signs pass signxml and DCC Boxed's
Validate.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree
from signxml import XMLVerifier

from gbsmart.gateway import errors, fastsig, signatures
from gbsmart.gateway.duis import DuisCodec, DuisRequest
from gbsmart.gateway.keystore import Keystore
from gbsmart.gateway.responses import acknowledgement, response
from gbsmart.gateway.xml import DS_NS

from . import test_interop
from .conftest import DCC, NETWORK_OPERATOR, SUPPLIER, request_xml, signed
from .test_interop import EXAMPLES

AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
UNCHECKED = DuisCodec(None)
signed_by_boxed = test_interop.signed_by_boxed  # hardened parse, no schema: mutations reach the signature check


def _outcome(verify, request: DuisRequest, keystore: Keystore) -> str:
    """``accepted by USER`` or the refusal's class name."""
    try:
        return f"accepted by {verify(request, keystore).user_id}"
    except errors.DuisRefused as refused:
        return type(refused).__name__


def _both(data: bytes, keystore: Keystore, codec: DuisCodec = UNCHECKED) -> tuple[str, str]:
    """(signxml's outcome, fastsig's outcome) on ``data``, each on its own parse."""
    return (_outcome(signatures.verify_request, codec.parse(data), keystore),
            _outcome(fastsig.verify_request, codec.parse(data), keystore))


@pytest.mark.parametrize("name", EXAMPLES)
def test_fastsig_accepts_every_rtds_request_dcc_boxed_signed_as_signxml_does(boxed, signed_by_boxed, codec, name):
    data = signed_by_boxed[name].out
    request = codec.parse(data)
    before = etree.tostring(request.root)
    assert _both(data, boxed.material.keystore, codec) == (f"accepted by {request.originator}",) * 2
    fastsig.verify_request(request, boxed.material.keystore)
    assert etree.tostring(request.root) == before  # the signature is back where it was, tail and all


def test_fastsig_refuses_what_signxml_refuses_on_dcc_boxed_requests(boxed, signed_by_boxed, codec):
    store = boxed.material.keystore
    for name in EXAMPLES[::3]:
        data = signed_by_boxed[name].out
        at = data.index(b"</sr:RequestID>") - 1
        changed = data[:at] + (b"7" if data[at:at + 1] != b"7" else b"8") + data[at + 1:]
        assert _both(changed, store, codec) == ("SignatureMismatch",) * 2, name
        digest = re.search(rb"<(\w+:)?DigestValue>([^<]{8})", data)
        assert digest is not None
        other = digest.group(2)[:4] + (b"AAAA" if digest.group(2)[4:] != b"AAAA" else b"BBBB")
        assert _both(data.replace(digest.group(2), other, 1), store, codec) == ("SignatureMismatch",) * 2, name
    other_user = signed_by_boxed["other-user.xml"].out.replace(b"90-B3-D5-1F-30-02-00-00:", b"90-B3-D5-1F-30-01-00-00:")
    assert _both(other_user, store, codec) == ("SignedByAnotherUser",) * 2


def test_responses_fastsig_signs_pass_signxml_and_the_dcc_boxed_validate(boxed, signed_by_boxed, codec, tmp_path):
    material = boxed.material
    files = {}
    for name in EXAMPLES[:8]:
        request = codec.parse(signed_by_boxed[name].out)
        root = acknowledgement(request, AT)
        ours = fastsig.sign(root, material.dsp_key, material.dsp_certificate)
        theirs = signatures.sign(root, material.dsp_key, material.dsp_certificate)
        assert _unsigned_value(ours) == _unsigned_value(theirs)  # the same bytes but for ECDSA's random value
        XMLVerifier().verify(ours, x509_cert=material.dsp_certificate, expect_config=signatures._EXPECT)
        files[f"{name}.I99.xml"] = ours
    files["I0.xml"] = fastsig.sign(response(codec.parse(signed_by_boxed[EXAMPLES[0]].out), "I0", AT),
                                   material.dsp_key, material.dsp_certificate)
    files["tampered.xml"] = files["I0.xml"].replace(b"<sr:ResponseCode>I0<", b"<sr:ResponseCode>E1<")
    results = boxed.run("Validate", files, tmp_path)
    for name, result in results.items():
        if name != "tampered.xml":
            assert result.code == 0 and "passed signature check" in result.err, (name, result.err)
    assert results["tampered.xml"].code == 10 and "failed signature check" in results["tampered.xml"].err


def _unsigned_value(data: bytes) -> bytes:
    return re.sub(rb"<ds:SignatureValue>[^<]*<", b"<ds:SignatureValue><", data)


def test_our_signatures_verify_on_both_paths_and_another_key_is_refused_by_both(keystore, organisations):
    good = signed(request_xml(), organisations[SUPPLIER])
    assert _both(good, keystore) == (f"accepted by {SUPPLIER}",) * 2
    assert _both(fastsig.sign(etree.fromstring(request_xml()), organisations[SUPPLIER].key,
                              organisations[SUPPLIER].certificate), keystore) == (f"accepted by {SUPPLIER}",) * 2
    # signed with the Network Operator's key, but naming the Supplier's certificate: a wrong key
    forged = signed(request_xml(), organisations[NETWORK_OPERATOR])
    names = re.compile(rb"<ds:KeyInfo>.*</ds:KeyInfo>", re.S)
    forged = names.sub(names.search(good).group(0), forged)  # type: ignore[union-attr]
    assert _both(forged, keystore) == ("SignatureMismatch",) * 2
    assert _both(signed(request_xml(), organisations[NETWORK_OPERATOR]), keystore) == ("SignedByAnotherUser",) * 2
    store = Keystore()
    store.add(DCC, organisations[DCC].certificate)
    assert _both(good, store) == ("UnknownSigningCertificate",) * 2
    assert _both(request_xml(), keystore) == ("Unsigned",) * 2


@pytest.mark.parametrize("old,new", [
    (b"xmldsig-more#ecdsa-sha256", b"xmldsig-more#ecdsa-sha384"),
    (b"xmldsig-more#ecdsa-sha256", b"xmldsig-more#rsa-sha256"),
    (b'CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"',
     b'CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"'),
    (b"xmlenc#sha256", b"xmldsig#sha1"),
    (b'Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"',
     b'Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments"'),
    (b'Reference URI=""', b'Reference URI="#x"'),
    (b"<ds:SignedInfo>", b'<ds:SignedInfo Id="x">'),  # SignedInfo altered: its canonical form changes
    (b'<ds:Reference URI="">', b'<ds:Reference URI="" Type="x">'),
    (b"<ds:DigestValue>", b"<ds:DigestValue>AAAA"),
    (b"<ds:SignatureValue>", b"<ds:SignatureValue>AAAA"),
    (b"<ds:SignatureValue>", b"<ds:SignatureValue>!"),
    (b"</sr:Body>", b"</sr:Body><!-- a comment is outside what was signed -->"),
    (b"</sr:Body>", b"</sr:Body>\n  "),
    (b"<sr:Header>", b'<sr:Header xmlns:x="urn:x">'),
])
def test_altered_signatures_get_the_same_answer_on_both_paths(keystore, organisations, old, new):
    data = signed(request_xml(), organisations[SUPPLIER])
    assert old in data
    signxml_says, fastsig_says = _both(data.replace(old, new, 1), keystore)
    assert fastsig_says == signxml_says


def _signed_requests(organisations) -> list[bytes]:
    return [signed(request_xml(request_id=f"{SUPPLIER}:00-DB-12-34-56-78-90-A0:{1000 + i}"), organisations[SUPPLIER])
            for i in range(3)]


MUTATIONS = st.sampled_from(["text", "tail", "attribute", "remove", "comment", "child", "namespace", "bytes"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 2), what=MUTATIONS, where=st.integers(0, 10_000),
       text=st.text(st.sampled_from("aA0 =+/\n\t<&>\"'xy:"), max_size=6))
@example(which=0, what="remove", where=209, text="")  # DigestValue removed: SignedInfo's check fails first
@example(which=0, what="tail", where=104, text="0")  # text after the Signature: signxml cannot re-parse it
def test_fastsig_never_accepts_what_signxml_refuses(keystore, organisations, which, what, where, text):
    data = _signed_requests(organisations)[which] if which else signed(request_xml(), organisations[SUPPLIER])
    root = etree.fromstring(data)
    elements = list(root.iter())
    element = elements[where % len(elements)]
    if what == "text":
        element.text = (element.text or "") + text
    elif what == "tail" and element is not root:
        element.tail = (element.tail or "") + text
    elif what == "attribute":
        element.set("a" if where % 2 else f"{{{DS_NS}}}Id", text)
    elif what == "remove" and element is not root:
        element.getparent().remove(element)  # type: ignore[union-attr]
    elif what == "comment":
        element.insert(where % (len(element) + 1), etree.Comment(text.replace("-", "") or "c"))
    elif what == "child":
        etree.SubElement(element, f"{{{DS_NS}}}Transform" if where % 2 else "x").text = text
    elif what == "namespace":
        etree.SubElement(element, "{urn:new}y")
    mutated = etree.tostring(root)
    if what == "bytes":
        at = where % len(data)
        mutated = data[:at] + text.encode() + data[at + 1:]
    try:
        signxml_says, fastsig_says = _both(mutated, keystore)
    except errors.DuisRefused:
        return  # the parser or the header refused it: neither signature path sees it
    if fastsig_says.startswith("accepted"):
        assert signxml_says == fastsig_says, mutated
    else:
        assert not signxml_says.startswith("accepted"), (fastsig_says, mutated)
        assert fastsig_says == signxml_says, mutated


def test_signing_from_a_kept_template_names_each_certificate_and_matches_signxml_byte_for_byte(organisations):
    """``fastsig.sign`` copies a ds:Signature template kept per certificate: signing by turns with two
    certificates gives each its own KeyInfo, the bytes signxml gives (but the random ECDSA value), and the
    caller's tree back as it was."""
    root = etree.fromstring(request_xml())
    before = etree.tostring(root)
    for who in (DCC, SUPPLIER, DCC, SUPPLIER):
        key, cert = organisations[who].key, organisations[who].certificate
        ours = fastsig.sign(root, key, cert)
        assert _unsigned_value(ours) == _unsigned_value(signatures.sign(root, key, cert))
        assert f"<ds:X509SerialNumber>{cert.serial_number}<".encode() in ours
        XMLVerifier().verify(ours, x509_cert=cert, expect_config=signatures._EXPECT)
        assert etree.tostring(root) == before
