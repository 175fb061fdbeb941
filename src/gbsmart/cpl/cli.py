"""`gbsmart cpl ...`: list, show, submit, approve, remove, revoke, import/export the workbook, run the lifecycle."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import typer
from pydantic import SecretStr
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gbsmart.core.cli_support import DbIdArgument, cli_ctx, console, err_console, friendly_errors
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.cpl import rules, service, signatures, workbook
from gbsmart.cpl.enums import CertificateKind, EntryStatus, PhysicalDeviceType, SubmissionStatus
from gbsmart.cpl.errors import SubmissionRefused, WorkbookInvalid, WorkbookTooLarge
from gbsmart.cpl.schemas import SubmissionCreate

app = typer.Typer(help="The Central Products List (SEC F2): Device Models, certificates, submissions.",
                  no_args_is_help=True)
lifecycle_app = typer.Typer(help="The CPL lifecycle: CPA expiry notices, expiries, scheduled removals.",
                            no_args_is_help=True)
app.add_typer(lifecycle_app, name="lifecycle")
AS = typer.Option(..., "--as", help="The username acting (see `gbsmart parties people`).")
AS_OPTIONAL = typer.Option(None, "--as", help="The username acting (default: the system, as a scheduled job).")


def _print_refusal(exc: SubmissionRefused | WorkbookInvalid | WorkbookTooLarge) -> None:
    """A refusal rule by rule (typed values printed as they are, never as Rich markup)."""
    err_console.print(f"[bold red]error ({exc.status}):[/] {escape(exc.message)}")
    for d in exc.detail or []:
        where = f"{d['sheet']} row {d['row']}: " if d.get("sheet") else ""
        err_console.print(f"  • {escape(where)}[cyan]{escape(str(d['message']))}[/] [dim]({escape(str(d['rule']))})[/]")
    if isinstance(exc, WorkbookInvalid) and exc.errors_total > len(exc.detail):
        err_console.print(f"  … and {exc.errors_total - len(exc.detail)} more.")


@contextmanager
def _session(username: str | None = None) -> Iterator[Ctx]:
    """A transaction as ``username``; a refused workbook is listed rule by rule, nothing saved."""
    with friendly_errors():
        try:
            with cli_ctx(username) as ctx:
                yield ctx
        except (SubmissionRefused, WorkbookInvalid, WorkbookTooLarge) as exc:
            _print_refusal(exc)
            err_console.print("[dim]Nothing was saved.[/]")
            raise typer.Exit(1) from None


def _report_kept(refusals: list[SubmissionRefused]) -> None:
    """Refused submissions, reported once the command's transaction has kept them (decision 0015): exit 1."""
    if not refusals:
        return
    for exc in refusals:
        _print_refusal(exc)
    err_console.print("[dim]The refusal is kept with its reasons (gbsmart cpl submissions --status refused).[/]")
    raise typer.Exit(1)


@app.command("list")
def list_cmd(
    type_: PhysicalDeviceType = typer.Option(None, "--type", help="Physical Device Type"),
    manufacturer: str = typer.Option(None),
    status: EntryStatus = typer.Option(None),
    q: str = typer.Option(None, "--search"),
    limit: int = typer.Option(200),
) -> None:
    """List CPL entries in Device Model order."""
    with _session() as ctx:
        f = service.EntryFilters(q=q, type=type_.value if type_ else None, manufacturer=manufacturer,
                                 status=status.value if status else None)
        page = service.list_entries(ctx.session, f, None, limit)
        t = Table(title=f"{len(page.items)} CPL entries" + (" (more: raise --limit)" if page.next_cursor else ""))
        for col in ("id", "manufacturer", "model", "hardware", "firmware", "type", "spec", "GBCS", "CPA expiry",
                    "status"):
            t.add_column(col, overflow="fold")
        for e in page.items:
            dm = e.device_model
            t.add_row(str(e.id), *map(escape, (dm.manufacturer, dm.model, dm.hardware_version, dm.firmware_version)),
                      PhysicalDeviceType(dm.physical_device_type).short, e.technical_specification.label,
                      e.gbcs_version.version if e.gbcs_version else "", f"{e.cpa_expiry or ''}", e.status)
        console.print(t)


@app.command()
def show(entry_id: DbIdArgument) -> None:
    """An entry: fields (a)-(h), certificates, notices, removals, flags and timeline."""
    with _session() as ctx:
        e = service.get_entry(ctx.session, entry_id)
        dm, today = e.device_model, ctx.clock.today()
        signer = signatures.signer_of(e.signer_certificates) if e.signer_certificates else None
        console.print(Panel(  # what submitters typed (names, versions, the signer's fingerprint) is not markup
            f"[bold]{escape(dm.manufacturer)} {escape(dm.model)}[/]  HW {escape(dm.hardware_version)} · "
            f"FW {escape(dm.firmware_version)}\n"
            f"{PhysicalDeviceType(dm.physical_device_type).label} · {e.technical_specification.label}"
            + (f" · {e.gbcs_version.label}" if e.gbcs_version else "") + (" · SMETS1" if e.smets1 else "")
            + f"\n{e.status} since {e.status_since:%d %b %Y} · submitted by {escape(e.submitter_name)}"
            + (f"\nManufacturer Image: {escape(e.image_creator or '')} {escape(e.image_hash)}" if e.image_hash
               else "")
            + (f"\nSigned by {escape(signer)}" if signer else "\nSigned (as recorded; no signature held)" if e.signed
               else ""),
            title=f"CPL entry {e.id}"))
        t = Table(title="Assurance Certificates")
        for col in ("kind", "number", "issued", "firmware", "expiry", "conditional", "today"):
            t.add_column(col)
        for c in e.ordered_certificates:
            problem = rules.certificate_problem(service.certificate_facts(c), today)
            t.add_row(CertificateKind(c.kind).label, escape(c.number), f"{c.issued_on or ''}",
                      escape(c.firmware_version or ""),
                      f"{c.expiry_date or ''}", f"{c.conditional_date or ''}" if c.conditional else "",
                      f"[red]{escape(problem)}[/]" if problem else "[green]valid[/]")
        console.print(t)
        for flag in service.entry_flags(e, today):
            console.print(f"[yellow]![/] {escape(flag)}")
        t = Table(title="Timeline")
        for col in ("#", "date", "by", "status", "text", "reference"):
            t.add_column(col, overflow="fold")
        for ev in e.events:
            t.add_row(str(ev.seq), f"{ev.happened_on:%d %b %Y}", escape(ev.actor_name), ev.to_status or "",
                      escape(ev.text), escape(ev.reference or ""))
        console.print(t)


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=False)


def _import(ctx: Ctx, path: Path) -> workbook.ImportResult:
    with _progress() as bar, path.open("rb") as fh:
        task = bar.add_task(f"Importing {path.name}", total=None)
        return workbook.import_workbook(ctx, fh, progress=lambda done, total: bar.update(task, completed=done,
                                                                                           total=total))


@app.command()
def submit(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A JSON submission (or list) or an XLSX "
                                                                       "workbook with a 'New Entry' sheet."),
    acting_as: str = AS,
) -> None:
    """Submit new entries or firmware updates from a JSON file or the workbook's New Entry sheet."""
    refusals: list[SubmissionRefused] = []
    with _session(acting_as) as ctx:
        if path.suffix.lower() == ".xlsx":  # a workbook is all or nothing: a refused row imports nothing
            result = _import(ctx, path)
            ids = result.submission_ids
        else:  # each submission is judged on its own, as the API judges each one; refusals are kept
            raw = json.loads(path.read_text())
            items = [SubmissionCreate.model_validate(item) for item in (raw if isinstance(raw, list) else [raw])]
            ids = []
            for data in items:
                sub = service.submit(ctx, data)
                if refused := service.refusal_to_report(sub):
                    refusals.append(refused)
                else:
                    ids.append(sub.id)
        for i in ids:
            sub = service.get_submission(ctx.session, i)
            signer = signatures.signer_of(sub.signer_certificates)
            signed = f" (signed by {escape(signer)})" if signer else ""
            console.print(f"[green]✓[/] submission [bold]{sub.id}[/] {escape(sub.label)}: "
                          f"{SubmissionStatus(sub.status).label}{signed}")
    _report_kept(refusals)


@app.command("sign-submission")
def sign_submission(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A JSON submission (or a list of them)."),
    key: Path = typer.Option(..., "--key", help="The signing organisation's ECDSA P-256 private key (PEM)."),
    cert: Path = typer.Option(..., "--cert", help="Its certificate (PEM), optionally followed by intermediates."),
    out: Path = typer.Option(None, "-o", "--out", help="Where to write the signed JSON (default FILE.signed.json; "
                                                       "'-' for standard output)."),
    key_password_file: Path = typer.Option(None, exists=True, dir_okay=False,
                                           help="A file holding the key's password, if it is encrypted."),
) -> None:
    """Sign submissions on the submitter's side: writes them with `signature` and `signer_certificates` added.

    The signature covers the submission's canonical content (docs/cpl-extracts.md, "Signed submissions"); submit
    the signed file with `gbsmart cpl submit`, or send it as the body of POST /api/v1/cpl/submissions."""
    with friendly_errors():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise Invalid(f"{path} is not JSON ({exc})") from None
        items = raw if isinstance(raw, list) else [raw]
        if not items or not all(isinstance(i, dict) for i in items):
            raise Invalid(f"{path} holds neither a submission (a JSON object) nor a list of them")
        password = SecretStr(key_password_file.read_text().rstrip("\n")) if key_password_file else None
        private_key, chain = signatures.load_signing_credentials(key, cert, password)
        signed = [signatures.sign_submission(item, private_key, chain) for item in items]
    text = json.dumps(signed if isinstance(raw, list) else signed[0], indent=2, ensure_ascii=False) + "\n"
    if str(out) == "-":
        sys.stdout.write(text)
        return
    target = out or path.with_name(f"{path.stem}.signed.json")
    target.write_text(text, encoding="utf-8")
    signer = signatures.describe_signer(chain[0])
    err_console.print(f"[green]✓[/] signed {len(signed)} submission{'s' if len(signed) != 1 else ''} as "
                      f"[bold]{escape(signer)}[/] → {escape(str(target))}")


@app.command()
def submissions(status: SubmissionStatus = typer.Option(None)) -> None:
    """CPL submissions, newest first."""
    with _session() as ctx:
        t = Table(title="CPL submissions")
        for col in ("id", "device model", "type", "kind", "status", "submitter", "failures"):
            t.add_column(col, overflow="fold")
        for s in service.list_submissions(ctx.session, status.value if status else None):
            t.add_row(str(s.id), escape(s.label), s.physical_device_type, s.kind, SubmissionStatus(s.status).label,
                      escape(s.submitter_name), escape("\n".join(f.message for f in s.failures)))
        console.print(t)


@app.command()
def approve(submission_id: DbIdArgument, acting_as: str = AS) -> None:
    """Approve a validated submission on the Panel's behalf (Code Administrator): the entry is listed Active."""
    with _session(acting_as) as ctx:
        sub = service.approve(ctx, submission_id)
        refused = service.refusal_to_report(sub)  # no longer meets the rules on the day: refused, and kept
        label, entry_id = sub.label, sub.entry_id
    _report_kept([refused] if refused else [])
    console.print(f"[green]✓[/] {escape(label)} is on the CPL: entry [bold]{entry_id}[/], Active")


@app.command()
def remove(
    entry_id: int,
    minute: str = typer.Option(..., help="The Panel minute that decided the removal."),
    reason: str = typer.Option(..., help="Why the entry is removed."),
    effective_on: str = typer.Option(None, help="Removal date, YYYY-MM-DD (default today)."),
    grace_until: str = typer.Option(None, help="End of the grace period, YYYY-MM-DD."),
    status: EntryStatus = typer.Option(EntryStatus.WITHDRAWN),
    acting_as: str = AS,
) -> None:
    """Remove an entry as the Panel decided (Code Administrator)."""
    with _session(acting_as) as ctx:
        r = service.remove_entry(ctx, entry_id, minute, reason,
                                 date.fromisoformat(effective_on) if effective_on else None,
                                 date.fromisoformat(grace_until) if grace_until else None, status=status)
        state = "removed now" if r.applied_at else f"scheduled: {r.to_status} from {r.takes_effect_on:%d %b %Y}"
        console.print(f"[green]✓[/] entry {entry_id} {state} ({escape(r.minute_reference)})")


@app.command()
def revoke(
    kind: CertificateKind,
    number: str,
    reason: str = typer.Option(...),
    on: str = typer.Option(None, help="Revocation date, YYYY-MM-DD (default now)."),
    acting_as: str = AS,
) -> None:
    """Record a certificate's revocation (Code Administrator); its entries then await the Panel's decision."""
    with _session(acting_as) as ctx:
        cert = service.revoke_certificate(ctx, kind.value, number, reason, date.fromisoformat(on) if on else None)
        console.print(f"[green]✓[/] {kind.label} certificate {escape(number)} revoked; entries affected: "
                      + escape(", ".join(e.device_model.label for e in cert.entries) or "none"))


@app.command()
def version(
    label: str = typer.Argument(..., help="e.g. 'GBCS v1.1', 'SMETS2 v4.2', 'CHTS v1.2'"),
    end_date: str = typer.Option(None, help="End date, YYYY-MM-DD (omit to clear it)."),
    acting_as: str = AS,
) -> None:
    """Record a technical specification or GBCS version, or set its end date (Code Administrator)."""
    with _session(acting_as) as ctx:
        v = service.set_version(ctx, label, date.fromisoformat(end_date) if end_date else None)
        console.print(f"[green]✓[/] {escape(v.label)}" + (f" end-dated {v.end_date:%d %b %Y}" if v.end_date else ""))


@app.command("import")
def import_cmd(path: Path = typer.Argument(..., exists=True, dir_okay=False), acting_as: str = AS_OPTIONAL) -> None:
    """Import a CPL workbook; any bad row imports nothing and each bad row is listed."""
    with _session(acting_as) as ctx:
        r = _import(ctx, path)
        console.print(f"[green]✓[/] imported {r.entries} entries, {r.submissions} submissions, {r.versions} versions"
                      + (f"; {r.unchanged} rows already on the CPL" if r.unchanged else ""))


@app.command()
def export(path: Path = typer.Argument(..., dir_okay=False, help="Where to write the .xlsx")) -> None:
    """Export the CPL as the SEC's workbook (CPL, New Entry and Versions sheets)."""
    with _session() as ctx, path.open("wb") as fh:
        n = workbook.write_workbook(ctx.session, fh)
    console.print(f"[green]✓[/] wrote {n} entries to {escape(str(path))}")


@lifecycle_app.command("run")
def lifecycle_run(acting_as: str = AS_OPTIONAL) -> None:
    """Send due 12- and 6-month CPA expiry notices, expire lapsed entries, apply scheduled removals."""
    with _session(acting_as) as ctx:
        r = service.run_lifecycle(ctx)
        console.print(f"CPL lifecycle on {r.ran_on:%d %b %Y}")
        for title, items in (("notices sent", r.notices), ("expired", r.expired), ("removed", r.removed),
                             ("awaiting the Panel's removal decision", r.awaiting_removal),
                             ("on end-dated versions", r.end_dated)):
            console.print(f"[bold]{len(items)} {title}[/]")
            for item in items:
                console.print(f"  • {escape(item)}")


@app.command()
def demo() -> None:
    """Load the demo CPL (running it twice changes nothing)."""
    from gbsmart.cpl.demo import load_cpl_demo

    with _session() as ctx:
        report = load_cpl_demo(ctx)
    for what, (added, kept) in report.counts.items():
        console.print(f"{what}: {added} added, {kept} already there")
