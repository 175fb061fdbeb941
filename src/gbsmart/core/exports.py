"""Cells of CSV and XLSX exports that a spreadsheet shows as text and never runs as a formula (CSV injection).

Anyone may raise a Draft Proposal and a manufacturer names its own models, so exported text is untrusted.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

#: what a spreadsheet reads as the start of a formula (OWASP, CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV cell: text a spreadsheet would run as a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def xlsx_cell(ws: WriteOnlyWorksheet, value: Any) -> Cell:
    """A write-only cell holding ``value``; text stays text, whatever it starts with."""
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell
