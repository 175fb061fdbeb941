"""12.1 Request WAN Matrix: the SM WAN coverage for a postcode, from a coverage table keyed by postcode area.

The platform holds no address or coverage data of its own (the SMI has no postcodes or UPRNs), so the answer
comes from a small table: postcode area (the letters a postcode starts with: ``M`` for ``M22 0RR``, ``EC`` for
``EC1A 1BB``) -> CSP Region, WAN technology, connectivity likelihood and whether there is coverage. The built-in
table (``DEFAULT_COVERAGE``) covers every postcode area of Great Britain by the CSP Regions' usual split
(North: Scotland and the north of England; Central: the Midlands, Wales and East Anglia; South: London and the
south), illustrative data for tests and the demo, not the CSPs' real coverage. ``GBSMART_GATEWAY_WAN_COVERAGE_FILE``
names a JSON file to use instead: ``{"M": {"region": "North", "technology": "Long Range Radio",
"likelihood": "High", "coverage": true}, ...}`` (``region`` one of DUIS's CSPRegion values; ``likelihood``
High, Medium or Low; ``coverage`` optional, default true; ``anticipated`` an ISO date, optional;
``information`` up to 250 characters, optional).

A UPRN cannot be located without address data, and a postcode whose area is not in the table has no answer:
both get E19 with a reason saying so.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from lxml import etree

from gbsmart.config import Settings
from gbsmart.core.errors import Invalid
from gbsmart.gateway.xml import SUG_NS

REGIONS = ("North", "Central", "South", "4G North", "4G Central", "4G South", "Unknown", "SMETS1")
LIKELIHOODS = ("High", "Medium", "Low")
_AREA = re.compile(r"^([A-Z]{1,2})[0-9]")
_NORTH = ("AB DD DG EH FK G HS IV KA KW KY ML PA PH TD ZE BB BD BL CA CH CW DH DL DN HD HG HU HX L LA LS M NE OL "
          "PR S SK SR TS WA WF WN YO")
_CENTRAL = "B CB CF CV DE DY HR IP LD LE LL LN MK NG NN NP NR PE SA ST SY TF WR WS WV"
_SOUTH = ("AL BA BH BN BR BS CM CO CR CT DA DT E EC EN EX GL GU HA HP IG KT LU ME N NW OX PL PO RG RH RM SE SG SL "
          "SM SN SO SP SS SW TA TN TQ TR TW UB W WC WD")
_TECHNOLOGY = {"North": "Long Range Radio", "Central": "Cellular", "South": "Cellular"}


@dataclass(frozen=True)
class Coverage:
    """The SM WAN coverage of one postcode area."""

    region: str
    technology: str
    likelihood: str = "High"
    coverage: bool = True
    anticipated: date | None = None
    information: str = ""


DEFAULT_COVERAGE: dict[str, Coverage] = {
    area: Coverage(region, _TECHNOLOGY[region])
    for region, areas in (("North", _NORTH), ("Central", _CENTRAL), ("South", _SOUTH)) for area in areas.split()
}


def _sr(name: str) -> str:
    return f"{{{SUG_NS}}}{name}"


def parse_coverage(data: dict) -> dict[str, Coverage]:
    """A coverage table from its JSON form; ``Invalid`` naming the first wrong entry."""
    table = {}
    for area, entry in data.items():
        where = f"WAN coverage entry {area!r}"
        if not isinstance(entry, dict) or not re.fullmatch(r"[A-Z]{1,2}", str(area)):
            raise Invalid(f"{where}: give a postcode area (one or two capital letters) and an object")
        if entry.get("region") not in REGIONS:
            raise Invalid(f"{where}: region must be one of {', '.join(REGIONS)}")
        if entry.get("likelihood", "High") not in LIKELIHOODS:
            raise Invalid(f"{where}: likelihood must be High, Medium or Low")
        technology = str(entry.get("technology", "")).strip()
        if not 1 <= len(technology) <= 30:
            raise Invalid(f"{where}: technology must be 1 to 30 characters")
        anticipated = entry.get("anticipated")
        try:
            when = date.fromisoformat(anticipated) if anticipated else None
        except ValueError:
            raise Invalid(f"{where}: anticipated must be an ISO date (YYYY-MM-DD)") from None
        table[str(area)] = Coverage(entry["region"], technology, entry.get("likelihood", "High"),
                                    bool(entry.get("coverage", True)), when, str(entry.get("information", ""))[:250])
    return table


@lru_cache(maxsize=8)
def _load(path: str, stamp: tuple[int, int]) -> dict[str, Coverage]:  # stamp: re-read when the file changes
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"The WAN coverage file {path} cannot be read as JSON ({exc}): fix it or unset "
                      "GBSMART_GATEWAY_WAN_COVERAGE_FILE to use the built-in table.") from exc
    if not isinstance(data, dict):
        raise Invalid(f"The WAN coverage file {path} must hold one JSON object keyed by postcode area.")
    return parse_coverage(data)


def coverage_table(settings: Settings) -> dict[str, Coverage]:
    """The configured coverage table (re-read when the file changes), or the built-in one."""
    path = settings.gateway_wan_coverage_file
    if path is None:
        return DEFAULT_COVERAGE
    try:
        stat = path.stat()
    except OSError as exc:
        raise Invalid(f"The WAN coverage file {path} cannot be read ({exc.strerror}).") from exc
    return _load(str(path), (stat.st_mtime_ns, stat.st_size))


def postcode_area(postcode: str) -> str | None:
    """The postcode area of a postcode (``M22 0RR`` -> ``M``), or None if it does not look like one."""
    match = _AREA.match(postcode.strip().upper())
    return match.group(1) if match else None


def wan_matrix(request: etree._Element, table: dict[str, Coverage], schema_version: str = "5.4"
               ) -> etree._Element | str:
    """The ``DSPWANMatrix`` answering a ``RequestWANMatrix`` element, or the reason there is none (E19).

    DUIS V5.4 wraps each region's answer in a ``DSPWANMatrixResponse`` with its own ``CSPRegionResponseCode``;
    V5.1 (what DCC Boxed's tool validates) has the same fields directly in ``DSPWANMatrix``: a request declaring
    schema version 5.1 gets that shape, any later version the V5.4 one."""
    postcode = request.findtext(f"{_sr('PartialAddress')}/{_sr('PostCode')}")
    if postcode is None:
        return ("The DCC here holds no address data to locate a UPRN: ask for the WAN Matrix by PartialAddress "
                "(PostCode and AddressIdentifier) instead.")
    area = postcode_area(postcode)
    found = table.get(area) if area else None
    if found is None:
        return (f"No SM WAN coverage is recorded for postcode {postcode.strip()[:8]!r} (postcode area "
                f"{area or 'not recognised'}): check the postcode; the coverage table is keyed by postcode area.")
    matrix = etree.Element(_sr("DSPWANMatrix"))
    echoed = etree.SubElement(matrix, _sr("Request"))
    for child in request:
        echoed.append(copy.deepcopy(child))
    v51 = schema_version == "5.1"  # normalised by the codec
    answer = matrix if v51 else etree.SubElement(matrix, _sr("DSPWANMatrixResponse"))
    etree.SubElement(answer, _sr("CSPRegion")).text = found.region
    if not v51:
        etree.SubElement(answer, _sr("CSPRegionResponseCode")).text = "I0"
    etree.SubElement(answer, _sr("CoverageAvailability")).text = "true" if found.coverage else "false"
    if found.anticipated is not None:
        etree.SubElement(answer, _sr("AnticipatedCoverageDate")).text = found.anticipated.isoformat()
    etree.SubElement(answer, _sr("WANTechnology")).text = found.technology
    etree.SubElement(answer, _sr("ConnectivityLikelihood")).text = found.likelihood
    if found.information:
        etree.SubElement(answer, _sr("AdditionalInformation")).text = found.information
    return matrix
