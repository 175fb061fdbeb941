"""One hardened XML parser for DUIS bodies, and the DUIS V5.4 schema, compiled once per process.

Every DUIS message goes through ``parse_xml`` and nothing else: the size limit is checked before a byte is
parsed; the body must be UTF-8; a DOCTYPE or entity declaration is refused outright (not ignored), so no DTD
is loaded, no entity expanded (XXE, billion laughs) and nothing fetched from the network; processing
instructions are refused too; libxml2's ``huge_tree`` stays off and a depth limit far below its own
applies. Each refusal is a typed ``gateway.errors`` error carrying the HTTP status the gateway answers (413
too large, 415 not UTF-8 XML, 400 otherwise).

The schema is the published DUIS V5.4 one (``schema/``, see its README; the directory is the setting
``GBSMART_DUIS_SCHEMA_DIR``). DUIS keeps one namespace for every version and says which version a message
follows in the root's ``schemaVersion`` attribute; requests of versions 5.1 to 5.4 are accepted and validated
against V5.4, whose request structure is a superset of theirs.
"""

from __future__ import annotations

import re
import threading
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from lxml import etree

from gbsmart.gateway.errors import (
    BodyTooLarge,
    ForbiddenXml,
    MalformedXml,
    NotDuis,
    SchemaInvalid,
    UnsupportedMediaType,
    UnsupportedSchemaVersion,
)

#: the namespace of DUIS Service Requests and Responses (the same for every schema version)
SUG_NS = "http://www.dccinterface.co.uk/ServiceUserGateway"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
PACKAGED_SCHEMA_DIR = Path(__file__).with_name("schema")
SCHEMA_FILE = "DUIS-Schema-V5.4.xsd"
#: the DUIS schema versions whose requests the gateway accepts
SUPPORTED_VERSIONS = ("5.1", "5.2", "5.3", "5.4")
DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_MAX_DEPTH = 32

_XML_MEDIA_TYPES = {"application/xml", "text/xml"}
# the XML declaration's encoding, if the body starts with one (XML 1.0 section 2.8 and 4.3.3)
_DECLARED_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = {b"utf-8", b"utf8"}
_SUPPORTED = {Decimal(v) for v in SUPPORTED_VERSIONS}


def check_media_type(content_type: str | None) -> None:
    """Refuse (415) a Content-Type other than application/xml or text/xml, or a charset other than UTF-8."""
    if not content_type:
        raise UnsupportedMediaType("the request has no Content-Type: send DUIS as application/xml (UTF-8)")
    media, _, params = content_type.partition(";")
    if media.strip().lower() not in _XML_MEDIA_TYPES:
        raise UnsupportedMediaType(f"Content-Type {media.strip()!r} is not XML: send DUIS as application/xml (UTF-8)")
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"charset {value.strip()!r} is not supported: DUIS messages are UTF-8")


class _Parsers(threading.local):
    """One configured lxml parser per thread (an lxml parser must not be used by two threads at once)."""

    def __init__(self) -> None:
        self.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
            remove_blank_text=False, collect_ids=False,
        )


_parsers = _Parsers()


_has_processing_instruction = etree.XPath("boolean(//processing-instruction())")


@lru_cache(maxsize=8)
def _deeper_than(max_depth: int) -> etree.XPath:
    """An XPath true when some element lies deeper than ``max_depth`` (the root is at depth 1)."""
    return etree.XPath("boolean(/*" + "/*" * max_depth + ")")


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> etree._Element:
    """The root element of ``data``, parsed safely, or a typed refusal saying what is wrong with it."""
    if len(data) > max_bytes:
        raise BodyTooLarge(f"the body is {len(data):,} bytes; the gateway accepts at most {max_bytes:,}")
    if not data or data.isspace():  # as ``not data.strip()``, without copying the body
        raise MalformedXml("the body is empty: send one DUIS Service Request as XML")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:1] == b"\x00" or data[1:2] == b"\x00":
        raise UnsupportedMediaType("the body is UTF-16 or UTF-32: DUIS messages are UTF-8")
    declared = _DECLARED_ENCODING.match(data)
    if declared and declared.group(1).lower() not in _UTF8_NAMES:
        raise UnsupportedMediaType(
            f"the body declares encoding {declared.group(1).decode('ascii')!r}: DUIS messages are UTF-8")
    # Refused before parsing, wherever they are: DUIS never has a DTD, and its entity declarations are the
    # whole of XXE and entity-expansion attacks. (Inside a comment or CDATA this refuses harmless text too.)
    # ``markup``: the body has some ``<!`` (a DOCTYPE, comment or CDATA section): with none, one scan shows
    # there can be no DOCTYPE or entity declaration, and the checks that look for them need not run.
    markup = b"<!" in data
    if markup and (b"<!DOCTYPE" in data or b"<!ENTITY" in data):
        raise ForbiddenXml("the body has a DOCTYPE or entity declaration: DUIS messages must not have a DTD")
    try:
        root = etree.fromstring(data, _parsers.parser)
    except etree.XMLSyntaxError as exc:
        raise MalformedXml(f"the body is not well-formed XML: {_syntax_message(exc)}") from None
    except ValueError as exc:  # lxml refuses some inputs (e.g. unicode strings with a declaration) this way
        raise MalformedXml(f"the body is not well-formed XML: {exc}") from None
    if markup:  # without "<!" in the body libxml2 saw no DOCTYPE, so the document has no DTD to look for
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise ForbiddenXml("the body has a DOCTYPE: DUIS messages must not have a DTD")
    instructions = _may_have_processing_instruction(data)
    if instructions and _has_processing_instruction(root):
        raise ForbiddenXml("the body has a processing instruction (<?...?>); DUIS messages have none")
    if (markup or instructions or _most_elements(data) > max_depth) and _deeper_than(max_depth)(root):
        raise ForbiddenXml(f"the body nests elements more than {max_depth} deep; no DUIS message is that deep")
    return root


def _most_elements(data: bytes) -> int:
    """At least the number of elements in well-formed ``data`` that has no ``<!`` and no processing instruction.

    Then every ``<`` opens a start tag, an end tag (``</``) or the XML declaration ("<" is never raw in text or
    attribute values), and every element has one start tag: elements <= count("<") - count("</"). A body with
    no more elements than the depth limit cannot nest deeper than it, so the tree need not be searched.
    """
    return data.count(b"<") - data.count(b"</")


def _may_have_processing_instruction(data: bytes) -> bool:
    """False only if ``data`` has no ``<?`` but its XML declaration's: then it cannot hold a processing
    instruction, and the tree need not be searched for one (markup never comes from character references)."""
    first = data.find(b"<?")
    if first == -1:
        return False
    if data.startswith(b"<?xml", first) and data[first + 5:first + 6] in (b" ", b"\t", b"\r", b"\n"):
        return data.find(b"<?", first + 2) != -1  # libxml2 refuses an XML declaration anywhere but the start
    return True


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    msg = str(exc.msg or exc).strip()
    line, column = exc.position if exc.position else (None, None)
    return f"{msg} (line {line}, column {column})" if line else msg


#: a declared version already in its normal form: the answer without parsing it as a Decimal
_NORMAL_VERSIONS = {v: v for v in SUPPORTED_VERSIONS}
_REQUEST = f"{{{SUG_NS}}}Request"


def schema_version(root: etree._Element) -> str:
    """The DUIS schema version a request declares (normalised, e.g. "5.4"), refused unless 5.1 to 5.4."""
    if root.tag == _REQUEST:
        normal = _NORMAL_VERSIONS.get(root.get("schemaVersion"))  # type: ignore[arg-type]
        if normal is not None:
            return normal
    if root.tag != _REQUEST:
        raise NotDuis(f"the root element is {_clark_to_text(root.tag)}, not a DUIS Service Request "
                      f"(expected Request in namespace {SUG_NS})")
    declared = root.get("schemaVersion")
    if declared is None:
        raise UnsupportedSchemaVersion("the Request has no schemaVersion attribute: say which DUIS schema it "
                                       f"follows ({', '.join(SUPPORTED_VERSIONS)})")
    try:
        version = Decimal(declared.strip())
    except InvalidOperation:
        raise UnsupportedSchemaVersion(f"schemaVersion {declared[:40]!r} is not a version number") from None
    if version not in _SUPPORTED:
        raise UnsupportedSchemaVersion(f"DUIS schema version {declared[:40]!r} is not supported: the gateway "
                                       f"accepts {', '.join(SUPPORTED_VERSIONS)}")
    return str(version.normalize())


def _clark_to_text(tag: object) -> str:
    if not isinstance(tag, str):
        return "not an element"
    ns, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return f"{local[:60]!r} in namespace {ns[:80]!r}" if ns else f"{local[:60]!r} (no namespace)"


class DuisSchema:
    """The compiled DUIS XSD (with the MMC and XML Signature schemas it imports)."""

    def __init__(self, directory: Path) -> None:
        path = directory / SCHEMA_FILE
        if not path.is_file():
            raise FileNotFoundError(f"the DUIS schema {path} does not exist (setting GBSMART_DUIS_SCHEMA_DIR)")
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        self.directory = directory
        self._schema = etree.XMLSchema(etree.parse(str(path), parser))

    def validate(self, root: etree._Element) -> None:
        """Refuse (400) a document the schema does not accept, naming the first problems and where they are."""
        if self._schema.validate(root):
            return
        errors = list(self._schema.error_log)
        first = "; ".join(f"line {e.line}: {_schema_message(e.message)}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise SchemaInvalid(f"the request does not follow the DUIS schema: {first}{more}",
                            detail=[{"line": e.line, "message": e.message} for e in errors[:20]])


def _schema_message(message: str) -> str:
    """libxml2's message with the namespace URIs shortened to the prefixes DUIS uses."""
    return message.replace(f"{{{SUG_NS}}}", "sr:").replace(f"{{{DS_NS}}}", "ds:")


def duis_schema(directory: Path | None = None) -> DuisSchema:
    """The DUIS schema in ``directory`` (default the packaged copy), compiled once per process."""
    return _compiled((directory or PACKAGED_SCHEMA_DIR).resolve())


@lru_cache(maxsize=4)
def _compiled(directory: Path) -> DuisSchema:
    return DuisSchema(directory)
