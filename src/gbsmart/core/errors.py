"""One error hierarchy for every layer: services raise these, the boundaries render them."""

from __future__ import annotations

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
