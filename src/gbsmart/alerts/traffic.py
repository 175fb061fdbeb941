"""Traffic management rule data: priority classes, per-User delivery capacity, retention (issue 11 point 4).

**[configurable]**: a TOML file (setting ``alerts_traffic_file``, env ``GBSMART_ALERTS_TRAFFIC_FILE``), default the
packaged ``traffic.toml`` beside this module, which documents every field. ``load_traffic`` validates it and names
the file and the field in every error, so a bad edit is caught when the gateway starts, not when a message is sent.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from gbsmart.alerts.enums import OutboundKind
from gbsmart.config import Settings

PACKAGED = Path(__file__).with_name("traffic.toml")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_USER = re.compile(r"[0-9A-F]{2}(-[0-9A-F]{2}){7}")
_SRV = re.compile(r"\d+(\.\d+)*")


class TrafficError(ValueError):
    """The traffic file is not valid: the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Capacity:
    """How fast one User's endpoint is sent to: ``per_second`` messages/s, up to ``burst`` at once, at most
    ``in_flight`` POSTs open."""

    per_second: float
    burst: float
    in_flight: int


@dataclass(frozen=True, slots=True)
class Traffic:
    """The validated traffic file. ``classes``: highest priority first."""

    classes: tuple[str, ...]
    default_capacity: Capacity
    capacities: Mapping[str, Capacity]
    retention: Mapping[OutboundKind, timedelta]
    response_default: str
    response_future_dated: str
    response_by_srv: Mapping[str, str]
    source: str = ""
    _ranks: Mapping[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ranks", {name: i for i, name in enumerate(self.classes)})

    def rank(self, name: str) -> int:
        """0 for the highest class; ValueError naming the configured classes if ``name`` is not one."""
        try:
            return self._ranks[name]
        except KeyError:
            raise ValueError(f"{name!r} is not a priority class in {self.source or 'the traffic file'}: the "
                             f"classes are {', '.join(self.classes)}") from None

    def capacity(self, user_id: str) -> Capacity:
        return self.capacities.get(user_id, self.default_capacity)

    def response_class(self, srv: str, *, future_dated: bool = False) -> str:
        """The priority class of a Service Response to a request of Service Reference Variant ``srv``."""
        if future_dated:
            return self.response_future_dated
        return self.response_by_srv.get(srv, self.response_default)


def load_traffic(settings: Settings) -> Traffic:
    """The traffic file of ``settings`` (the packaged one by default), validated."""
    path = settings.alerts_traffic_file or PACKAGED
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TrafficError(f"the traffic file {path} does not exist: fix GBSMART_ALERTS_TRAFFIC_FILE or unset it "
                           "for the packaged defaults") from None
    except tomllib.TOMLDecodeError as exc:
        raise TrafficError(f"{path} is not valid TOML: {exc}") from None
    return parse_traffic(data, str(path))


def parse_traffic(data: Mapping[str, Any], source: str) -> Traffic:
    def fail(where: str, what: str) -> TrafficError:
        return TrafficError(f"{source}: {where}: {what}")

    known = {"classes", "capacity", "retention", "responses"}
    for key in data:
        if key not in known:
            raise fail(key, f"unknown field (the fields are {', '.join(sorted(known))})")
    classes = data.get("classes")
    if not isinstance(classes, list) or not classes:
        raise fail("classes", "must be a non-empty list of priority class names, highest first")
    for i, name in enumerate(classes):
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise fail(f"classes[{i}]", f"{name!r} is not a class name (lower case letters, digits and _, "
                                        "at most 40)")
    if len(set(classes)) != len(classes):
        raise fail("classes", "a class is listed twice")

    def capacity(table: Any, where: str, base: Capacity | None) -> Capacity:
        if not isinstance(table, dict):
            raise fail(where, "must be a table")
        for key in table:
            if key not in {"messages_per_second", "burst", "in_flight", "users"} or (key == "users" and base):
                raise fail(f"{where}.{key}", "unknown field (messages_per_second, burst, in_flight)")

        def number(key: str, default: float | None, *, whole: bool = False) -> float:
            value = table.get(key, default)
            if value is None:
                raise fail(f"{where}.{key}", "is required")
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0 or \
                    (whole and not isinstance(value, int)):
                raise fail(f"{where}.{key}", f"{value!r} must be a {'whole ' if whole else ''}number above 0")
            return float(value)

        rate = number("messages_per_second", base.per_second if base else None)
        burst = number("burst", base.burst if base and "messages_per_second" not in table else max(1.0, rate))
        in_flight = int(number("in_flight", base.in_flight if base else None, whole=True))
        return Capacity(rate, max(1.0, burst), in_flight)

    cap_table = data.get("capacity")
    if cap_table is None:
        raise fail("capacity", "is required (messages_per_second, in_flight)")
    default = capacity(cap_table, "capacity", None)
    users: dict[str, Capacity] = {}
    for user, table in (cap_table.get("users") or {}).items():
        if not _USER.fullmatch(user):
            raise fail(f"capacity.users.{user}", "is not a DCC User ID (EUI-64 with dashes, upper case)")
        users[user] = capacity(table, f"capacity.users.{user}", default)

    retention_table = data.get("retention") or {}
    if not isinstance(retention_table, dict):
        raise fail("retention", "must be a table of hours by kind")
    retention: dict[OutboundKind, timedelta] = {}
    for kind in OutboundKind:
        hours = retention_table.get(kind.value, 48.0)
        if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
            raise fail(f"retention.{kind.value}", f"{hours!r} must be a number of hours above 0")
        retention[kind] = timedelta(hours=hours)
    for key in retention_table:
        if key not in {k.value for k in OutboundKind}:
            raise fail(f"retention.{key}", f"unknown kind (the kinds are {', '.join(k.value for k in OutboundKind)})")
    if retention[OutboundKind.DEVICE_ALERT] < timedelta(days=2):
        raise fail("retention.device_alert", "must be at least 48 hours (device alerts are kept at least 2 days)")

    responses = data.get("responses") or {}
    if not isinstance(responses, dict):
        raise fail("responses", "must be a table")

    def class_name(value: Any, where: str) -> str:
        if value not in classes:
            raise fail(where, f"{value!r} is not one of the classes ({', '.join(classes)})")
        return str(value)

    for key in responses:
        if key not in {"default", "future_dated", "srv"}:
            raise fail(f"responses.{key}", "unknown field (default, future_dated, srv)")
    by_srv = {}
    for srv, name in (responses.get("srv") or {}).items():
        if not _SRV.fullmatch(srv):
            raise fail(f"responses.srv.{srv}", "is not a Service Reference Variant such as 2.2")
        by_srv[srv] = class_name(name, f"responses.srv.{srv}")
    fallback = "on_demand" if "on_demand" in classes else classes[-1]
    return Traffic(classes=tuple(classes), default_capacity=default, capacities=users, retention=retention,
                   response_default=class_name(responses.get("default", fallback), "responses.default"),
                   response_future_dated=class_name(responses.get("future_dated", "future_dated" if "future_dated"
                                                                  in classes else fallback),
                                                    "responses.future_dated"),
                   response_by_srv=by_srv, source=source)
