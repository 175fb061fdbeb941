"""The codes catalogue: every code the Self-Service Interface shows (DUIS Response Codes, the gateway's HTTP refusal
reasons, message states, incident statuses, DCC Alert codes) in plain English (issue 15 point 5).

One catalogue (``codes.toml`` beside this module, read once per process), used by the gateway's answers
(``X-DUIS-Code-Meaning``, and the ``X-DUIS-Explanation`` of a code with no reason of its own), the portal pages (the
``explain_code`` template global), the API (``/api/v1/ssi/codes``) and the CLI (``gbsmart ssi codes``). It sits in
``core`` so that the gateway, below the SSI, can read it. ``tests/core/test_codes.py`` fails when gbsmart can emit a
code that has no entry.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from gbsmart.core.errors import NotFound

SOURCE = Path(__file__).with_name("codes.toml")

#: the kinds of code, in the order the catalogue lists them, with a label
KINDS: dict[str, str] = {
    "duis_response": "DUIS Response Code",
    "gateway_refusal": "Gateway refusal (HTTP)",
    "csp_error": "CSP error",
    "message_state": "Request state",
    "incident_status": "Incident status",
    "dcc_alert": "DCC Alert code",
}
_FIELDS = ("title", "meaning", "action")


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One code: its kind, a short title, what it means and what the User should do, in plain English."""

    kind: str
    code: str
    title: str
    meaning: str
    action: str

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def summary(self) -> str:
        """``title: meaning``: the one line shown beside a code."""
        return f"{self.title}: {self.meaning}"


class CatalogueError(ValueError):
    """``codes.toml`` is not valid: the message names the entry and the field."""


def parse(data: dict[str, object], where: str = "codes.toml") -> dict[tuple[str, str], CodeEntry]:
    """The entries of a parsed catalogue, by (kind, code); a CatalogueError naming the first problem."""
    found: dict[tuple[str, str], CodeEntry] = {}
    for kind, codes in data.items():
        if kind not in KINDS:
            raise CatalogueError(f"{where}: [{kind}] is not a kind of code (one of {', '.join(KINDS)})")
        if not isinstance(codes, dict):
            raise CatalogueError(f"{where}: [{kind}] must be a table of codes")
        for code, raw in codes.items():
            if not isinstance(raw, dict):
                raise CatalogueError(f"{where}: {kind}.{code} must be a table with {', '.join(_FIELDS)}")
            unknown = set(raw) - set(_FIELDS)
            if unknown:
                raise CatalogueError(f"{where}: {kind}.{code}.{sorted(unknown)[0]} is not a field "
                                     f"(the fields are {', '.join(_FIELDS)})")
            for name in _FIELDS:
                value = raw.get(name)
                if not isinstance(value, str) or not value.strip():
                    raise CatalogueError(f"{where}: {kind}.{code}.{name} must be a non-empty text")
            found[(kind, code)] = CodeEntry(kind, code, raw["title"].strip(), raw["meaning"].strip(),
                                            raw["action"].strip())
    return found


@cache
def catalogue() -> dict[tuple[str, str], CodeEntry]:
    """Every entry, by (kind, code), in the file's order; read once per process."""
    return parse(tomllib.loads(SOURCE.read_text(encoding="utf-8")), SOURCE.name)


def entries(kind: str | None = None) -> list[CodeEntry]:
    """The entries of one kind (or all), kinds in ``KINDS`` order, codes in the file's order."""
    order = list(KINDS)
    rows = [e for e in catalogue().values() if kind is None or e.kind == kind]
    return sorted(rows, key=lambda e: order.index(e.kind))


def explain(code: str | None, kind: str | None = None) -> CodeEntry | None:
    """The entry of ``code`` (of ``kind``, or the first kind that has it), or None; any case, spaces ignored."""
    text = (code or "").strip()
    if not text:
        return None
    kinds = [kind] if kind else list(KINDS)
    table = catalogue()
    for k in kinds:
        for form in (text, text.upper(), text.lower()):
            if (k, form) in table:
                return table[(k, form)]
    return None


def lookup(code: str, kind: str | None = None) -> list[CodeEntry]:
    """Every entry for ``code`` (one per kind that has it), or NotFound saying where the codes are listed."""
    found = [e for k in ([kind] if kind else list(KINDS)) if (e := explain(code, k)) is not None]
    if not found:
        raise NotFound(f"No code {code.strip()[:40]!r} in the catalogue: `gbsmart ssi codes` (or GET "
                       "/api/v1/ssi/codes) lists every code gbsmart shows.")
    return found


def title(code: str | None, kind: str | None = None) -> str:
    """The entry's title, or "" for a code the catalogue does not have."""
    entry = explain(code, kind)
    return entry.title if entry else ""


@cache
def header_text(code: str | None, kind: str = "duis_response") -> str:
    """``title: meaning`` of a code for an HTTP header (ASCII), or "" when the catalogue does not have it."""
    entry = explain(code, kind)
    return entry.summary.encode("ascii", "replace").decode("ascii") if entry else ""
