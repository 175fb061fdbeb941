"""The Modification Register, the impact matrix and the release landscape (seed 004), and their exports.

The register is one row per proposal with seed 004's columns (plus State, Path and Release), streamed from
the database with ``yield_per`` so an export never holds the whole register as ORM objects. The impact
matrix always lists every area seed 004 prints, ticked or not. Exporters turn the rows into CSV (streamed)
or one XLSX workbook with three sheets.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import Select, func, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, selectinload

from gbsmart.change import rules
from gbsmart.change.enums import ProposalPath, ProposalState
from gbsmart.change.service import ProposalFilters, _filtered
from gbsmart.core.errors import NotFound
from gbsmart.core.exports import csv_cell, xlsx_cell
from gbsmart.core.types import as_db_id
from gbsmart.models.change import Proposal, ProposalImpact, Release

YIELD_PER = 500

# ---------------------------------------------------------------- the register


@dataclass(frozen=True)
class Column:
    """One register column: the row key, the heading printed in exports, its kind and its XLSX width."""

    key: str
    heading: str
    kind: Literal["text", "long", "date"] = "text"
    width: int = 16


REGISTER_COLUMNS: tuple[Column, ...] = (
    Column("reference", "Modification", width=13),
    Column("title", "Title", "long", 40),
    Column("proposer", "Proposer", width=22),
    Column("date_raised", "Date raised", "date", 12),
    Column("pa_status", "PA", width=8),
    Column("summary", "Summary", "long", 60),
    Column("latest_progress", "Latest progress", "long", 60),
    Column("change_board_determination", "Change Board determination", width=16),
    Column("change_board_date", "Date of decision", "date", 12),
    Column("authority_determination", "Authority determination", width=16),
    Column("authority_date", "Date of determination", "date", 13),
    Column("implementation_date", "Implementation date", "date", 14),
    Column("state", "State", width=24),
    Column("path", "Path", width=22),
    Column("release", "Release", width=24),
)
REGISTER_HEADINGS: list[str] = [c.heading for c in REGISTER_COLUMNS]


def register_rows(session: Session, filters: ProposalFilters) -> Iterator[dict[str, Any]]:
    """The register's rows in reference order, streamed; bad filters raise ``Invalid`` before any row is read."""
    stmt = _register_query(filters)
    return _stream(session, stmt)


def _register_query(filters: ProposalFilters) -> Select:
    """Seed 004's register columns for the proposals the filters select (the same filters as the list)."""
    chosen = _filtered(filters).subquery()
    c = chosen.c
    return (
        select(
            c.reference, c.title, c.proposer_name, c.date_raised, c.pa_status, c.summary, c.latest_progress,
            c.change_board_determination, c.change_board_date, c.authority_determination, c.authority_date,
            c.implementation_date, c.state, c.path, Release.name.label("release_name"),
        )
        .outerjoin(Release, Release.id == c.release_id)
        .order_by(c.reference)
        .execution_options(yield_per=YIELD_PER)
    )  # fmt: skip


def _stream(session: Session, stmt: Select) -> Iterator[dict[str, Any]]:
    for row in session.execute(stmt):
        yield _register_row(row)


def _register_row(row: Row) -> dict[str, Any]:
    """The column keys, then ``state_code``/``path_code`` (the raw values, for the API and the portal's badges)."""
    return {
        "reference": row.reference,
        "title": row.title,
        "proposer": row.proposer_name,
        "date_raised": row.date_raised,
        "pa_status": row.pa_status,
        "summary": row.summary,
        "latest_progress": row.latest_progress,
        "change_board_determination": row.change_board_determination,
        "change_board_date": row.change_board_date,
        "authority_determination": row.authority_determination,
        "authority_date": row.authority_date,
        "implementation_date": row.implementation_date,
        "state": ProposalState(row.state).label,
        "path": ProposalPath(row.path).label if row.path else None,
        "release": row.release_name,
        "state_code": row.state,
        "path_code": row.path,
    }


# ---------------------------------------------------------------- the impact matrix

IMPACT_GROUPS: dict[str, str] = {"parties": "Parties", "sec": "SEC", "subsidiary": "Subsidiary Documents"}

IMPACT_AREAS: dict[str, tuple[str, ...]] = {
    "parties": ("Suppliers", "Gas Networks", "Electricity Networks", "Other", "DCC"),
    "sec": (
        "Section A - Definitions and Interpretation",
        "Section B - Accession",
        "Section C - Governance",
        "Section D - Modification Process",
        "Section E - Registration Data",
        "Section F - Smart Metering System Requirements",
        "Section G - Security",
        "Section H - DCC Services",
        "Section I - Data Privacy",
        "Section J - Charges",
        "Section K - Charging Methodology",
        "Section L - Smart Metering Key Infrastructure",
        "Section M - General",
        "Section N - SMETS1 Meters",
        "Section O - Testing During Transition",
        "Section P - Transition",
        "Section Q - The All HAN Arrangements",
        "Schedule 1 - Framework Agreement",
        "Schedule 2 - Accession Agreement",
        "Schedule 3 - Specimen Bilateral Letter",
        "Schedule 4 - SECCO",
        "Schedule 5 - Accession Information",
        "Schedule 6 - Specimen Form of Letter of Credit",
        "Schedule 7 - Specimen Enabling Services Agreement",
    ),
    "subsidiary": (
        "Appendix A - Device Certificate Policy",
        "Appendix B - Organisation Certificate Policy",
        "Appendix C - SMI Compliance Policy",
        "Appendix D - Registration Authority Policies and Procedures",
        "Appendix E - DCC User Gateway Services Schedule",
        "Appendix F - Minimum Communication Services for SMETS1 Meters",
        "Appendix G - DCC Gateway Connection Code of Connection",
        "Appendix H - CH Handover Support Materials",
    ),
}  # seed 004, "Impact Matrix", in the order printed there

MatrixRow = tuple[str, str, list[bool]]


def area_key(area: str) -> str:
    """How an area is matched: 'Section A - Definitions…', 'Section A' and 'section a – …' are one area."""
    head = area.replace("\u2013", "-").replace("\u2014", "-").split(" - ", 1)[0]
    return " ".join(head.split()).lower()


_KNOWN_KEYS = {group: {area_key(a) for a in areas} for group, areas in IMPACT_AREAS.items()}


def impact_matrix(session: Session, references: list[str] | None = None) -> tuple[list[str], list[MatrixRow]]:
    """Every area of seed 004's matrix (plus any other area ticked) against the chosen proposals' references."""
    proposals = _matrix_proposals(session, references)
    column_of = {pid: i for i, (pid, _) in enumerate(proposals)}
    stmt = select(ProposalImpact.proposal_id, ProposalImpact.group, ProposalImpact.area)
    if references is not None:
        stmt = stmt.where(ProposalImpact.proposal_id.in_(list(column_of)))
    rows = _empty_rows(len(proposals))
    for proposal_id, group, area in session.execute(stmt):
        ticks = rows.setdefault((group, area_key(area)), (area, [False] * len(proposals)))[1]
        ticks[column_of[proposal_id]] = True
    return [ref for _, ref in proposals], _ordered(rows)


def _matrix_proposals(session: Session, references: list[str] | None) -> list[tuple[int, str]]:
    """The matrix's columns in reference order; an unknown reference is a 404 naming it."""
    stmt = select(Proposal.id, Proposal.reference, Proposal.dp_reference).order_by(Proposal.reference)
    if references is None:
        return [(pid, ref) for pid, ref, _ in session.execute(stmt)]
    wanted = [r.strip().upper() for r in references if r.strip()]
    found = session.execute(
        stmt.where(or_(func.upper(Proposal.reference).in_(wanted), func.upper(Proposal.dp_reference).in_(wanted)))
    ).all()
    known = {ref.upper() for _, ref, _ in found} | {dp.upper() for _, _, dp in found if dp}
    if missing := [r for r in wanted if r not in known]:
        raise NotFound(
            f"No proposal {', '.join(missing)}. References look like DP094, MP102 or SECMP0041.",
            detail=[{"field": "ref", "message": f"unknown: {', '.join(missing)}"}],
        )
    return [(pid, ref) for pid, ref, _ in found]


def _empty_rows(width: int) -> dict[tuple[str, str], tuple[str, list[bool]]]:
    return {(group, area_key(area)): (area, [False] * width) for group, areas in IMPACT_AREAS.items() for area in areas}


def _ordered(rows: dict[tuple[str, str], tuple[str, list[bool]]]) -> list[MatrixRow]:
    """Seed 004's groups and areas first, in its order; any other area after the known ones of its group."""
    groups = list(IMPACT_GROUPS) + sorted({g for g, _ in rows} - set(IMPACT_GROUPS))
    out: list[MatrixRow] = []
    for group in groups:
        in_group = [(key, value) for (g, key), value in rows.items() if g == group]
        known = [v for k, v in in_group if k in _KNOWN_KEYS.get(group, ())]
        extra = sorted((v for k, v in in_group if k not in _KNOWN_KEYS.get(group, ())), key=lambda v: v[0])
        out += [(group, area, ticks) for area, ticks in known + extra]
    return out


def group_label(group: str) -> str:
    return IMPACT_GROUPS.get(group, group.replace("_", " ").capitalize())


# ---------------------------------------------------------------- the release landscape

Landscape = list[tuple[Release, list[tuple[Proposal, str]]]]

STATUS_COLOURS = {"targeted": "blue", "approved": "green", "implemented": "teal"}


def landscape_status(proposal: Proposal) -> str:
    """The status printed against a modification in the landscape (seed 004): Targeted, Approved, Implemented."""
    return proposal.release_status or rules.release_status(ProposalState(proposal.state))


def status_colour(status: str) -> str:
    """A badge colour for a landscape status ('Approved (31 Oct 18)' is green like 'Approved')."""
    return STATUS_COLOURS.get(status.split(" ", 1)[0].lower(), "grey")


def release_landscape(session: Session) -> Landscape:
    """Every SEC Release in date order, with its modifications and their statuses."""
    stmt = select(Release).order_by(Release.release_date, Release.name).options(selectinload(Release.proposals))
    return [_with_statuses(r) for r in session.scalars(stmt)]


def release_entry(session: Session, name_or_id: str) -> tuple[Release, list[tuple[Proposal, str]]]:
    """One release, by its id or its name (case-insensitive), with its modifications and statuses."""
    stmt = select(Release).options(selectinload(Release.proposals))
    key = name_or_id.strip()
    release_id = as_db_id(key)
    found = session.scalar(stmt.where(Release.id == release_id)) if release_id is not None else None
    found = found or session.scalar(stmt.where(func.lower(Release.name) == key.lower()))
    if found is None:
        names = session.scalars(select(Release.name).order_by(Release.release_date).limit(12)).all()
        known = "; ".join(names) if names else "none yet"
        raise NotFound(
            f"No SEC Release {name_or_id!r}. Give a release id or name (GET /api/v1/releases lists "
            f"them). Known releases: {known}."
        )
    return _with_statuses(found)


def _with_statuses(release: Release) -> tuple[Release, list[tuple[Proposal, str]]]:
    return release, [(p, landscape_status(p)) for p in release.proposals]


# ---------------------------------------------------------------- CSV

CSV_CHUNK_ROWS = 200


def to_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The register as CSV (UTF-8, header first), yielded in chunks; dates in ISO 8601.

    Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) is prefixed with ``'``
    (OWASP, CSV injection): anyone may raise a Draft Proposal, so titles are untrusted.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REGISTER_HEADINGS)
    for n, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(row.get(c.key)) for c in REGISTER_COLUMNS])
        if n % CSV_CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


# ---------------------------------------------------------------- XLSX

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "dd mmm yyyy"
_BOLD = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="EEF2F6")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_CENTRE = Alignment(horizontal="center")


def to_xlsx(rows: Iterable[dict[str, Any]], matrix: tuple[list[str], list[MatrixRow]], landscape: Landscape) -> bytes:
    """One workbook: 'Modification Register', 'Impact Matrix' and 'Release Landscape' (seed 004's three views)."""
    book = Workbook(write_only=True)
    _register_sheet(book.create_sheet("Modification Register"), rows)
    _matrix_sheet(book.create_sheet("Impact Matrix"), *matrix)
    _landscape_sheet(book.create_sheet("Release Landscape"), landscape)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(
    ws: WriteOnlyWorksheet,
    value: Any,
    *,
    font: Font | None = None,
    alignment: Alignment | None = None,
    number_format: str | None = None,
    fill: PatternFill | None = None,
) -> WriteOnlyCell:
    cell = xlsx_cell(ws, value)
    if isinstance(value, date):
        cell.number_format = number_format or DATE_FORMAT
    if font:
        cell.font = font
    if alignment:
        cell.alignment = alignment
    if fill:
        cell.fill = fill
    return cell


def _header(ws: WriteOnlyWorksheet, headings: Sequence[str], widths: Sequence[int]) -> None:
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.append([_cell(ws, h, font=_BOLD, fill=_HEADER_FILL, alignment=_WRAP) for h in headings])


def _register_sheet(ws: WriteOnlyWorksheet, rows: Iterable[dict[str, Any]]) -> None:
    _header(ws, REGISTER_HEADINGS, [c.width for c in REGISTER_COLUMNS])
    count = 0
    for count, row in enumerate(rows, start=1):  # noqa: B007 - the count sizes the autofilter
        ws.append([_cell(ws, row.get(c.key), alignment=_WRAP if c.kind == "long" else _TOP) for c in REGISTER_COLUMNS])
    last = get_column_letter(len(REGISTER_COLUMNS))
    ws.auto_filter.ref = f"A1:{last}{count + 1}"


def _matrix_sheet(ws: WriteOnlyWorksheet, columns: list[str], rows: list[MatrixRow]) -> None:
    _header(ws, ["Area of impact", *columns], [58, *[12] * len(columns)])
    ws.freeze_panes = "B2"
    group = None
    for row_group, area, ticks in rows:
        if row_group != group:
            group = row_group
            ws.append([_cell(ws, group_label(group), font=_BOLD, fill=_HEADER_FILL)])
        ws.append([_cell(ws, area), *[_cell(ws, "X" if t else None, alignment=_CENTRE) for t in ticks]])


LANDSCAPE_HEADINGS = ["Release", "Release date", "Kind", "Expected", "Modification", "Title", "Status"]


def _landscape_sheet(ws: WriteOnlyWorksheet, landscape: Landscape) -> None:
    _header(ws, LANDSCAPE_HEADINGS, [28, 13, 12, 10, 14, 60, 22])
    count = 0
    for release, entries in landscape:
        for proposal, status in entries or [(None, None)]:
            ws.append(
                [
                    _cell(ws, release.name, font=_BOLD),
                    _cell(ws, release.release_date),
                    _cell(ws, release.kind),
                    _cell(ws, "Yes" if release.expected else "No"),
                    _cell(ws, proposal.reference if proposal else None),
                    _cell(ws, proposal.title if proposal else None, alignment=_WRAP),
                    _cell(ws, status),
                ]
            )
            count += 1
    ws.auto_filter.ref = f"A1:{get_column_letter(len(LANDSCAPE_HEADINGS))}{count + 1}"
