"""The CPL extract exchange at the command line: ``gbsmart cpl-extract`` (issue, list, verify) and
``gbsmart smi apply-extract`` (seed 004: SECAS signs, the DCC verifies and applies).

Here, not in cpl, because ``list`` and ``verify`` read what the SMI applied; the SMI reads the CPL, never the
reverse (docs/decisions/0014-domain-dependencies.md). ``apply_extract_command`` is mounted on ``gbsmart smi``
by smi/cli.py.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, err_console, friendly_errors
from gbsmart.core.errors import AppError
from gbsmart.cpl import extracts
from gbsmart.smi.extract_apply import ApplyReport, apply_extract, extract_history
from gbsmart.smi.service import last_applied_sequence

app = typer.Typer(help="Signed CPL extracts: SECAS signs them on behalf of the SEC Panel (seed 004).",
                  no_args_is_help=True)


@app.command("issue")
def issue(as_: str = typer.Option(..., "--as", help="Who issues it: a Code Administrator's username.")) -> None:
    """Sign the next CPL extract and write it to var/extracts/cpl-extract-<sequence>.json."""
    with friendly_errors(), cli_ctx(as_) as ctx:
        row = extracts.issue_extract(ctx)
    console.print(f"[green]✓[/] CPL extract [bold]{row.sequence}[/] signed by {row.signer}")
    console.print(f"  entries:  {row.entry_count}")
    console.print(f"  removals: {row.removal_count}")
    for r in row.removals:
        minute = escape(r["minute_reference"]) if r.get("minute_reference") else "[yellow]no Panel minute[/]"
        model = escape(f"{r['manufacturer']} {r['model']} HW {r['hardware_version']} FW {r['firmware_version']}")
        console.print(f"    - {model}: {r.get('status') or 'no longer listed'} ({minute})")
    console.print(f"  sha256:   {row.sha256}")
    console.print(f"  file:     {row.file_path}")


@app.command("list")
def list_() -> None:
    """Issued extracts and their application to the SMI, newest first."""
    with friendly_errors(), cli_ctx() as ctx:
        rows = extract_history(ctx.session)
        table = Table(title="CPL extracts")
        for col in ("seq", "issued", "by", "entries", "removals", "applied", "signer (SHA-256)", "suspended",
                    "restored"):
            table.add_column(col, justify="right" if col in ("seq", "entries", "removals") else "left")
        for h in rows:
            i, a = h.issued, h.applied
            fp = h.applied_signer.get("signer_fingerprint")
            table.add_row(str(h.sequence), f"{i.issued_at:%Y-%m-%d %H:%M}" if i else "-", i.issued_by if i else "-",
                          str(i.entry_count) if i else "-", str(i.removal_count) if i else "-",
                          f"{a.applied_at:%Y-%m-%d %H:%M}" if a else "not yet",
                          f"{fp[:23]}…" if fp else "",
                          str(a.suspended) if a else "",
                          str(a.restored) if a else "")
    console.print(table)


@app.command("verify")
def verify(file: Path = typer.Argument(..., help="A signed CPL extract file.")) -> None:
    """Check a file's certificate chain and signature (and its sequence against the SMI) without applying it."""
    with friendly_errors(), cli_ctx() as ctx:
        last = last_applied_sequence(ctx.session)
        v = extracts.verify_extract(file, settings=ctx.settings, at=ctx.clock.now(), last_applied=last)
    console.print(f"[green]✓[/] CPL extract {v.sequence} verifies: signed by {escape(v.signer)} at {v.issued_at}")
    console.print(f"  signer:   serial {v.signer_serial}, SHA-256 {v.signer_fingerprint}", soft_wrap=True)
    console.print(f"  chain:    {' → '.join(v.chain)}")
    console.print(f"  entries:  {len(v.entries)}, removals: {len(v.removals)}")
    console.print(f"  sha256:   {v.sha256}")
    console.print(f"  next to apply (last applied: {last or 'none'})")


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
