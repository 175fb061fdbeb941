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


class SecondFactorPending(AppError):
    """The password was right but the second-factor code is still to come: pages go to ``location``."""

    status = 401
    location = "/login/code"

    def __init__(self) -> None:
        super().__init__("Give the code from your authenticator app first: the password alone does not sign you in "
                         "(the portal asks at /login/code).")


class SecondFactorEnrolment(AppError):
    """A role requires a second factor the person has not turned on: pages go to ``location`` to enrol."""

    status = 403
    location = "/account/second-factor"

