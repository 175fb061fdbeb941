"""`gbsmart papers ...`: list, show, re-classify, print to PDF, read the RED access log and draft sub-committee
reports, as a named person.

Every command acts as ``--as USER`` and sees exactly what that person sees in the portal: invisible
material does not exist (the command says "No paper ..."), and reading RED material is audited.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors
from gbsmart.papers import access_log, render, reports, service
from gbsmart.papers.enums import AccessChannel, Classification, PaperAction, PaperStatus
from gbsmart.papers.schemas import ReclassifyRequest, ReportRequest
from gbsmart.papers.service import PaperFilters

app = typer.Typer(help="Papers under the Panel Information Policy.", no_args_is_help=True)
AS = typer.Option(..., "--as", help="The username acting (see `gbsmart parties people`).")
STYLE = {"red": "bold white on red", "amber": "bold black on dark_orange", "green": "bold white on green",
         "white": "bold black on white"}


def _tlp(value: str) -> str:
    c = Classification(value)
    return f"[{STYLE[c.value]}] {c.label} [/]"


@app.command("list")
def list_cmd(
    acting_as: str = AS,
    q: str = typer.Option(None, "--search", "-q", help="Words to find."),
    classification: str = typer.Option(None, help="white, green, amber or red"),
    committee: str = typer.Option(None, help='Committee code, e.g. "SSC"'),
    limit: int = typer.Option(service.PAGE_SIZE, "--limit", min=1, max=service.MAX_LIMIT, help="Papers per page."),
    cursor: str = typer.Option(None, "--cursor", help="Continue from the next cursor a page printed."),
) -> None:
    """The papers USER may see, newest first, one page at a time (each page prints the cursor of the next)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        page = service.list_papers(ctx, PaperFilters(q=q, classification=classification, committee=committee),
                                   AccessChannel.CLI, cursor, limit)
        t = Table(title=f"{len(page.items)} papers visible to {escape(acting_as)} on this page")
        for col in ("reference", "title", "classification", "action", "date", "committee", "status", "appendices"):
            t.add_column(col, overflow="fold")
        for v in page.items:
            p = v.paper
            t.add_row(escape(p.reference), escape(p.title), _tlp(p.classification), PaperAction(p.action).label,
                      f"{p.paper_date:%d %b %Y}", escape(p.committee_code or ""), PaperStatus(p.status).label,
                      " ".join(f"{escape(a.letter)} {_tlp(v.effective(a).value)}" for a in v.appendices))
        console.print(t)
        if page.next_cursor:
            console.print(f"next page: [bold]--cursor {page.next_cursor}[/]", soft_wrap=True)
        elif page.items and cursor is not None:
            console.print("[dim](last page)[/]")


@app.command()
def show(reference: str, acting_as: str = AS) -> None:
    """A paper with the appendices USER may see, and its re-classification history."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        v = service.get_view(ctx, reference, AccessChannel.CLI)
        p = v.paper
        # a Panel title is Text, not str: Rich reads a str title as markup with :emoji: codes whatever the console says
        console.print(Panel(
            f"{_tlp(p.classification)}  [bold]{escape(p.title)}[/]\n{PaperAction(p.action).label} · "
            f"{escape(p.author_name)}{', ' + escape(p.author_organisation) if p.author_organisation else ''} · "
            f"{p.paper_date:%d %B %Y} · {PaperStatus(p.status).label}", title=Text(p.reference)))
        console.print(Markdown(p.body))
        for a in v.appendices:
            console.print(Panel(Markdown(a.body), title=Text(f"Appendix {a.letter}: {a.title}"),
                                subtitle=Classification(v.effective(a)).label))
        if v.history:
            t = Table(title="Re-classification history")
            for col in ("when", "by", "what", "from", "to", "reason"):
                t.add_column(col, overflow="fold")
            for r in v.history:
                t.add_row(f"{r.at:%d %b %Y %H:%M}", escape(r.actor_name),
                          f"Appendix {escape(r.appendix_letter)}" if r.appendix_letter else "Paper",
                          _tlp(r.from_classification), _tlp(r.to_classification), escape(r.reason))
            console.print(t)


@app.command()
def reclassify(
    reference: str,
    to: str = typer.Option(..., "--to", help="white, green, amber or red"),
    reason: str = typer.Option("", help="Why (required when lowering)."),
    appendix: str = typer.Option(None, help="Re-classify this appendix instead of the paper."),
    acting_as: str = AS,
) -> None:
    """Re-classify a paper or one of its appendices (author or Code Administrator)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        r = service.reclassify(ctx, reference, ReclassifyRequest(classification=to.lower(), reason=reason,
                                                                 appendix=appendix))
        what = f"{reference} Appendix {r.appendix_letter}" if r.appendix_letter else reference
        console.print(f"[green]✓[/] {escape(what)}: {_tlp(r.from_classification)} → {_tlp(r.to_classification)}")


@app.command("access-log")
def access_log_cmd(
    reference: str,
    acting_as: str = AS,
    limit: int = typer.Option(50, "--limit", min=1, max=access_log.MAX_LIMIT, help="Accesses per page."),
    cursor: str = typer.Option(None, "--cursor", help="Continue from a page's next cursor."),
) -> None:
    """Who was given the paper's RED material, newest first (its author or a Code Administrator)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        log = access_log.read_access_log(ctx, reference, cursor, limit)
        t = Table(title=f"RED access log of {escape(log.paper.reference)}: {len(log.entries)} on this page, "
                        "newest first")
        for col in ("when", "who", "organisation", "what", "how", "request"):
            t.add_column(col, overflow="fold")
        for e in log.entries:
            t.add_row(f"{e.record.at:%d %b %Y %H:%M:%S}", escape(f"{e.name} ({e.record.username})"),
                      escape(e.organisation or ""), escape(e.part), e.channel.label, escape(e.record.request_id or ""))
        console.print(t)
        if log.next_cursor:
            console.print(f"next page: [bold]--cursor {log.next_cursor}[/]", soft_wrap=True)
        elif not log.entries and cursor is None:
            console.print("No one has been given RED material of this paper.")
        else:
            console.print("[dim](last page)[/]")


@app.command("draft-report")
def draft_report(
    period_from: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="First day of the period."),
    period_to: datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="Last day of the period."),
    reference: str = typer.Option(None, help="Paper reference (default SECP_SCR_<end date>)."),
    acting_as: str = AS,
) -> None:
    """Draft a SEC Panel Sub-Committee Report for the period (Code Administrator)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        paper = reports.draft_report(ctx, ReportRequest(period_start=period_from.date(), period_end=period_to.date(),
                                                        reference=reference))
        console.print(f"[green]✓[/] drafted [bold]{escape(paper.reference)}[/] '{escape(paper.title)}' "
                      f"({_tlp(paper.classification)}, draft): edit it in the portal, then issue it.")


@app.command()
def pdf(
    reference: str,
    out: Path = typer.Option(None, "--out", "-o", help="Where to write the PDF (default REFERENCE.pdf)."),
    acting_as: str = AS,
) -> None:
    """Print a paper, as USER may see it, to PDF (headless Chromium)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        v = service.get_view(ctx, reference, AccessChannel.PDF)
        html = render.print_html(v, printed_for=ctx.actor.name, printed_at=ctx.clock.now())
        data = render.html_to_pdf(html, ctx.settings.chromium_path)
        target = out or Path(f"{v.paper.reference}.pdf")
        target.write_bytes(data)
        console.print(f"[green]✓[/] {escape(str(target))} ({len(data):,} bytes, marked {v.marking.label})")
