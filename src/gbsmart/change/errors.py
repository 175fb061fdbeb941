"""Errors of the change process."""

from __future__ import annotations

from gbsmart.core.errors import Conflict


class StepNotAllowed(Conflict):
    """A step the process does not allow from the proposal's current state (409)."""
