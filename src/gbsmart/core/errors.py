"""One error hierarchy for every layer: services raise these, the boundaries render them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AppError(Exception):
    """An error a user can act on: a message, an HTTP status and optional detail."""

    status: int = 400

    def __init__(self, message: str, *, detail: Any = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if status is not None:
            self.status = status

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.message, "detail": self.detail}


class NotFound(AppError):
    status = 404


class Forbidden(AppError):
    status = 403


class Unauthorised(AppError):
    status = 401


class Conflict(AppError):
    status = 409


class Invalid(AppError):
    status = 422


#: plain sentences for the Pydantic error types people meet in forms, API bodies and commands
_PLAIN = {
    "missing": "is required",
    "string_too_short": "must be at least {min_length} characters",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "string_pattern_mismatch": "is not in the expected form",
    "enum": "must be one of {expected}",
    "literal_error": "must be one of {expected}",
    "int_parsing": "must be a whole number",
    "bool_parsing": "must be yes or no (true or false)",
    "greater_than_equal": "must be {ge} or more",
    "less_than_equal": "must be {le} or less",
    "extra_forbidden": "is not a field this accepts",
}


def plain_validation_message(error: Mapping[str, Any]) -> str:
    """One Pydantic error as a plain sentence ("must be at least 5 characters"), else Pydantic's own words."""
    template = _PLAIN.get(error.get("type", ""))
    if template:
        try:
            return template.format(**(error.get("ctx") or {}))
        except (KeyError, IndexError):
            pass
    return str(error.get("msg", "is not valid")).removeprefix("Value error, ")
