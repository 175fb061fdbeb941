"""Pure rules for people's credentials: when repeated failed sign-ins lock an account or an address."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta


def locked_for(failures: Sequence[datetime], limit: int, window: timedelta, now: datetime) -> timedelta | None:
    """How long sign-in stays refused, or None: refused while ``limit`` failures fall within the last ``window``.

    ``failures`` are the failure times, newest first. The lock lifts when the ``limit``-th newest failure
    leaves the window, so ``limit`` quick failures lock for about one window.
    """
    recent = [at for at in failures if at > now - window]
    if len(recent) < limit:
        return None
    return recent[limit - 1] + window - now


def minutes(wait: timedelta) -> int:
    """A wait in whole minutes, rounded up, for a message ("try again in 15 minutes")."""
    return max(1, math.ceil(wait.total_seconds() / 60))
