"""Bad input, fuzzed: whatever arrives, the codec either parses it or raises one of the gateway's typed errors,
quickly. Example counts are modest so that tests/gateway stays well under two minutes."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gbsmart.gateway.duis import DuisRequest, RequestId, parse_request_id
from gbsmart.gateway.errors import BodyTooLarge, DuisRefused, ForbiddenXml, MalformedHeader, MalformedXml
from gbsmart.gateway.signatures import verify_request
from gbsmart.gateway.xml import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, parse_xml

from .conftest import SUPPLIER, request_xml, signed

BOUND_SECONDS = 1.0  # generous: the machine is shared; a bomb or a blow-up would take minutes
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])
NASTY = [b"<!DOCTYPE r [<!ENTITY x 'y'>]>", b"&x;", b"&#0;", b"&#x110000;", b"<![CDATA[", b"]]>", b"\x00", b"\xff",
         b"<a>" * 40, b"</sr:Header>", b"<ds:Signature/>", b'xmlns:sr="urn:x"', b"<?xml version='1.0'?>", b"<!--",
         b"-->", b"<?pi x?>", b'schemaVersion="9"', b":" * 3, b"\xed\xa0\x80", b"&lt;", b"<!ENTITY"]


def _outcome(data: bytes, codec, keystore) -> object:
    """What the gateway's codec makes of ``data``: a verified request, or the typed refusal."""
    started = time.perf_counter()
    try:
        request = codec.parse(data)
        verify_request(request, keystore)
        result: object = request
    except DuisRefused as refused:
        assert refused.message and 400 <= refused.status < 500
        result = refused
    assert time.perf_counter() - started < BOUND_SECONDS, f"took {time.perf_counter() - started:.2f}s"
    return result


@FUZZ
@given(data=st.binary(max_size=3000))
@example(data=b"")
@example(data=b"<")
def test_random_bytes_parse_or_are_refused_with_a_typed_error(codec, keystore, data):
    assert isinstance(_outcome(data, codec, keystore), DuisRefused)


@st.composite
def mutations(draw, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "delete", "insert", "nasty", "duplicate"]))
        if kind == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 40))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=20))
        elif kind == "nasty":
            data[at:at] = draw(st.sampled_from(NASTY))
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 200))]
    return bytes(data)


@FUZZ
@given(data=st.data())
def test_mutated_signed_requests_verify_only_if_unchanged_in_substance(codec, keystore, organisations, data):
    base = signed(request_xml(), organisations[SUPPLIER])
    mutated = data.draw(mutations(base))
    outcome = _outcome(mutated, codec, keystore)
    if isinstance(outcome, DuisRequest):  # only a change the signature does not cover (e.g. in whitespace)
        original = codec.parse(base)
        assert (outcome.request_id, outcome.command_variant, outcome.service_reference_variant, outcome.body) == (
            original.request_id, original.command_variant, original.service_reference_variant, original.body)


@FUZZ
@given(depth=st.integers(1, 12), fanout=st.integers(1, 12), external=st.booleans(), parameter=st.booleans())
def test_dtds_and_entity_bombs_are_always_refused(depth, fanout, external, parameter):
    entities = [b'<!ENTITY e0 "boom">'] + [
        b'<!ENTITY e%d "%s">' % (i, b"&e%d;" % (i - 1) * fanout) for i in range(1, depth)]
    if external:
        entities.append(b'<!ENTITY ext SYSTEM "file:///etc/passwd">')
    if parameter:
        entities.append(b'<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;')
    payload = b'<?xml version="1.0"?><!DOCTYPE r [' + b"".join(entities) + b"]><r>&e%d;</r>" % (depth - 1)
    started = time.perf_counter()
    try:
        parse_xml(payload)
        raise AssertionError("a DTD was accepted")
    except (ForbiddenXml, BodyTooLarge) as refused:
        assert "DOCTYPE" in refused.message or refused.status == 413
    assert time.perf_counter() - started < BOUND_SECONDS


@settings(max_examples=25, deadline=None)
@given(extra=st.integers(1, 3 * DEFAULT_MAX_BYTES))
def test_oversized_bodies_are_refused_before_parsing(extra):
    body = b"<a>" + b" " * (DEFAULT_MAX_BYTES + extra) + b"</a"  # not even well-formed: never parsed
    started = time.perf_counter()
    try:
        parse_xml(body)
        raise AssertionError("an oversized body was parsed")
    except BodyTooLarge as refused:
        assert refused.status == 413
    assert time.perf_counter() - started < BOUND_SECONDS


@settings(max_examples=60, deadline=None)
@given(depth=st.integers(1, 20_000))
def test_deep_nesting_parses_only_within_the_limit(depth):
    body = b"<a>" * depth + b"</a>" * depth
    try:
        parse_xml(body, max_bytes=len(body))
        assert depth <= DEFAULT_MAX_DEPTH
    except (ForbiddenXml, MalformedXml):
        assert depth > DEFAULT_MAX_DEPTH


EUI = st.lists(st.integers(0, 255), min_size=8, max_size=8).map(lambda b: "-".join(f"{x:02x}" for x in b))


@settings(max_examples=200, deadline=None)
@given(originator=EUI, target=EUI, counter=st.integers(0, 2**64 - 1))
def test_every_valid_request_id_round_trips(originator, target, counter):
    parsed = parse_request_id(f"{originator}:{target}:{counter}")
    assert parsed == RequestId(originator.upper(), target.upper(), counter)
    assert parse_request_id(str(parsed)) == parsed


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=120) | st.from_regex(r"[0-9A-Fa-f:\-]{0,70}", fullmatch=True))
def test_any_request_id_text_parses_or_is_refused_with_a_reason(text):
    try:
        parsed = parse_request_id(text)
    except MalformedHeader as refused:
        assert "RequestID" in refused.message
    else:
        assert 0 <= parsed.counter <= 2**64 - 1 and len(parsed.originator) == len(parsed.target) == 23
