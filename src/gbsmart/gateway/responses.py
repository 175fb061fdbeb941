"""DUIS Service Responses built for a request (unsigned: ``signatures.sign`` signs them with the DCC's key).

A response echoes the RequestID and carries a ResponseID of the same three parts with originator and target
swapped (``target:originator:counter``, as DCC Boxed answers), a Response Code (I99 acknowledgement, I0
success, E-codes for refusals), the time, and the request's Service Reference and Variant. It uses only
elements the DUIS schemas 5.1 to 5.4 all have, and declares the request's schema version.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from lxml import etree

from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.xml import SUG_NS

_NSMAP = {"sr": SUG_NS}


def _sr(name: str) -> str:
    return f"{{{SUG_NS}}}{name}"


def _skeleton() -> etree._Element:
    root = etree.Element(_sr("Response"), nsmap=_NSMAP)
    root.set("schemaVersion", "")
    header = etree.SubElement(root, _sr("Header"))
    for name in ("RequestID", "ResponseID", "ResponseCode", "ResponseDateTime"):
        etree.SubElement(header, _sr(name))
    message = etree.SubElement(etree.SubElement(root, _sr("Body")), _sr("ResponseMessage"))
    etree.SubElement(message, _sr("ServiceReference"))
    etree.SubElement(message, _sr("ServiceReferenceVariant"))
    return root


#: every Response has this shape: a copy of it is filled in (a deep copy is a few times cheaper than building)
_SKELETON = _skeleton()


_stamp: tuple[datetime, str] | None = None


def _stamp_of(at: datetime) -> str:
    """``at`` as DUIS writes it (UTC, milliseconds, "Z"); the last one is kept, as a batch's responses share it."""
    global _stamp
    last = _stamp
    if last is not None and last[0] == at:  # the same instant: the same UTC text
        return last[1]
    text = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    _stamp = (at, text)
    return text


def response(request: DuisRequest, code: str, at: datetime) -> etree._Element:
    """A Response to ``request`` with Response Code ``code`` at time ``at`` (a ResponseMessage, no payload)."""
    root = copy.deepcopy(_SKELETON)
    root.set("schemaVersion", request.schema_version)
    header, body = root
    request_id, response_id, response_code, stamp = header
    rid = request.request_id
    request_id.text = str(rid)
    response_id.text = f"{rid.target}:{rid.originator}:{rid.counter}"
    response_code.text = code
    stamp.text = _stamp_of(at)
    reference, variant = body[0]
    reference.text = request.service_reference
    variant.text = request.service_reference_variant
    return root


def acknowledgement(request: DuisRequest, at: datetime) -> etree._Element:
    """The synchronous I99 acknowledgement of a device request."""
    return response(request, "I99", at)
