"""DUIS alert messages: valid against the DUIS 5.4 XSD, signed so the gateway's verifier accepts them, and read by
the DCC's own parser (@smartdcc/duis-parser)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from gbsmart.alerts import messages
from gbsmart.alerts.enums import OutboundKind
from gbsmart.gateway.duis import DuisRequest, RequestId
from gbsmart.gateway.errors import SchemaInvalid, SignatureMismatch, UnknownSigningCertificate
from gbsmart.gateway.fastsig import sign, verify_request
from gbsmart.gateway.keystore import Keystore
from gbsmart.gateway.store import make_test_signer
from gbsmart.gateway.xml import SUG_NS, duis_schema, parse_xml

DCC = "90-B3-D5-1F-30-00-00-02"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"
DEVICE = "00-DB-12-34-56-78-90-A0"
HUB = "00-DB-12-34-56-78-90-A2"
AT = datetime(2026, 12, 4, 12, 0, 1, 250000, tzinfo=UTC)


class Item:
    """An Outbound's fields a renderer reads (alerts.northbound.Outbound has these and more)."""

    def __init__(self, payload: dict, message_id: str = "m-1", user_id: str = SUPPLIER) -> None:
        self.payload, self.message_id, self.user_id = payload, message_id, user_id


@pytest.fixture(scope="module")
def dcc():
    key, cert = make_test_signer(DCC, AT)
    store = Keystore()
    store.add(DCC, cert)
    return key, cert, store


PAYLOADS = {
    "device_alert": (OutboundKind.DEVICE_ALERT, {"device_id": DEVICE, "code": "8F3E", "at": AT.isoformat(),
                                                 "gbcs_payload_b64": base64.b64encode(b"\xdf\x09\x00").decode()}),
    "throttled_summary": (OutboundKind.DEVICE_ALERT, {"device_id": DEVICE, "code": "8F3E", "at": AT.isoformat(),
                                                      "throttled_sequence_id": 17, "throttled_count": 4210}),
    "power_outage": (OutboundKind.DCC_ALERT, {"code": "AD1", "at": AT.isoformat(), "device_id": HUB,
                                              "power_outage": {"comms_hub_id": HUB, "start": "2026-12-04T11:57:00Z",
                                                               "mpxn": "1100000000001"}}),
    "suspended": (OutboundKind.DCC_ALERT, {"code": "N42", "at": AT.isoformat(),
                                           "device_status_change": {"device_id": DEVICE, "change": "DeviceSuspended"}}),
    "restored": (OutboundKind.DCC_ALERT, {"code": "N43", "at": AT.isoformat(),
                                          "device_status_change": {"device_id": DEVICE, "change": "DeviceRestored"}}),
    "quarantined": (OutboundKind.DCC_ALERT, {"code": "N55", "at": AT.isoformat(), "quarantined_request": {
        "breach": "ADUserThresholdBreach", "request_id": f"{SUPPLIER}:{DEVICE}:1001", "quarantine_event_ref": 17}}),
}


def _renderers(dcc, *, shapes: bool = True) -> dict:
    """As the gateway makes them (``shapes``: the common alerts from their signed shapes), or trees only."""
    key, cert, _ = dcc
    return messages.renderers(lambda root: sign(root, key, cert), signing=(lambda: (key, cert)) if shapes else None)


def _render(dcc, name: str, *, shapes: bool = True) -> bytes:
    kind, payload = PAYLOADS[name]
    return _renderers(dcc, shapes=shapes)[kind](Item(payload, message_id=f"m-{name}"))


def _verify(body: bytes, store: Keystore) -> None:
    root = parse_xml(body)
    verify_request(DuisRequest(RequestId(DCC, DEVICE, 1), 0, "", "", "Body", "5.4", root), store)


@pytest.mark.parametrize("shapes", [True, False], ids=["signed-shapes", "trees"])
@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_every_payload_shape_renders_a_signed_message_the_schema_accepts(dcc, name, shapes):
    body = _render(dcc, name, shapes=shapes)
    root = parse_xml(body)
    duis_schema().validate(root)  # the signed message, as the User receives it
    _verify(body, dcc[2])
    header = root.find(f"{{{SUG_NS}}}Header")
    assert header.findtext(f"{{{SUG_NS}}}ResponseCode") == "I0"
    originator, recipient, counter = header.findtext(f"{{{SUG_NS}}}ResponseID").split(":")
    assert recipient == SUPPLIER and int(counter) >= 0
    assert originator == (DEVICE if PAYLOADS[name][0] is OutboundKind.DEVICE_ALERT else DCC)


def test_the_device_alert_carries_code_payload_and_throttle_summary(dcc):
    root = parse_xml(_render(dcc, "throttled_summary"))
    message = root.find(f"{{{SUG_NS}}}Body/{{{SUG_NS}}}DeviceAlertMessage")
    assert [etree.QName(c).localname for c in message] == ["AlertCode", "ThrottledAlertSequenceId",
                                                           "ThrottledAlertCount", "GBCSPayload"]
    assert [c.text for c in message][:3] == ["8F3E", "17", "4210"]
    plain = parse_xml(_render(dcc, "device_alert")).find(f"{{{SUG_NS}}}Body/{{{SUG_NS}}}DeviceAlertMessage")
    assert base64.b64decode(plain.findtext(f"{{{SUG_NS}}}GBCSPayload")) == b"\xdf\x09\x00"


def test_the_ad1_event_names_hub_start_and_mpxn(dcc):
    root = parse_xml(_render(dcc, "power_outage"))
    event = root.find(f".//{{{SUG_NS}}}PowerOutageEvent")
    assert [c.text for c in event] == [HUB, "2026-12-04T11:57:00.000Z", "1100000000001"]
    assert root.findtext(f".//{{{SUG_NS}}}DCCAlertCode") == "AD1"


def test_a_changed_message_fails_verification(dcc):
    body = _render(dcc, "device_alert").replace(b"8F3E", b"8F3F")
    with pytest.raises(SignatureMismatch):
        _verify(body, dcc[2])


def test_the_schema_refuses_what_duis_does_not_allow():
    root = messages.dcc_alert("AD2", AT, messages.power_outage_event(HUB, AT, "1100000000001"))  # no such code
    with pytest.raises(SchemaInvalid):
        duis_schema().validate(root)


@pytest.mark.parametrize(("kind", "payload", "says"), [
    (OutboundKind.DEVICE_ALERT, {"code": "8F3E", "at": AT.isoformat()}, "device_id"),
    (OutboundKind.DEVICE_ALERT, {"device_id": DEVICE, "code": "8F3E", "at": "yesterday"}, "ISO 8601"),
    (OutboundKind.DEVICE_ALERT, {"device_id": DEVICE, "code": "8F3E", "at": AT.isoformat(),
                                 "gbcs_payload_b64": "!!"}, "base64"),
    (OutboundKind.DCC_ALERT, {"code": "AD1", "at": AT.isoformat()}, "power_outage"),
    (OutboundKind.DCC_ALERT, {"code": "N42", "at": AT.isoformat(),
                              "device_status_change": {"device_id": DEVICE, "change": "Gone"}}, "DeviceSuspended"),
])
def test_a_bad_payload_is_refused_saying_what_is_missing(kind, payload, says):
    with pytest.raises(ValueError, match=says):
        messages.renderers(lambda root: b"")[kind](Item(payload))


def test_the_dcc_parser_reads_the_alerts(dcc, duis_parser, tmp_path):
    files = {f"{name}.xml": _render(dcc, name) for name in ("device_alert", "throttled_summary", "power_outage")}
    parsed = duis_parser.parse(files, tmp_path)
    assert all(line["ok"] for line in parsed.values()), parsed
    assert "8F3E" in str(parsed["device_alert.xml"]["duis"]).upper()
    assert "AD1" in str(parsed["power_outage.xml"]["duis"])


# ---------------------------------------------------------------- the signed shapes against the trees


def _without_signature_value(body: bytes) -> bytes:
    start = body.index(b"<ds:SignatureValue>") + len(b"<ds:SignatureValue>")
    return body[:start] + body[body.index(b"</ds:SignatureValue>"):]


PLAIN = st.text(alphabet="0123456789ABCDEF-", min_size=1, max_size=23)


@settings(max_examples=150, deadline=None)
@given(device=PLAIN, code=st.text(alphabet="0123456789abcdefABCDEF", min_size=1, max_size=4).filter(
           lambda c: len(c) % 2 == 0),
       at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)),
       gbcs=st.binary(max_size=40), throttled=st.one_of(st.none(), st.tuples(st.integers(0, 2**62),
                                                                           st.integers(0, 2**31))),
       message_id=st.text(min_size=1, max_size=30), recipient=PLAIN)
def test_a_device_alert_from_its_shape_is_the_trees_message_byte_for_byte_but_the_ecdsa_value(
        dcc, device, code, at, gbcs, throttled, message_id, recipient):
    payload = {"device_id": device, "code": code, "at": at.isoformat(),
               "gbcs_payload_b64": base64.b64encode(gbcs).decode()}
    if throttled is not None:
        payload["throttled_sequence_id"], payload["throttled_count"] = throttled
    item = Item(payload, message_id=message_id, user_id=recipient)
    fast = _renderers(dcc)[OutboundKind.DEVICE_ALERT](item)
    slow = _renderers(dcc, shapes=False)[OutboundKind.DEVICE_ALERT](item)
    assert _without_signature_value(fast) == _without_signature_value(slow)
    _verify(fast, dcc[2])


@settings(max_examples=100, deadline=None)
@given(hub=PLAIN, mpxn=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=20),
       start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)),
       message_id=st.text(min_size=1, max_size=30))
def test_an_ad1_from_its_shape_is_the_trees_message_and_any_text_that_is_not_plain_goes_the_tree_way(
        dcc, hub, mpxn, start, message_id):
    payload = {"code": "AD1", "at": AT.isoformat(), "device_id": hub,
               "power_outage": {"comms_hub_id": hub, "start": start.isoformat(), "mpxn": mpxn}}
    item = Item(payload, message_id=message_id, user_id=SUPPLIER)
    fast = _renderers(dcc)[OutboundKind.DCC_ALERT](item)  # an MPxN with "&", "<" or a space: the tree's way
    slow = _renderers(dcc, shapes=False)[OutboundKind.DCC_ALERT](item)
    assert _without_signature_value(fast) == _without_signature_value(slow)
    _verify(fast, dcc[2])


def test_a_new_signing_certificate_is_used_from_the_next_message(dcc):
    key, cert, store = dcc
    new_key, new_cert = make_test_signer(DCC, AT)
    signer = [(key, cert)]
    renderers = messages.renderers(lambda root: sign(root, *signer[0]), signing=lambda: signer[0])
    render = renderers[OutboundKind.DEVICE_ALERT]
    _, payload = PAYLOADS["device_alert"]
    _verify(render(Item(payload)), store)
    signer[0] = (new_key, new_cert)
    rotated = render(Item(payload))
    with pytest.raises(UnknownSigningCertificate):
        _verify(rotated, store)  # it names the new certificate, which the old keystore does not hold
    again = Keystore()
    again.add(DCC, new_cert)
    _verify(rotated, again)
