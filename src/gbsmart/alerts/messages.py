"""DUIS alert messages: a ``Response`` whose Body is a ``DeviceAlertMessage`` or a ``DCCAlertMessage`` (DUIS 5.4).

Built unsigned, as ``gateway.responses`` builds Service Responses, and signed by the caller's ``sign`` (the
gateway's ``fastsig.sign`` with the DCC's key, ``gateway.store.DccSigner``). The Header carries no RequestID (an
alert answers no request), a ResponseID ``originator:recipient:counter`` (the Device ID for a device alert, the
DCC's User ID for a DCC Alert; the recipient User ID; a counter from the message id), Response Code I0 and the
time. ``renderers(sign)`` turns the northbound cache's stored ``payload`` (JSON) into the signed body at send
time, so nothing is signed at intake. Payload shapes (alerts/README in docs/alerts.md):

- device_alert: ``{"device_id", "code", "at", "gbcs_payload_b64"?, "throttled_sequence_id"?, "throttled_count"?}``
- dcc_alert: ``{"code", "at", "device_id"?}`` and one of ``"power_outage": {"comms_hub_id", "start", "mpxn"}``,
  ``"device_status_change": {"device_id", "change": "DeviceSuspended"|"DeviceRestored"}``,
  ``"quarantined_request": {"breach": "ADUserThresholdBreach"|"ADDCCThresholdBreach"|"ADAttributeLimitsBreach",
  "request_id", "quarantine_event_ref"}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from gbsmart.alerts.enums import OutboundKind
from gbsmart.gateway.fastsig import SignedShape
from gbsmart.gateway.xml import SUG_NS

_NSMAP = {"sr": SUG_NS}
SCHEMA_VERSION = "5.4"
DCC_USER_ID = "90-B3-D5-1F-30-00-00-02"  # the default of setting gateway_dcc_user_id
STATUS_CHANGES = ("DeviceSuspended", "DeviceRestored")
BREACHES = ("ADUserThresholdBreach", "ADDCCThresholdBreach", "ADAttributeLimitsBreach")


class Renderable(Protocol):
    """What a renderer reads of a northbound ``Outbound`` (alerts.northbound)."""

    message_id: str
    user_id: str
    payload: dict[str, Any]


Renderer = Callable[[Any], bytes]


def _sr(name: str) -> str:
    return f"{{{SUG_NS}}}{name}"


def _stamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("alert times must be timezone-aware (UTC)")
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _response(at: datetime, response_id: str | None) -> tuple[etree._Element, etree._Element]:
    """(the Response root, its Body)."""
    root = etree.Element(_sr("Response"), nsmap=_NSMAP)
    root.set("schemaVersion", SCHEMA_VERSION)
    header = etree.SubElement(root, _sr("Header"))
    if response_id is not None:
        etree.SubElement(header, _sr("ResponseID")).text = response_id
    etree.SubElement(header, _sr("ResponseCode")).text = "I0"
    etree.SubElement(header, _sr("ResponseDateTime")).text = _stamp(at)
    return root, etree.SubElement(root, _sr("Body"))


def response_id(originator: str, recipient: str, message_id: str) -> str:
    """``originator:recipient:counter``, the counter a stable 63-bit number from the message id."""
    counter = int.from_bytes(hashlib.blake2b(message_id.encode(), digest_size=8).digest(), "big") >> 1
    return f"{originator}:{recipient}:{counter}"


def device_alert(device_id: str, code: str, at: datetime, *, payload: bytes = b"",
                 throttled_sequence_id: int | None = None, throttled_count: int | None = None,
                 response_id: str | None = None) -> etree._Element:
    """A Device Alert (``DeviceAlertMessage``): GBCS alert ``code`` (hex, "8F3E") from ``device_id`` at ``at``;
    with ``throttled_*`` the summary of throttled alerts (ThrottledAlertSequenceId / ThrottledAlertCount)."""
    bytes.fromhex(code)  # hexBinary: a ValueError here rather than an invalid message later
    root, body = _response(at, response_id)
    message = etree.SubElement(body, _sr("DeviceAlertMessage"))
    etree.SubElement(message, _sr("AlertCode")).text = code.upper()
    if throttled_sequence_id is not None:
        etree.SubElement(message, _sr("ThrottledAlertSequenceId")).text = str(throttled_sequence_id)
    if throttled_count is not None:
        etree.SubElement(message, _sr("ThrottledAlertCount")).text = str(throttled_count)
    etree.SubElement(message, _sr("GBCSPayload")).text = base64.b64encode(payload).decode()
    return root


def dcc_alert(code: str, at: datetime, alert: etree._Element, *, device_id: str | None = None,
              response_id: str | None = None) -> etree._Element:
    """A DCC Alert (``DCCAlertMessage``) with DCCAlertCode ``code`` ("AD1", "N..."), its ``DCCAlert`` child
    ``alert`` (e.g. ``power_outage_event``). ``device_id``: the device it concerns (kept for the caller's
    ResponseID; DUIS carries it inside the child where it has one)."""
    del device_id  # DUIS carries no device outside the child
    root, body = _response(at, response_id)
    message = etree.SubElement(body, _sr("DCCAlertMessage"))
    etree.SubElement(message, _sr("DCCAlertCode")).text = code
    etree.SubElement(message, _sr("DCCAlert")).append(alert)
    return root


def power_outage_event(comms_hub_id: str, start: datetime, mpxn: str) -> etree._Element:
    """The AD1 Power Outage Event: CommsHubDeviceID, StartDateTime, MPxN."""
    event = etree.Element(_sr("PowerOutageEvent"), nsmap=_NSMAP)
    etree.SubElement(event, _sr("CommsHubDeviceID")).text = comms_hub_id
    etree.SubElement(event, _sr("StartDateTime")).text = _stamp(start)
    etree.SubElement(event, _sr("MPxN")).text = str(mpxn)
    return event


def device_status_change(device_id: str, change: str) -> etree._Element:
    """A DeviceStatusChangeEvent: ``change`` DeviceSuspended or DeviceRestored."""
    if change not in STATUS_CHANGES:
        raise ValueError(f"device_status_change.change must be one of {', '.join(STATUS_CHANGES)}, not {change!r}")
    event = etree.Element(_sr("DeviceStatusChangeEvent"), nsmap=_NSMAP)
    etree.SubElement(event, _sr("DeviceID")).text = device_id
    etree.SubElement(etree.SubElement(event, _sr("DeviceStatusChange")), _sr(change))
    return event


def quarantined_request(breach: str, request_id: str, quarantine_event_ref: int) -> etree._Element:
    """A QuarantinedRequest: which threshold (``breach``), the RequestID held and its QuarantineEventRef."""
    if breach not in BREACHES:
        raise ValueError(f"quarantined_request.breach must be one of {', '.join(BREACHES)}, not {breach!r}")
    element = etree.Element(_sr("QuarantinedRequest"), nsmap=_NSMAP)
    inner = etree.SubElement(element, _sr(breach))
    etree.SubElement(inner, _sr("RequestID")).text = request_id
    etree.SubElement(inner, _sr("QuarantineEventRef")).text = str(int(quarantine_event_ref))
    return element


# ---------------------------------------------------------------- from stored payloads


def _field(payload: dict[str, Any], name: str, where: str) -> Any:
    if name not in payload or payload[name] in (None, ""):
        raise ValueError(f"the {where} payload has no {name!r}: it needs {name}")
    return payload[name]


def _time(payload: dict[str, Any], name: str, where: str) -> datetime:
    value = _field(payload, name, where)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"the {where} payload's {name!r} is not an ISO 8601 time: {str(value)[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _device_alert_fields(payload: dict[str, Any], recipient: str, message_id: str) -> dict[str, Any]:
    """A stored ``device_alert`` payload checked and read: ``device_alert``'s arguments."""
    device_id = str(_field(payload, "device_id", "device_alert"))
    raw = payload.get("gbcs_payload_b64") or ""
    try:
        gbcs = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the device_alert payload's gbcs_payload_b64 is not base64") from None
    return {"device_id": device_id, "code": str(_field(payload, "code", "device_alert")),
            "at": _time(payload, "at", "device_alert"), "payload": gbcs,
            "throttled_sequence_id": payload.get("throttled_sequence_id"),
            "throttled_count": payload.get("throttled_count"),
            "response_id": response_id(device_id, recipient, message_id)}


def device_alert_from(payload: dict[str, Any], recipient: str, message_id: str) -> etree._Element:
    """The unsigned Device Alert a stored ``device_alert`` payload describes."""
    return device_alert(**_device_alert_fields(payload, recipient, message_id))


def _power_outage_fields(payload: dict[str, Any], recipient: str, message_id: str,
                         dcc_user_id: str) -> tuple[str, datetime, str, datetime, str, str]:
    """(code, at, comms hub, start, MPxN, ResponseID) of a stored AD1 ``dcc_alert`` payload."""
    code, at = str(_field(payload, "code", "dcc_alert")), _time(payload, "at", "dcc_alert")
    p = payload["power_outage"]
    return (code, at, str(_field(p, "comms_hub_id", "power_outage")), _time(p, "start", "power_outage"),
            str(_field(p, "mpxn", "power_outage")), response_id(dcc_user_id, recipient, message_id))


def dcc_alert_from(payload: dict[str, Any], recipient: str, message_id: str,
                   dcc_user_id: str = DCC_USER_ID) -> etree._Element:
    """The unsigned DCC Alert a stored ``dcc_alert`` payload describes (one of the three shapes)."""
    code, at = str(_field(payload, "code", "dcc_alert")), _time(payload, "at", "dcc_alert")
    if "power_outage" in payload:
        code, at, hub, start, mpxn, rid = _power_outage_fields(payload, recipient, message_id, dcc_user_id)
        return dcc_alert(code, at, power_outage_event(hub, start, mpxn), response_id=rid)
    if "device_status_change" in payload:
        p = payload["device_status_change"]
        child = device_status_change(str(_field(p, "device_id", "device_status_change")),
                                     str(_field(p, "change", "device_status_change")))
    elif "quarantined_request" in payload:
        p = payload["quarantined_request"]
        child = quarantined_request(str(_field(p, "breach", "quarantined_request")),
                                    str(_field(p, "request_id", "quarantined_request")),
                                    int(_field(p, "quarantine_event_ref", "quarantined_request")))
    else:
        raise ValueError("the dcc_alert payload has none of power_outage, device_status_change, quarantined_request")
    return dcc_alert(code, at, child, device_id=payload.get("device_id"),
                     response_id=response_id(dcc_user_id, recipient, message_id))


#: the signing key and certificate of now (the DCC's; read per message, so a rotated signer is used at once)
Signing = Callable[[], tuple[ec.EllipticCurvePrivateKey, x509.Certificate]]
_H, _B = f"{{{SUG_NS}}}Header/{{{SUG_NS}}}", f"{{{SUG_NS}}}Body/{{{SUG_NS}}}"
_T0 = datetime(2000, 1, 1, tzinfo=UTC)


class _Shapes:
    """The ``fastsig.SignedShape`` of each common alert, for the signer of now: a Device Alert with and without
    a throttle summary, and the AD1 Power Outage Event (each shape made once per signing certificate)."""

    def __init__(self, signing: Signing) -> None:
        self._signing = signing
        self._cert: x509.Certificate | None = None
        self._shapes: dict[str, SignedShape] = {}

    def get(self, name: str) -> SignedShape:
        key, cert = self._signing()
        if cert is not self._cert:
            self._shapes, self._cert = {}, cert
        shape = self._shapes.get(name)
        if shape is None:
            shape = self._shapes[name] = self._make(name, key, cert)
        return shape

    @staticmethod
    def _make(name: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> SignedShape:
        head = [_H + "ResponseID", _H + "ResponseDateTime"]
        if name == "ad1":
            event = _B + "DCCAlertMessage/" + f"{{{SUG_NS}}}DCCAlert/{{{SUG_NS}}}PowerOutageEvent/{{{SUG_NS}}}"
            root = dcc_alert("AD1", _T0, power_outage_event("x", _T0, "1"), response_id="x")
            return SignedShape(root, [*head, _B + f"DCCAlertMessage/{{{SUG_NS}}}DCCAlertCode",
                                      event + "CommsHubDeviceID", event + "StartDateTime", event + "MPxN"], key, cert)
        message = _B + f"DeviceAlertMessage/{{{SUG_NS}}}"
        throttled = name == "device_alert_throttled"
        root = device_alert("x", "00", _T0, payload=b"x", response_id="x",
                            throttled_sequence_id=1 if throttled else None, throttled_count=1 if throttled else None)
        slots = [*head, message + "AlertCode"]
        if throttled:
            slots += [message + "ThrottledAlertSequenceId", message + "ThrottledAlertCount"]
        return SignedShape(root, [*slots, message + "GBCSPayload"], key, cert)


def renderers(sign: Callable[[etree._Element], bytes], *, dcc_user_id: str = DCC_USER_ID,
              signing: Signing | None = None) -> dict[OutboundKind, Renderer]:
    """The Northbound's renderers of alert payloads: each builds the message and signs it with ``sign``.

    With ``signing`` (the key and certificate ``sign`` uses), Device Alerts and AD1 Power Outage Events are
    rendered from their ``fastsig.SignedShape`` instead (no tree built, no canonicalisation per message: a few
    times less CPU through an alert storm); a message a shape cannot render goes the ordinary way."""
    shapes = _Shapes(signing) if signing is not None else None

    def render_device_alert(item: Renderable) -> bytes:
        if shapes is not None:
            f = _device_alert_fields(item.payload, item.user_id, item.message_id)
            bytes.fromhex(f["code"])  # as device_alert checks it
            seq, count = f["throttled_sequence_id"], f["throttled_count"]
            texts = [f["response_id"], _stamp(f["at"]), f["code"].upper()]
            if seq is not None and count is not None:
                shape, texts = shapes.get("device_alert_throttled"), [*texts, str(seq), str(count)]
            elif seq is None and count is None:
                shape = shapes.get("device_alert")
            else:
                shape = None
            if shape is not None:
                body = shape.render([*texts, base64.b64encode(f["payload"]).decode()])
                if body is not None:
                    return body
        return sign(device_alert_from(item.payload, item.user_id, item.message_id))

    def render_dcc_alert(item: Renderable) -> bytes:
        if shapes is not None and "power_outage" in item.payload:
            code, at, hub, start, mpxn, rid = _power_outage_fields(item.payload, item.user_id, item.message_id,
                                                                   dcc_user_id)
            body = shapes.get("ad1").render([rid, _stamp(at), code, hub, _stamp(start), mpxn])
            if body is not None:
                return body
        return sign(dcc_alert_from(item.payload, item.user_id, item.message_id, dcc_user_id))

    return {OutboundKind.DEVICE_ALERT: render_device_alert, OutboundKind.DCC_ALERT: render_dcc_alert}
