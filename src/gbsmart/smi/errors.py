"""Errors of the Smart Metering Inventory."""

from __future__ import annotations

from gbsmart.core.errors import Conflict, Invalid, NotFound


class DeviceNotFound(NotFound):
    """No device with that Device ID in the SMI (404)."""


class StatusChangeRefused(Conflict):
    """A change the SMI Status lifecycle does not allow (409); the message names the allowed ones."""


class DeviceRefused(Invalid):
    """A device or request the SMI rules refuse (422), e.g. an unknown or non-Active Device Model."""
