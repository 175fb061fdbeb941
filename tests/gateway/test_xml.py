"""The hardened parser and the DUIS schema: what is refused, with which error and HTTP status."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gbsmart.config import Settings
from gbsmart.gateway import errors
from gbsmart.gateway.duis import DuisCodec
from gbsmart.gateway.xml import PACKAGED_SCHEMA_DIR, check_media_type, duis_schema, parse_xml, schema_version

from .conftest import request_xml

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">&x;</sr:Request>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">""" + b"".join(
    b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10) for i in range(1, 10)
) + b"""]><lolz>&lol9;</lolz>"""


def test_a_valid_request_parses_and_validates(codec):
    request = codec.parse(request_xml())
    assert request.schema_version == "5.4"
    assert request.body == "ReadInstantaneousImportRegisters"


@pytest.mark.parametrize("payload", [XXE, LAUGHS, b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>',
                                     b"<r/>\n<!DOCTYPE r>"], ids=["xxe", "billion-laughs", "external-dtd", "late"])
def test_a_doctype_is_refused_not_ignored(payload):
    started = time.perf_counter()
    with pytest.raises(errors.ForbiddenXml, match="DOCTYPE") as refused:
        parse_xml(payload)
    assert refused.value.status == 400
    assert time.perf_counter() - started < 0.5


def test_an_entity_reference_without_a_dtd_is_malformed():
    with pytest.raises(errors.MalformedXml, match="not well-formed"):
        parse_xml(b"<r>&x;</r>")


def test_the_size_limit_is_checked_before_parsing():
    body = request_xml().replace(b"</sr:Body>", b"<!--" + b"x" * 300_000 + b"--></sr:Body>")
    with pytest.raises(errors.BodyTooLarge) as refused:
        parse_xml(body)
    assert refused.value.status == 413
    assert "at most 262,144" in refused.value.message
    assert parse_xml(body, max_bytes=len(body)) is not None


def test_deep_nesting_is_refused_below_libxml2s_own_limit():
    assert parse_xml(b"<a>" * 32 + b"</a>" * 32) is not None
    with pytest.raises(errors.ForbiddenXml, match="more than 32 deep"):
        parse_xml(b"<a>" * 33 + b"</a>" * 33)
    with pytest.raises((errors.ForbiddenXml, errors.MalformedXml)):
        parse_xml(b"<a>" * 5000 + b"</a>" * 5000)


@pytest.mark.parametrize("data", [b"", b"   ", b"<a>", b"<a></b>", b"not xml", b"\xff\xfe<\x00a\x00/\x00>\x00"])
def test_garbage_is_refused_with_a_typed_error(data):
    with pytest.raises((errors.MalformedXml, errors.UnsupportedMediaType)):
        parse_xml(data)


def test_only_utf8_is_accepted():
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?><a/>'
    with pytest.raises(errors.UnsupportedMediaType, match="ISO-8859-1") as refused:
        parse_xml(latin)
    assert refused.value.status == 415
    assert parse_xml(b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><a/>").tag == "a"


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=UTF-8",
                                          "Application/XML;charset=utf-8"])
def test_xml_media_types_pass(content_type):
    check_media_type(content_type)


@pytest.mark.parametrize("content_type", [None, "", "application/json", "text/xml; charset=latin-1"])
def test_other_media_types_are_415(content_type):
    with pytest.raises(errors.UnsupportedMediaType) as refused:
        check_media_type(content_type)
    assert refused.value.status == 415


@pytest.mark.parametrize("declared,normal", [("5.1", "5.1"), ("5.2", "5.2"), ("5.3", "5.3"), ("5.4", "5.4"),
                                             ("5.40", "5.4"), (" 5.1 ", "5.1")])
def test_schema_versions_5_1_to_5_4_are_accepted(declared, normal):
    assert schema_version(parse_xml(request_xml(version=declared))) == normal


@pytest.mark.parametrize("declared", ["5.0", "4.3", "5.5", "6", "five", ""])
def test_other_schema_versions_are_refused_clearly(declared):
    with pytest.raises(errors.UnsupportedSchemaVersion, match="5.1, 5.2, 5.3, 5.4|not a version"):
        schema_version(parse_xml(request_xml(version=declared)))


def test_a_document_that_is_not_a_request_is_refused():
    with pytest.raises(errors.NotDuis, match="'Response'"):
        schema_version(parse_xml(b'<sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"/>'))
    with pytest.raises(errors.NotDuis, match="no namespace"):
        schema_version(parse_xml(b'<Request schemaVersion="5.4"/>'))


def test_schema_errors_name_the_problem_and_line(codec):
    with pytest.raises(errors.SchemaInvalid, match="line 2: .*CommandVariant") as refused:
        codec.parse(request_xml(cv="12"))
    assert refused.value.detail and refused.value.detail[0]["line"] == 2
    with pytest.raises(errors.SchemaInvalid, match="NoSuchRequest"):
        codec.parse(request_xml(body="<sr:NoSuchRequest/>"))


def test_the_schema_is_compiled_once_per_process_and_its_directory_is_a_setting(tmp_path, monkeypatch):
    assert duis_schema() is duis_schema() is duis_schema(PACKAGED_SCHEMA_DIR)
    monkeypatch.setenv("GBSMART_DUIS_SCHEMA_DIR", str(PACKAGED_SCHEMA_DIR))
    monkeypatch.setenv("GBSMART_DUIS_MAX_BODY_BYTES", "2000")
    codec = DuisCodec.from_settings(Settings())
    assert codec.schema is duis_schema(PACKAGED_SCHEMA_DIR) and codec.max_bytes == 2000
    with pytest.raises(FileNotFoundError, match="GBSMART_DUIS_SCHEMA_DIR"):
        duis_schema(tmp_path)


def test_the_packaged_schemas_load_nothing_from_the_network():
    for xsd in Path(PACKAGED_SCHEMA_DIR).glob("*.xsd"):
        text = xsd.read_text(encoding="utf-8")
        assert "<!DOCTYPE" not in text and 'schemaLocation="http' not in text and " V5.4.xsd" not in text


@pytest.mark.parametrize("data", [b"<?xml-stylesheet href='x'?><a/>", b"<a><?pi x?></a>",
                                  b"<?xml version='1.0'?><a><?pi x?></a>", b"<?xml version='1.0'?>\n<a/><?pi?>",
                                  b"<?xmlpi x?><a/>", b"<a><?xml-pi x?></a>"])
def test_processing_instructions_are_refused(data):
    with pytest.raises(errors.ForbiddenXml, match="processing instruction"):
        parse_xml(data)


def test_every_refusal_has_a_stable_reason_and_its_http_status():
    refusals = {cls.reason: cls.status for cls in vars(errors).values()
                if isinstance(cls, type) and issubclass(cls, errors.DuisRefused)}
    assert refusals == {
        "refused": 400, "body_too_large": 413, "unsupported_media_type": 415, "malformed_xml": 400,
        "forbidden_xml": 400, "not_duis": 400, "unsupported_schema_version": 400, "schema_invalid": 400,
        "malformed_header": 400, "signature_refused": 400, "unsigned": 400, "signature_algorithm_refused": 400,
        "unknown_signing_certificate": 400, "signed_by_another_user": 403, "signature_mismatch": 400,
    }
    assert errors.BodyTooLarge("too big").to_dict() == {"error": "too big", "reason": "body_too_large", "detail": None}
