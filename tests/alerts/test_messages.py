"""DUIS alert messages: valid against the DUIS 5.4 XSD, signed so the gateway's verifier accepts them, and read by
the DCC's own parser (@smartdcc/duis-parser)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from lxml import etree

from gbsmart.alerts import messages
from gbsmart.alerts.enums import OutboundKind
from gbsmart.gateway.duis import DuisRequest, RequestId
from gbsmart.gateway.errors import SchemaInvalid, SignatureMismatch
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


def _render(dcc, name: str) -> bytes:
    key, cert, _ = dcc
    kind, payload = PAYLOADS[name]
    return messages.renderers(lambda root: sign(root, key, cert))[kind](Item(payload, message_id=f"m-{name}"))


def _verify(body: bytes, store: Keystore) -> None:
    root = parse_xml(body)
    verify_request(DuisRequest(RequestId(DCC, DEVICE, 1), 0, "", "", "Body", "5.4", root), store)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_every_payload_shape_renders_a_signed_message_the_schema_accepts(dcc, name):
    body = _render(dcc, name)
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
