"""`gbsmart smi apply-extract FILE`: the DCC applies a signed CPL extract to the SMI (seed 004)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, err_console
from gbsmart.core.errors import AppError
from gbsmart.smi.extract_apply import ApplyReport, apply_extract

app = typer.Typer(help="Smart Metering Inventory: apply signed CPL extracts.", no_args_is_help=True)


@app.callback()
def _smi() -> None:
    """Smart Metering Inventory commands."""


def report_table(report: ApplyReport) -> Table:
    table = Table(title=f"CPL extract {report.sequence} applied to the SMI")
    table.add_column("what")
    table.add_column("", justify="right")
    rows = [
        ("entries (Device Models)", report.entries),
        ("models added", report.models.get("added", 0)),
        ("models updated", report.models.get("updated", 0)),
        ("new removals", len(report.removals)),
        ("devices suspended", report.suspended),
        ("devices restored", report.restored),
        ("DeviceSuspended/DeviceRestored events", report.events),
    ]
    rows += [(f"seconds: {phase}", f"{secs:.3f}") for phase, secs in report.seconds.items()]
    for what, value in rows:
        table.add_row(what, str(value))
    return table


@app.command("apply-extract")
def apply_extract_command(
    file: Path = typer.Argument(..., help="The signed CPL extract file (cpl-extract-<sequence>.json)."),
    as_: str = typer.Option(None, "--as", help="Act as this username (a DCC user); default the system."),
) -> None:
    """Verify a signed CPL extract and apply it to the SMI in one transaction; refused means nothing changed."""
    try:
        with cli_ctx(as_) as ctx:
            report = apply_extract(ctx, file)
    except AppError as exc:
        message = escape(exc.message.rstrip("."))
        err_console.print(f"[bold red]error ({exc.status}):[/] {message}. Nothing was changed.", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(f"[green]✓[/] signed by {escape(report.signer)} (certificate serial {report.signer_serial}, SHA-256 "
                  f"fingerprint {report.signer_fingerprint}); sha256 {report.sha256}", soft_wrap=True)
    console.print(report_table(report))
    for w in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(w)}", soft_wrap=True)
