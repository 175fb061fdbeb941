"""A request's header parsed once into a frozen record; RequestIDs DUIS would refuse are refused with reasons."""

from __future__ import annotations

import dataclasses

import pytest

from gbsmart.gateway.duis import MAX_COUNTER, RequestId, parse_request_id
from gbsmart.gateway.errors import MalformedHeader, SchemaInvalid

from .conftest import DEVICE, SUPPLIER, request_xml


def test_the_header_is_read_into_a_compact_frozen_record(codec):
    request = codec.parse(request_xml(request_id=f"{SUPPLIER.lower()}:{DEVICE}:12884901888"))
    assert request.request_id == RequestId(SUPPLIER, DEVICE, 12884901888)
    assert request.originator == SUPPLIER
    assert request.command_variant == 1
    assert (request.service_reference, request.service_reference_variant) == ("4.1", "4.1.1")
    assert request.body == "ReadInstantaneousImportRegisters" and request.schema_version == "5.4"
    assert request.root.tag.endswith("}Request") and not request.signed
    assert str(request.request_id) == f"{SUPPLIER}:{DEVICE}:12884901888"
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.command_variant = 4  # type: ignore[misc]
    assert not hasattr(request, "__dict__")  # slots


def test_the_optional_sequence_fields_are_read(codec):
    extra = (f"<sr:FirstInSequence>false</sr:FirstInSequence>"
             f"<sr:PrecedingServiceRequestID>{SUPPLIER}:{DEVICE}:999</sr:PrecedingServiceRequestID>")
    request = codec.parse(request_xml(header_extra=extra))
    assert request.first_in_sequence is False
    assert request.preceding_request_id == RequestId(SUPPLIER, DEVICE, 999)


def test_a_dcc_target_and_the_largest_counter_are_accepted():
    assert parse_request_id(f"{SUPPLIER}:90-B3-D5-1F-30-00-00-02:{MAX_COUNTER}").counter == MAX_COUNTER
    assert parse_request_id(f"{SUPPLIER}:{DEVICE}:0").counter == 0


@pytest.mark.parametrize("text,says", [
    (f"{SUPPLIER}:{DEVICE}", "2 part"),
    (f"{SUPPLIER}:{DEVICE}:1:2", "4 part"),
    (f"90B3D51F30010000:{DEVICE}:1", "originator User ID"),
    (f"{SUPPLIER}:00-DB-12-34-56-78-90:1", "target ID"),
    (f"{SUPPLIER}:00-DB-12-34-56-78-90-GG:1", "target ID"),
    (f"{SUPPLIER}:{DEVICE}:-1", "not a whole number"),
    (f"{SUPPLIER}:{DEVICE}:01", "leading zeros"),
    (f"{SUPPLIER}:{DEVICE}:1e3", "not a whole number"),
    (f"{SUPPLIER}:{DEVICE}:{MAX_COUNTER + 1}", "larger than 18446744073709551615"),
    (f"{SUPPLIER}:{DEVICE}:{'9' * 400}", "larger than"),
    (f"{SUPPLIER}:{DEVICE}:\u0661\u0662", "not a whole number"),  # Arabic-Indic digits are digits to Python
])
def test_a_malformed_request_id_is_refused_saying_which_part(text, says):
    with pytest.raises(MalformedHeader, match=says):
        parse_request_id(text)


def test_a_malformed_request_id_in_a_request_is_refused_before_the_schema(codec):
    with pytest.raises(MalformedHeader, match="counter") as refused:
        codec.parse(request_xml(request_id=f"{SUPPLIER}:{DEVICE}:{MAX_COUNTER + 1}"))
    assert refused.value.status == 400 and refused.value.reason == "malformed_header"
    with pytest.raises(MalformedHeader, match="PrecedingServiceRequestID"):
        codec.parse(request_xml(header_extra="<sr:PrecedingServiceRequestID>x</sr:PrecedingServiceRequestID>"))
    with pytest.raises(MalformedHeader, match="no RequestID"):
        codec.parse(request_xml().replace(f"<sr:RequestID>{SUPPLIER}:{DEVICE}:1000</sr:RequestID>".encode(), b""))


def test_a_request_the_schema_refuses_is_not_read(codec):
    with pytest.raises(SchemaInvalid, match="ServiceReferenceVariant"):
        codec.parse(request_xml(srv="4.1.9"))
