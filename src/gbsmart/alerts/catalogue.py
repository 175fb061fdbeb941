"""The GBCS device alert catalogue [configurable]: per code its name, recipients, priority class, throttling.

The packaged ``catalogue.toml`` is the default; the setting ``alerts_catalogue_file`` (env
``GBSMART_ALERTS_CATALOGUE_FILE``) names another. ``load_catalogue`` validates it and names the file and field
of every fault. It also holds the throttle rule (more than ``max_alerts`` per device and code within
``window_seconds`` are throttled) and the codes with ``handler = "outage"`` (``CHPL``/``CHPR``: a
Communications Hub's power notices, gbsmart's names for the CSP's notices, handed to the outage tracker).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gbsmart.config import Settings

PACKAGED_CATALOGUE = Path(__file__).with_name("catalogue.toml")
RECIPIENTS = ("supplier", "network_operator")
HANDLERS = ("forward", "outage")
POWER_LOSS, POWER_RESTORED = "CHPL", "CHPR"
_CODE = re.compile(r"[0-9A-F]{4}|[A-Z]{4}")


class CatalogueError(ValueError):
    """The catalogue file is not valid: the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class AlertCode:
    code: str
    name: str
    recipients: tuple[str, ...]
    priority: str
    never_throttle: bool
    handler: str = "forward"

    @property
    def to_outage_tracker(self) -> bool:
        return self.handler == "outage"


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    max_alerts: int
    window_seconds: float


@dataclass(frozen=True)
class Catalogue:
    codes: dict[str, AlertCode]
    default: AlertCode
    throttle: ThrottleRule
    source: Path

    def get(self, code: str) -> AlertCode:
        """The entry of ``code`` (normalised), or the default entry for a code not listed."""
        return self.codes.get(code) or self.default

    def priorities(self) -> set[str]:
        return {c.priority for c in self.codes.values()} | {self.default.priority}


def normalise_code(given: str) -> str:
    """``"0x8f3e"`` -> ``"8F3E"``; a ValueError saying what a code looks like otherwise."""
    text = given.strip().upper()
    if text.startswith("0X"):
        text = text[2:]
    if not _CODE.fullmatch(text):
        raise ValueError(f"alert code {given[:20]!r} is not a GBCS alert code (four hex digits such as 8F3E, "
                         "optionally 0x-prefixed) nor a Communications Hub notice (CHPL, CHPR)")
    return text


def _entry(code: str, raw: Any, where: str, classes: set[str] | None) -> AlertCode:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: must be a table with name, recipients, priority and never_throttle")
    unknown = set(raw) - {"name", "recipients", "priority", "never_throttle", "handler"}
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CatalogueError(f"{where}.name: must be a non-empty string")
    recipients = raw.get("recipients")
    if (not isinstance(recipients, list) or not recipients
            or any(r not in RECIPIENTS for r in recipients) or len(set(recipients)) != len(recipients)):
        raise CatalogueError(f"{where}.recipients: must be a list of {' and/or '.join(RECIPIENTS)}, "
                             f"not {recipients!r}")
    priority = raw.get("priority")
    if not isinstance(priority, str) or not priority:
        raise CatalogueError(f"{where}.priority: must be the name of a priority class (alerts/traffic.toml)")
    if classes is not None and priority not in classes:
        raise CatalogueError(f"{where}.priority: {priority!r} is not a priority class; the classes are "
                             f"{', '.join(sorted(classes))}")
    never = raw.get("never_throttle", False)
    if not isinstance(never, bool):
        raise CatalogueError(f"{where}.never_throttle: must be true or false")
    handler = raw.get("handler", "forward")
    if handler not in HANDLERS:
        raise CatalogueError(f"{where}.handler: must be one of {', '.join(HANDLERS)}, not {handler!r}")
    return AlertCode(code, name.strip(), tuple(recipients), priority, never, handler)


def parse_catalogue(data: dict[str, Any], source: Path, classes: set[str] | None = None) -> Catalogue:
    """A validated Catalogue from parsed TOML ``data``; ``classes``: the priority classes it may name."""
    unknown = set(data) - {"throttle", "default", "codes"}
    if unknown:
        raise CatalogueError(f"{source}: unknown section(s) {', '.join(sorted(unknown))} (throttle, default, codes)")
    throttle = data.get("throttle", {})
    if not isinstance(throttle, dict):
        raise CatalogueError(f"{source}: [throttle] must be a table")
    max_alerts, window = throttle.get("max_alerts", 3), throttle.get("window_seconds", 3600)
    if isinstance(max_alerts, bool) or not isinstance(max_alerts, int) or max_alerts < 1:
        raise CatalogueError(f"{source}: throttle.max_alerts must be a whole number of at least 1, not {max_alerts!r}")
    if isinstance(window, bool) or not isinstance(window, int | float) or window <= 0:
        raise CatalogueError(f"{source}: throttle.window_seconds must be a number of seconds above 0, not {window!r}")
    if "default" not in data:
        raise CatalogueError(f"{source}: [default] is missing: it says what becomes of a code not listed")
    default = _entry("", data["default"], f"{source}: default", classes)
    codes_raw = data.get("codes", {})
    if not isinstance(codes_raw, dict):
        raise CatalogueError(f"{source}: [codes] must be a table of codes")
    codes: dict[str, AlertCode] = {}
    for key, raw in codes_raw.items():
        try:
            code = normalise_code(str(key))
        except ValueError as exc:
            raise CatalogueError(f"{source}: codes.{key}: {exc}") from None
        if code in codes:
            raise CatalogueError(f"{source}: codes.{key}: code {code} is listed twice")
        codes[code] = _entry(code, raw, f"{source}: codes.{key}", classes)
    for needed in (POWER_LOSS, POWER_RESTORED):
        if needed in codes and not codes[needed].to_outage_tracker:
            raise CatalogueError(f"{source}: codes.{needed}: the Communications Hub's power notice must have "
                                 'handler = "outage" (it goes to the power outage tracker)')
    return Catalogue(codes, default, ThrottleRule(max_alerts, float(window)), source)


def load_catalogue(settings: Settings, classes: set[str] | None = None) -> Catalogue:
    """The catalogue of ``settings.alerts_catalogue_file`` (default the packaged one), validated."""
    path = settings.alerts_catalogue_file or PACKAGED_CATALOGUE
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogueError(f"the alert catalogue {path} does not exist (setting GBSMART_ALERTS_CATALOGUE_FILE)"
                             ) from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{path}: not valid TOML: {exc}") from None
    return parse_catalogue(data, Path(path), classes)
