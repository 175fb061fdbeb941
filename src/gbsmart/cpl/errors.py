"""Errors of the Central Products List."""

from __future__ import annotations

from typing import Any

from gbsmart.core.errors import AppError, Conflict, Invalid


class SubmissionRefused(Invalid):
    """A submission the CPL rules refuse (422); ``detail`` lists each failure's field, rule and message."""

    def __init__(self, message: str, *, detail: list[dict], submission_id: int | None = None) -> None:
        super().__init__(message, detail=detail)
        self.submission_id = submission_id


class WorkbookInvalid(Invalid):
    """A workbook with at least one bad row, or over a row or unpacked-size limit: nothing was imported. ``detail``
    lists the first errors (sheet, row, field, rule); ``errors_total`` counts them all."""

    def __init__(self, message: str, *, detail: list[dict], errors_total: int | None = None) -> None:
        super().__init__(message, detail=detail)
        self.errors_total = len(detail) if errors_total is None else errors_total

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "errors_total": self.errors_total}


class WorkbookTooLarge(AppError):
    """A workbook, or its upload, over the size limit (413): refused unread, nothing imported."""

    status = 413


class EntryNotActive(Conflict):
    """A change that needs an Active entry (409)."""
