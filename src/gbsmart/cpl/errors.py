"""Errors of the Central Products List."""

from __future__ import annotations

from gbsmart.core.errors import Conflict, Invalid


class SubmissionRefused(Invalid):
    """A submission the CPL rules refuse (422); ``detail`` lists each failure's field, rule and message."""

    def __init__(self, message: str, *, detail: list[dict], submission_id: int | None = None) -> None:
        super().__init__(message, detail=detail)
        self.submission_id = submission_id


class WorkbookInvalid(Invalid):
    """A workbook with at least one bad row: nothing was imported; ``detail`` lists sheet, row, field and rule."""


class EntryNotActive(Conflict):
    """A change that needs an Active entry (409)."""
