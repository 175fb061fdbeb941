"""Interop with the DCC's own open tools: requests signed by the DCC Boxed signing tool verify here, and the
responses gbsmart signs pass that tool's Validate.

The tools are fetched from the npm registry at test time (``npm pack``, into the pytest cache; nothing of
theirs is committed): ``@smartdcc/duis-sign-wrap`` carries the signing tool (``dist/tool.jar``, with the DCC
Boxed test organisations' keys and certificates); ``@smartdcc/duis-templates`` the RTDS request templates,
used when ``shared/duis/examples`` is not beside the repository. The tests are skipped only when the npm
registry cannot be reached. Java starts slowly, so one JVM signs (or validates) a whole batch of files: a
small launcher calls the tool's ``Sign.main_aux`` / ``Validate.main_aux`` once per file.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lxml import etree

from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.errors import SignatureMismatch, SignedByAnotherUser
from gbsmart.gateway.keystore import BOXED_DSP_USER_ID
from gbsmart.gateway.responses import acknowledgement, response
from gbsmart.gateway.signatures import sign, verify_request
from gbsmart.gateway.xml import duis_schema
from tests.gateway.boxed import EXAMPLES, Boxed, ToolResult, _example, _without_signature


@pytest.fixture(scope="session")
def signed_by_boxed(boxed, tmp_path_factory) -> dict[str, ToolResult]:
    files = {name: _without_signature(_example(boxed, name)) for name in EXAMPLES}
    # a Network Operator's request, to be presented later as the Supplier's (another User's key)
    files["other-user.xml"] = files["ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML"].replace(
        b"90-B3-D5-1F-30-01-00-00:", b"90-B3-D5-1F-30-02-00-00:")
    return boxed.run("Sign", files, tmp_path_factory.mktemp("signed"))


def test_the_jar_gives_the_test_organisations_certificates_and_the_dsp_key(boxed):
    store = boxed.material.keystore
    assert {"90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00", BOXED_DSP_USER_ID} <= set(store.user_ids())
    assert boxed.material.dsp_certificate.public_key() == boxed.material.dsp_key.public_key()


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_rtds_request_signed_by_dcc_boxed_is_parsed_validated_and_verified(boxed, signed_by_boxed, codec, name):
    result = signed_by_boxed[name]
    assert result.code == 0, result.err
    request = codec.parse(result.out)
    entry = verify_request(request, boxed.material.keystore)
    assert entry.user_id == request.originator
    original = codec.parse(_example(boxed, name))
    assert request.request_id == original.request_id  # --preserveCounter kept the template's counter
    assert (request.service_reference_variant, request.body) == (original.service_reference_variant, original.body)


@pytest.mark.parametrize("name", EXAMPLES[::4])
def test_a_byte_changed_after_dcc_boxed_signed_is_refused(boxed, signed_by_boxed, codec, name):
    data = signed_by_boxed[name].out
    at = data.index(b"</sr:RequestID>") - 1
    changed = data[:at] + (b"7" if data[at:at + 1] != b"7" else b"8") + data[at + 1:]
    with pytest.raises(SignatureMismatch):
        verify_request(codec.parse(changed), boxed.material.keystore)


def test_a_request_signed_with_another_users_key_is_refused(boxed, signed_by_boxed, codec):
    data = signed_by_boxed["other-user.xml"].out
    verify_request(codec.parse(data), boxed.material.keystore)  # as the Network Operator sent it: fine
    presented = data.replace(b"90-B3-D5-1F-30-02-00-00:", b"90-B3-D5-1F-30-01-00-00:")
    with pytest.raises(SignedByAnotherUser, match="90-B3-D5-1F-30-02-00-00"):
        verify_request(codec.parse(presented), boxed.material.keystore)


def _dsp_signed(request: DuisRequest, code: str, boxed: Boxed) -> bytes:
    at = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    root = acknowledgement(request, at) if code == "I99" else response(request, code, at)
    return sign(root, boxed.material.dsp_key, boxed.material.dsp_certificate)


def test_responses_gbsmart_signs_pass_the_dcc_boxed_validate(boxed, signed_by_boxed, codec, tmp_path):
    requests = {name: codec.parse(signed_by_boxed[name].out) for name in EXAMPLES}
    files = {f"{name}.I99.xml": _dsp_signed(req, "I99", boxed) for name, req in requests.items()}
    first = requests[EXAMPLES[0]]
    files["I0.xml"] = _dsp_signed(first, "I0", boxed)
    files["E2.xml"] = _dsp_signed(first, "E2", boxed)
    good = files["I0.xml"]
    files["tampered.xml"] = good.replace(b"<sr:ResponseCode>I0<", b"<sr:ResponseCode>E1<")
    # DCC Boxed's Validate checks against DUIS V5.1: a Response Code added since (E050111 came with V5.4) is
    # valid V5.4 but fails there; gbsmart's own schema accepts it
    files["E050111.xml"] = _dsp_signed(first, "E050111", boxed)
    duis_schema().validate(etree.fromstring(files["E050111.xml"]))
    results = boxed.run("Validate", files, tmp_path)
    for name, result in results.items():
        if name in ("tampered.xml", "E050111.xml"):
            continue
        assert result.code == 0, (name, result.err)
        # Validate passes an unsigned Response without checking: make sure the signature was checked
        assert "passed signature check" in result.err, (name, result.err)
        assert b"<sr:ResponseCode>" in result.out
    assert results["tampered.xml"].code == 10 and "failed signature check" in results["tampered.xml"].err
    assert results["E050111.xml"].code == 10 and "failed xsd validation" in results["E050111.xml"].err
