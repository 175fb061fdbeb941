"""Keyset pagination: pages follow a key, never an offset, so deep pages cost what the first one does."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gbsmart.core.errors import Invalid

T = TypeVar("T")


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise Invalid("The page cursor is not one gbsmart issued; start again from the first page.") from exc
    if not isinstance(values, list):
        raise Invalid("The page cursor is not one gbsmart issued; start again from the first page.")
    return values


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
