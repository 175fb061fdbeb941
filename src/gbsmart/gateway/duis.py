"""A DUIS Service Request parsed once: its header in a compact frozen record, its tree kept for the signature.

``DuisCodec.parse`` is what the gateway calls for every request body: hardened parse (``gateway.xml``),
schema version, the RequestID checked with messages that say what is wrong with it, XSD validation, then
one ``DuisRequest``. The RequestID is ``originator User ID : target (Device ID or the DCC's ID) : counter``
(DUIS 3.1: both IDs EUI-64 as eight hex pairs joined by hyphens, the counter an unsigned 64-bit integer);
IDs are kept in upper case, the form the SMI and the keystore use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from gbsmart.gateway.errors import MalformedHeader, SchemaInvalid
from gbsmart.gateway.xml import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    DS_NS,
    SUG_NS,
    DuisSchema,
    duis_schema,
    parse_xml,
    schema_version,
)

if TYPE_CHECKING:
    from gbsmart.config import Settings

MAX_COUNTER = 2**64 - 1
_EUI64 = re.compile(r"[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}")
_HEADER = f"{{{SUG_NS}}}Header"
_BODY = f"{{{SUG_NS}}}Body"
_REQUEST_ID = f"{{{SUG_NS}}}RequestID"
_PRECEDING = f"{{{SUG_NS}}}PrecedingServiceRequestID"
_FIRST = f"{{{SUG_NS}}}FirstInSequence"
_CV = f"{{{SUG_NS}}}CommandVariant"
_SR = f"{{{SUG_NS}}}ServiceReference"
_SRV = f"{{{SUG_NS}}}ServiceReferenceVariant"
_SIGNATURE = f"{{{DS_NS}}}Signature"
_LOCAL = len(SUG_NS) + 2
_SUG_PREFIX = f"{{{SUG_NS}}}"


@dataclass(frozen=True, slots=True)
class RequestId:
    """``originator:target:counter``; originator and target as upper-case EUI-64 (``90-B3-D5-1F-30-01-00-00``)."""

    originator: str
    target: str
    counter: int

    def __str__(self) -> str:
        return ":".join((self.originator, self.target, str(self.counter)))


#: a well-formed RequestID in one match (what the checks below accept, but a counter above 2^64 - 1); anything
#: else goes through them one by one, for the message that says which part is wrong
_WELL_FORMED_ID = re.compile(r"([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}):([0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){7}):"
                             r"(0|[1-9][0-9]{0,19})")


def parse_request_id(text: str, *, field: str = "RequestID") -> RequestId:
    """The parts of a RequestID, or a ``MalformedHeader`` saying which part is wrong and how."""
    value = text.strip()
    well_formed = _WELL_FORMED_ID.fullmatch(value)
    if well_formed is not None:
        originator, target, counter = well_formed.groups()
        number = int(counter)
        if number <= MAX_COUNTER:
            return RequestId(originator.upper(), target.upper(), number)
    parts = value.split(":")
    shown = value[:80]
    if len(parts) != 3:
        raise MalformedHeader(f"{field} {shown!r} has {len(parts)} part(s); DUIS needs three separated by colons: "
                              "originator User ID : target Device ID (or the DCC's ID) : counter")
    originator, target, counter = parts
    for name, eui in (("originator User ID", originator), ("target ID", target)):
        if not _EUI64.fullmatch(eui):
            raise MalformedHeader(f"{field} {shown!r}: the {name} {eui[:40]!r} is not an EUI-64 written as eight "
                                  "pairs of hex digits joined by hyphens, such as 90-B3-D5-1F-30-01-00-00")
    if not (counter.isascii() and counter.isdigit()) or (len(counter) > 1 and counter[0] == "0"):
        raise MalformedHeader(f"{field} {shown!r}: the counter {counter[:40]!r} is not a whole number written in "
                              "decimal digits without leading zeros")
    number = int(counter) if len(counter) <= 20 else MAX_COUNTER + 1
    if number > MAX_COUNTER:
        raise MalformedHeader(f"{field} {shown!r}: the counter is larger than {MAX_COUNTER} (2^64 - 1), the largest "
                              "DUIS allows")
    return RequestId(originator.upper(), target.upper(), number)


@dataclass(frozen=True, slots=True)
class DuisRequest:
    """One DUIS Service Request's header, the name of its body element, and the parsed tree (for its signature)."""

    request_id: RequestId
    command_variant: int
    service_reference: str
    service_reference_variant: str
    body: str
    schema_version: str
    root: etree._Element
    preceding_request_id: RequestId | None = None
    first_in_sequence: bool | None = None

    @property
    def originator(self) -> str:
        return self.request_id.originator

    @property
    def signed(self) -> bool:
        return self.root.find(_SIGNATURE) is not None


def _text(children: dict[Any, etree._Element], tag: str, what: str) -> str:
    element = children.get(tag)
    if element is None or not (element.text or "").strip():
        raise MalformedHeader(f"the Header has no {what}")
    return (element.text or "").strip()


def _findtext(children: dict[Any, etree._Element], tag: str) -> str | None:
    element = children.get(tag)  # as ``header.findtext(tag)``: None if absent, "" if empty
    return None if element is None else (element.text or "")


def _command_variant(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 2):
        raise MalformedHeader(f"the CommandVariant {text[:20]!r} is not a number from 1 to 9")
    return int(text)


def read_request(root: etree._Element, schema: DuisSchema | None) -> DuisRequest:
    """The ``DuisRequest`` in an already safely parsed tree: version, RequestID, schema, then the header."""
    version = schema_version(root)
    # the Header and Body where the schema puts them (first and second child): no search; else searched for
    leading = root[0] if len(root) else None
    header = leading if leading is not None and leading.tag == _HEADER else root.find(_HEADER)
    if header is None:
        raise MalformedHeader("the Request has no Header")
    # the Header's children walked once (the first of each tag, as ``find`` would give), not searched per field
    children: dict[Any, etree._Element] = {child.tag: child for child in reversed(header)}
    request_id = parse_request_id(_text(children, _REQUEST_ID, "RequestID"))
    preceding_text = _findtext(children, _PRECEDING)
    preceding = (parse_request_id(preceding_text, field="PrecedingServiceRequestID")
                 if preceding_text is not None else None)
    if schema is not None:
        schema.validate(root)
    second = root[1] if header is leading and len(root) > 1 else None  # after the Header: the first Body if one
    body = second if second is not None and second.tag == _BODY else root.find(_BODY)
    if body is None or len(body) == 0 or not isinstance(body[0].tag, str):
        raise SchemaInvalid("the Request's Body has no request element")
    first = _findtext(children, _FIRST)
    body_tag = body[0].tag
    return DuisRequest(
        request_id=request_id,
        command_variant=_command_variant(_text(children, _CV, "CommandVariant")),
        service_reference=_text(children, _SR, "ServiceReference"),
        service_reference_variant=_text(children, _SRV, "ServiceReferenceVariant"),
        body=body_tag[_LOCAL:] if body_tag.startswith(_SUG_PREFIX) else body_tag,
        schema_version=version,
        root=root,
        preceding_request_id=preceding,
        first_in_sequence=None if first is None else first.strip() in ("true", "1"),
    )


@dataclass(frozen=True, slots=True)
class DuisCodec:
    """The limits and schema the gateway parses with; ``parse`` turns one body into a ``DuisRequest``."""

    schema: DuisSchema | None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH

    @classmethod
    def from_settings(cls, settings: Settings) -> DuisCodec:
        """The codec the settings describe (schema directory, body size and depth limits)."""
        directory: Path | None = settings.duis_schema_dir
        return cls(duis_schema(directory), settings.duis_max_body_bytes, settings.duis_max_depth)

    def parse(self, data: bytes) -> DuisRequest:
        """The request in ``data``, or the typed refusal (``gateway.errors``) the gateway answers with.

        The HTTP server checks the Content-Type first with ``gateway.xml.check_media_type``.
        """
        root = parse_xml(data, max_bytes=self.max_bytes, max_depth=self.max_depth)
        return read_request(root, self.schema)
