"""The codes catalogue (core/codes.toml) covers every code gbsmart can show, found from the source itself: the DUIS
Response Codes the gateway, the simulator and the alerts write, every MessageState and IncidentStatus, every
refusal reason of the gateway's HTTP answers, and the DCC Alert codes. A new code without an entry fails here."""

from __future__ import annotations

import importlib
import pkgutil
import re
import tomllib
from pathlib import Path

import pytest

import gbsmart
import gbsmart.gateway
from gbsmart.core import codes
from gbsmart.gateway.enums import MessageState
from gbsmart.gateway.errors import DuisRefused
from gbsmart.service.enums import IncidentStatus

PACKAGE = Path(gbsmart.__file__).parent
#: where DUIS Response Codes are written: the message path's source (the XSD's full list is not what gbsmart emits)
EMITTERS = ("gateway", "simulator", "alerts", "service")
#: a DUIS Response Code as a literal: "E4", 'I99' (the SRV-specific six-digit codes of the XSD are never used)
DUIS_LITERAL = re.compile(r"""["'\[ ,(]((?:E|I)\d{1,2})["'\],)]""")


def emitted_duis_codes() -> set[str]:
    found: set[str] = set()
    for domain in EMITTERS:
        for path in sorted((PACKAGE / domain).rglob("*")):
            if path.suffix in {".py", ".toml"}:
                found.update(m.group(1) for m in DUIS_LITERAL.finditer(path.read_text(encoding="utf-8")))
    return found


def refusal_reasons() -> set[str]:
    """The ``reason`` (X-DUIS-Refusal) of every DuisRefused subclass in the gateway's modules."""
    for info in pkgutil.walk_packages(gbsmart.gateway.__path__, "gbsmart.gateway."):
        importlib.import_module(info.name)
    seen: set[str] = set()
    todo = list(DuisRefused.__subclasses__())
    while todo:
        cls = todo.pop()
        seen.add(cls.reason)
        todo += cls.__subclasses__()
    return seen


def dcc_alert_codes() -> set[str]:
    rule = tomllib.loads((PACKAGE / "alerts" / "outage.toml").read_text(encoding="utf-8"))
    found = {str(v) for v in rule["dcc_alerts"].values()}
    for path in (PACKAGE / "alerts").glob("*.py"):
        found.update(re.findall(r'code="(AD\d+|N\d+)"', path.read_text(encoding="utf-8")))
    return found


def test_the_finder_sees_the_codes_it_must():
    """The derivation is not empty-handed: it finds the codes docs/gateway.md names."""
    assert {"I0", "I99", "E1", "E2", "E4", "E5", "E12", "E13", "E19", "E20", "E21", "E41", "E42", "E43"} <= \
        emitted_duis_codes()
    assert {"body_too_large", "signature_mismatch", "counter_not_increasing"} <= refusal_reasons()
    assert {"AD1", "N12", "N42"} <= dcc_alert_codes()


@pytest.mark.parametrize("kind, derived", [
    ("duis_response", emitted_duis_codes),
    ("gateway_refusal", refusal_reasons),
    ("message_state", lambda: {s.value for s in MessageState}),
    ("incident_status", lambda: {s.value for s in IncidentStatus}),
    ("dcc_alert", dcc_alert_codes),
])
def test_every_code_gbsmart_can_show_has_an_entry(kind, derived):
    missing = sorted(c for c in derived() if codes.explain(c, kind) is None or codes.explain(c, kind).code != c)
    assert missing == [], f"add [{kind}.<code>] entries to src/gbsmart/core/codes.toml for {missing}"


def test_every_entry_says_what_it_means_and_what_to_do():
    entries = codes.entries()
    assert len(entries) == len(codes.catalogue())
    for e in entries:
        assert e.title and len(e.title) <= 60, e
        assert e.meaning.endswith(".") and e.action.endswith("."), e
        assert e.summary.startswith(f"{e.title}: ")
    # kinds in the catalogue's order, each code once per kind
    order = [e.kind for e in entries]
    assert order == sorted(order, key=list(codes.KINDS).index)


def test_explain_takes_any_case_and_lookup_says_where_the_codes_are():
    assert codes.explain(" e4 ").code == "E4"
    assert codes.explain("QUARANTINED").kind == "message_state"
    assert codes.explain("nothing-like-it") is None and codes.explain(None) is None and codes.title("") == ""
    with pytest.raises(codes.NotFound, match="gbsmart ssi codes"):
        codes.lookup("E999")
    assert codes.header_text("E4").isascii() and codes.header_text("E4").startswith("Not your device: ")


@pytest.mark.parametrize("data, message", [
    ({"nonsense": {}}, r"\[nonsense\] is not a kind"),
    ({"duis_response": {"E4": {"title": "x", "meaning": "y."}}}, r"E4\.action must be a non-empty text"),
    ({"duis_response": {"E4": {"title": "x", "meaning": "y.", "action": "z.", "colour": "red"}}},
     r"E4\.colour is not a field"),
    ({"duis_response": {"E4": "text"}}, "must be a table"),
])
def test_a_bad_catalogue_is_refused_naming_the_entry(data, message):
    with pytest.raises(codes.CatalogueError, match=message):
        codes.parse(data)
