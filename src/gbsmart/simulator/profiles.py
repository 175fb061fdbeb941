"""How a simulated device behaves: latency and failures per Device Type and CSP Region, as data.

The default profile comes from the settings (``simulator_latency_seconds``, ``simulator_jitter_seconds``,
``simulator_failure_rate``); a TOML file named by ``simulator_profiles`` can override it and add profiles::

    [default]
    latency_seconds = 0.5
    jitter_seconds = 0.25
    failure_rate = 0.01
    failure_codes = ["E20", "E21"]

    [[profile]]
    device_type = "GSME"       # a Device Type (ESME, GSME, GPF, CHF, ...); optional
    region = "North"           # a CSP Region (North, Central, South); optional
    latency_seconds = 2.0      # each field optional: the default's value if left out
    failure_rate = 0.05

The most specific profile wins: Device Type and Region, then Device Type, then Region, then the default.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gbsmart.config import Settings
from gbsmart.core import codes
from gbsmart.smi.enums import CspRegion, DeviceType

#: the DUIS Response Codes a failed device request may carry (DUIS schema ResponseCode; docs/gateway.md), each with
#: its plain English from the one codes catalogue (core/codes.toml): what happened, then what to do
FAILURE_CODES = {code: f"{entry.meaning} {entry.action}" for code in ("E20", "E21")
                 if (entry := codes.explain(code, "duis_response")) is not None}
_FIELDS = {"latency_seconds", "jitter_seconds", "failure_rate", "failure_codes"}


class ProfileError(ValueError):
    """The simulator's profile file is missing or wrong; the message says which entry and how to fix it."""


@dataclass(frozen=True, slots=True)
class Profile:
    """A simulated device's behaviour: latency uniform in mean ± jitter (never below 0), failures at a rate."""

    latency_seconds: float = 0.5
    jitter_seconds: float = 0.25
    failure_rate: float = 0.01
    failure_codes: tuple[str, ...] = ("E20", "E21")

    def latency(self, rng: random.Random) -> float:
        return max(0.0, self.latency_seconds + rng.uniform(-self.jitter_seconds, self.jitter_seconds))

    def outcome(self, rng: random.Random) -> str:
        """I0, or one of the failure codes at ``failure_rate``."""
        if self.failure_rate > 0 and rng.random() < self.failure_rate:
            return rng.choice(self.failure_codes)
        return "I0"


@dataclass(frozen=True)
class Profiles:
    """The default profile and the specific ones, keyed by (Device Type or None, CSP Region or None)."""

    default: Profile
    specific: dict[tuple[DeviceType | None, CspRegion | None], Profile]

    @property
    def uses_regions(self) -> bool:
        return any(region is not None for _, region in self.specific)

    def for_device(self, device_type: DeviceType | None, region: CspRegion | None) -> Profile:
        for key in ((device_type, region), (device_type, None), (None, region)):
            found = self.specific.get(key)  # (None, None) is never a key: that is the default
            if found is not None:
                return found
        return self.default

    @classmethod
    def from_settings(cls, settings: Settings) -> Profiles:
        default = Profile(settings.simulator_latency_seconds, settings.simulator_jitter_seconds,
                          settings.simulator_failure_rate)
        if settings.simulator_profiles is None:
            return cls(default, {})
        path = Path(settings.simulator_profiles)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise ProfileError(f"the simulator profile file {path} (GBSMART_SIMULATOR_PROFILES) does not exist: "
                               "create it or unset the setting") from None
        except tomllib.TOMLDecodeError as exc:
            raise ProfileError(f"the simulator profile file {path} is not valid TOML: {exc}") from None
        return cls.from_data(data, default, source=str(path))

    @classmethod
    def from_data(cls, data: dict[str, Any], default: Profile | None = None, *, source: str = "profiles") -> Profiles:
        base = _profile(data.get("default", {}), default or Profile(), f"{source} [default]")
        specific: dict[tuple[DeviceType | None, CspRegion | None], Profile] = {}
        for i, entry in enumerate(data.get("profile", []), start=1):
            where = f"{source} profile {i}"
            if not isinstance(entry, dict):
                raise ProfileError(f"{where} is not a table: write [[profile]] then its fields")
            key = (_member(DeviceType, entry.get("device_type"), where, "device_type"),
                   _member(CspRegion, entry.get("region"), where, "region"))
            if key == (None, None):
                raise ProfileError(f"{where} names neither a device_type nor a region: give one (or change "
                                   "[default])")
            if key in specific:
                raise ProfileError(f"{where} repeats device_type/region {key[0]}/{key[1]}: merge them")
            rest = {k: v for k, v in entry.items() if k not in ("device_type", "region")}
            specific[key] = _profile(rest, base, where)
        return cls(base, specific)


def _member(enum: Any, value: Any, where: str, field: str) -> Any:
    if value is None:
        return None
    for member in enum:
        if str(value).lower() in (member.value.lower(), member.name.lower()):
            return member
    raise ProfileError(f"{where}: {field} {value!r} is not one of {', '.join(m.value for m in enum)}")


def _profile(entry: dict[str, Any], base: Profile, where: str) -> Profile:
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ProfileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; the fields are "
                           f"{', '.join(sorted(_FIELDS))}")
    values: dict[str, Any] = {}
    for name in ("latency_seconds", "jitter_seconds", "failure_rate"):
        if name in entry:
            value = entry[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ProfileError(f"{where}: {name} must be a number of 0 or more, not {value!r}")
            values[name] = float(value)
    if values.get("failure_rate", 0) > 1:
        raise ProfileError(f"{where}: failure_rate is a share from 0 to 1, not {values['failure_rate']}")
    if "failure_codes" in entry:
        codes = entry["failure_codes"]
        if not isinstance(codes, list) or not codes or any(c not in FAILURE_CODES for c in codes):
            raise ProfileError(f"{where}: failure_codes must be a non-empty list of {', '.join(FAILURE_CODES)}")
        values["failure_codes"] = tuple(codes)
    return replace(base, **values)
