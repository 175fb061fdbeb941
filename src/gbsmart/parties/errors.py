"""Errors of people's credentials."""

from __future__ import annotations

import math
from datetime import timedelta

from gbsmart.core.errors import AppError


class TooManySignIns(AppError):
    """Sign-in refused for a while after repeated failures; ``retry_after`` says how long (HTTP Retry-After)."""

    status = 429

    def __init__(self, message: str, retry_after: timedelta) -> None:
        self.retry_after_seconds = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(message, detail={"retry_after_seconds": self.retry_after_seconds})
