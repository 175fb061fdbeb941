"""`gbsmart ssi codes [CODE]` (the codes catalogue, ``core.codes``) and `gbsmart ssi audit ...` (the service audit
trail, ``ssi.audit``): the same answers as /ssi/codes, /ssi/audit and their API."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, fail, friendly_errors

_AS = typer.Option(None, "--as", help="Search as this person (what they may see, as in the portal); default: the "
                                      "system (every User).")


def codes_command(code: str | None = typer.Argument(None, help="One code in full, e.g. E4, I99, quarantined."),
                  kind: str | None = typer.Option(None, help="Only codes of this kind: duis_response, "
                                                             "gateway_refusal, message_state, incident_status, "
                                                             "dcc_alert.")) -> None:
    """The codes gbsmart shows, in plain English: what each means and what to do."""
    from gbsmart.core import codes

    with friendly_errors():
        if kind is not None and kind not in codes.KINDS:
            fail(f"--kind must be one of {', '.join(codes.KINDS)}")
        if code:
            for e in codes.lookup(code, kind):
                console.print(f"[bold]{escape(e.code)}[/] · {escape(e.title)} [dim]({escape(e.kind_label)})[/]")
                console.print(f"  What it means: {escape(e.meaning)}")
                console.print(f"  What to do:    {escape(e.action)}")
            return
        table = Table(title="Codes in plain English (src/gbsmart/core/codes.toml)")
        for col in ("kind", "code", "title", "what it means"):
            table.add_column(col, overflow="fold")
        for e in codes.entries(kind):
            table.add_row(e.kind_label, e.code, e.title, e.meaning)
        console.print(table)
        console.print("[dim]`gbsmart ssi codes CODE` shows one code with what to do.[/]")


def audit_command(
    request_id: str | None = typer.Option(None, "--request-id", help="The whole RequestID, originator:target:counter."),
    device: str | None = typer.Option(None, help="A Device ID."),
    mpxn: str | None = typer.Option(None, help="An MPAN core or MPRN: its devices (through the SMI) and incidents."),
    srv: str | None = typer.Option(None, help="A Service Reference Variant, e.g. 4.1.1."),
    code: str | None = typer.Option(None, help="A DUIS Response Code (E4), an alert code (8F3E, AD1) or an incident "
                                               "status (open)."),
    kind: str | None = typer.Option(None, help="request, response, alert or incident."),
    from_: str | None = typer.Option(None, "--from", help="YYYY-MM-DD or an ISO date-time (default: 31 days ago)."),
    to: str | None = typer.Option(None, "--to", help="YYYY-MM-DD (inclusive) or an ISO date-time."),
    cursor: str | None = typer.Option(None, help="Go on from a page's cursor (printed under a full page)."),
    limit: int = typer.Option(50, min=1, max=500, help="Rows a page."),
    csv_file: Path | None = typer.Option(None, "--csv", help="Write every match to this CSV file (no cap) instead "
                                                             "of a page."),
    as_: str | None = _AS,
) -> None:
    """Search the service audit trail: requests, responses, alerts and incidents, newest first."""
    import csv

    from gbsmart.core.exports import csv_cell
    from gbsmart.ssi import audit

    with friendly_errors(), cli_ctx(as_) as ctx:
        f = audit.make_filters(ctx.clock.now(), request_id=request_id, device=device, mpxn=mpxn, srv=srv, code=code,
                               kind=kind, time_from=audit.parse_time("from", from_),
                               time_to=audit.parse_time("to", to, end=True))
        if csv_file is not None:
            rows = 0
            with csv_file.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out, lineterminator="\r\n")
                writer.writerow(audit.CSV_COLUMNS)
                for row in audit.export_rows(ctx, f):  # keyset batches: constant memory, however many
                    writer.writerow([csv_cell(v) for v in audit.csv_values(row)])
                    rows += 1
            console.print(f"[green]✓[/] {rows:,} rows written to {escape(str(csv_file))}")
            return
        page = audit.search(ctx, f, cursor, limit)
        table = Table(title=f"Service audit trail, from {f.time_from:%d %b %Y %H:%M} UTC")
        for col in ("time", "kind", "reference", "device", "srv", "code", "what became of it"):
            table.add_column(col, overflow="fold")
        for r in page.items:
            table.add_row(f"{r.at:%Y-%m-%d %H:%M:%S}", r.kind.label, r.reference, r.device or "", r.srv or "",
                          f"{r.code} · {r.code_title}" if r.code_title else r.code, r.state_title)
        console.print(table)
        if not page.items:
            console.print("Nothing matches.")
        if page.note:
            console.print(escape(page.note))
        for s in page.summary:
            by_code = ", ".join(f"{c} {t} ({n:,})".replace("  ", " ") for c, t, n in s.codes)
            console.print(f"  {s.kind.label}: {s.count_text} · {escape(by_code)}")
        if page.next_cursor:
            console.print(f"Next page: [bold]--cursor {page.next_cursor}[/]")


def register(app: typer.Typer) -> None:
    """Add the codes catalogue's and the audit trail's commands to ``gbsmart ssi``."""
    app.command("codes")(codes_command)
    app.command("audit")(audit_command)
