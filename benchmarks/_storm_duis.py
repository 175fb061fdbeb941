"""What a User's endpoint reads from a DUIS alert message, for the alert storm benchmark (issue 11, point 7).

``read_alert`` takes a received body through the gateway's hardened parser (``gateway.xml.parse_xml``) and
returns what the analysis needs: a DeviceAlertMessage's AlertCode (and ThrottledAlertCount), or a
DCCAlertMessage's DCCAlertCode and, for AD1, the PowerOutageEvent's CommsHubDeviceID and StartDateTime; the
header's ResponseDateTime. ``validate`` checks a body against the DUIS V5.4 schema (the endpoints do it for
every DCC Alert and a sample of device alerts: it costs more than the parse).

``sample_device_alert`` and ``sample_power_outage`` build schema-valid alert messages of the DUIS 5.4 shape
(the harness's own, for the loopback ceiling and the harness tests: the alerts the benchmark measures are
built by gbsmart's ``alerts/messages.py``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from gbsmart.gateway.xml import SUG_NS, duis_schema, parse_xml

_SR = f"{{{SUG_NS}}}"
_HEADER, _BODY = _SR + "Header", _SR + "Body"
_DEVICE, _DCC = _SR + "DeviceAlertMessage", _SR + "DCCAlertMessage"
_RESPONSE_DT, _RESPONSE_ID = _SR + "ResponseDateTime", _SR + "ResponseID"
_ALERT_CODE, _DCC_CODE, _COUNT = _SR + "AlertCode", _SR + "DCCAlertCode", _SR + "ThrottledAlertCount"
_DCC_ALERT, _POE = _SR + "DCCAlert", _SR + "PowerOutageEvent"
_HUB, _START, _MPXN = _SR + "CommsHubDeviceID", _SR + "StartDateTime", _SR + "MPxN"

#: what a received body was: a device alert, a DCC Alert, another DUIS Response, or not DUIS at all
DEVICE, DCC, OTHER, GARBAGE = "device", "dcc", "other", "garbage"


@dataclass(slots=True, frozen=True)
class AlertFields:
    kind: str                           # DEVICE, DCC, OTHER or GARBAGE
    code: str = ""                      # "8F3E", "AD1", ...
    hub: str = ""                       # an AD1's CommsHubDeviceID
    start: datetime | None = None       # an AD1's StartDateTime
    throttled_count: int | None = None  # a throttle summary's ThrottledAlertCount
    response_at: datetime | None = None  # the header's ResponseDateTime
    response_id: str = ""
    mpxn: str = ""                      # an AD1's MPxN


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def read_alert(body: bytes) -> AlertFields:
    """The fields of a DUIS alert message the analysis uses; ``GARBAGE`` if ``body`` is not a DUIS Response."""
    try:
        root = parse_xml(body)
    except Exception:  # every refusal of the hardened parser: the endpoint records it, never crashes
        return AlertFields(GARBAGE)
    if root.tag != _SR + "Response":
        return AlertFields(GARBAGE)
    header, message = root.find(_HEADER), root.find(_BODY)
    response_at = _when(header.findtext(_RESPONSE_DT)) if header is not None else None
    response_id = (header.findtext(_RESPONSE_ID) or "") if header is not None else ""
    if message is None or not len(message):
        return AlertFields(OTHER, response_at=response_at, response_id=response_id)
    alert = message[0]
    if alert.tag == _DEVICE:
        count = alert.findtext(_COUNT)
        return AlertFields(DEVICE, (alert.findtext(_ALERT_CODE) or "").upper(),
                           throttled_count=int(count) if count and count.isdigit() else None,
                           response_at=response_at, response_id=response_id)
    if alert.tag == _DCC:
        outage = alert.find(f"{_DCC_ALERT}/{_POE}")
        hub = (outage.findtext(_HUB) or "").upper() if outage is not None else ""
        start = _when(outage.findtext(_START)) if outage is not None else None
        mpxn = (outage.findtext(_MPXN) or "").strip() if outage is not None else ""
        count = alert.findtext(_COUNT)
        return AlertFields(DCC, alert.findtext(_DCC_CODE) or "", hub, start,
                           int(count) if count and count.isdigit() else None, response_at, response_id, mpxn)
    return AlertFields(OTHER, response_at=response_at, response_id=response_id)


def validate(body: bytes) -> bool:
    """Whether ``body`` is valid against the DUIS V5.4 schema (the packaged one)."""
    try:
        duis_schema(None).validate(parse_xml(body))  # raises SchemaInvalid, saying what is wrong
    except Exception:
        return False
    return True


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _response(response_id: str, at: datetime) -> tuple[etree._Element, etree._Element]:
    root = etree.Element(_SR + "Response", nsmap={"sr": SUG_NS})
    root.set("schemaVersion", "5.4")
    header = etree.SubElement(root, _HEADER)
    etree.SubElement(header, _RESPONSE_ID).text = response_id
    etree.SubElement(header, _SR + "ResponseCode").text = "I0"
    etree.SubElement(header, _RESPONSE_DT).text = _stamp(at)
    return root, etree.SubElement(root, _BODY)


def sample_device_alert(user_id: str, device_id: str, code: str, at: datetime, counter: int, *,
                        throttled_count: int | None = None) -> etree._Element:
    """An unsigned DeviceAlertMessage of ``code`` from ``device_id`` to ``user_id`` (schema-valid)."""
    root, body = _response(f"{device_id}:{user_id}:{counter}", at)
    alert = etree.SubElement(body, _DEVICE)
    etree.SubElement(alert, _ALERT_CODE).text = code
    if throttled_count is not None:
        etree.SubElement(alert, _SR + "ThrottledAlertSequenceId").text = str(counter)
        etree.SubElement(alert, _COUNT).text = str(throttled_count)
    etree.SubElement(alert, _SR + "GBCSPayload").text = base64.b64encode(bytes(24)).decode()
    return root


def sample_power_outage(user_id: str, hub: str, start: datetime, mpxn: str, at: datetime,
                        counter: int) -> etree._Element:
    """An unsigned AD1 DCCAlertMessage (PowerOutageEvent) for ``hub`` to ``user_id`` (schema-valid)."""
    root, body = _response(f"{hub}:{user_id}:{counter}", at)
    alert = etree.SubElement(body, _DCC)
    etree.SubElement(alert, _DCC_CODE).text = "AD1"
    outage = etree.SubElement(etree.SubElement(alert, _DCC_ALERT), _POE)
    etree.SubElement(outage, _HUB).text = hub
    etree.SubElement(outage, _START).text = _stamp(start)
    etree.SubElement(outage, _SR + "MPxN").text = mpxn
    return root
