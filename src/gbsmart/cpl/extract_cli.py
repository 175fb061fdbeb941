"""`gbsmart cpl-extract`: issue signed CPL extracts as SECAS, list them, and check a file without applying it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors
from gbsmart.cpl import extracts

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
        rows = extracts.extract_history(ctx.session)
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
    from gbsmart.smi.service import last_applied_sequence

    with friendly_errors(), cli_ctx() as ctx:
        last = last_applied_sequence(ctx.session)
        v = extracts.verify_extract(file, settings=ctx.settings, at=ctx.clock.now(), last_applied=last)
    console.print(f"[green]✓[/] CPL extract {v.sequence} verifies: signed by {escape(v.signer)} at {v.issued_at}")
    console.print(f"  signer:   serial {v.signer_serial}, SHA-256 {v.signer_fingerprint}", soft_wrap=True)
    console.print(f"  chain:    {' → '.join(v.chain)}")
    console.print(f"  entries:  {len(v.entries)}, removals: {len(v.removals)}")
    console.print(f"  sha256:   {v.sha256}")
    console.print(f"  next to apply (last applied: {last or 'none'})")
