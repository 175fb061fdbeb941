"""Keyset pagination: pages follow a key, never an offset, so deep pages cost what the first one does."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gbsmart.core.errors import Invalid
from gbsmart.core.types import MAX_DB_ID, control_character_problem

T = TypeVar("T")


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


CURSOR_NOT_OURS = "The page cursor is not one gbsmart issued; start again from the first page."


def _storable(value: Any) -> bool:
    """A key value a database can compare: a string without control characters or a 64-bit integer."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -MAX_DB_ID <= value <= MAX_DB_ID
    return isinstance(value, str) and control_character_problem(value) is None


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise Invalid(CURSOR_NOT_OURS) from exc
    if not isinstance(values, list) or not all(_storable(v) for v in values):
        raise Invalid(CURSOR_NOT_OURS)
    return values


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
