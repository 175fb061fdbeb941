"""`gbsmart assessments ...`: User Security Assessments as a named person (``--as``), who sees exactly what the
portal shows them: RED details only for the SSC, SECAS and the assessed User; counts for everyone."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from gbsmart.assessments import api, report, rules, service
from gbsmart.assessments.enums import AssessmentKind
from gbsmart.assessments.schemas import (
    ActionCreate,
    AssessedUserCreate,
    AssessmentCreate,
    DecisionCreate,
    FindingCreate,
    LetterCreate,
    LetterReview,
    PortfolioCreate,
)
from gbsmart.core.cli_support import cli_ctx, console, friendly_errors

app = typer.Typer(help="User Security Assessments, the SSC's decisions and the cycle calendar.", no_args_is_help=True)
AS = typer.Option(..., "--as", help="The username acting (see `gbsmart parties people`).")
DAY = typer.Option(..., formats=["%Y-%m-%d"])


def _d(value: datetime | None) -> date | None:
    return value.date() if value else None


@app.command("list")
def list_cmd(acting_as: str = AS, q: str = typer.Option(None, "--search", "-q"),
             kind: str = typer.Option(None, help="full, verification, self or follow_up"),
             year: int = typer.Option(None, min=2000, max=2100), cursor: str = typer.Option(None)) -> None:
    """The assessments USER may see, newest first."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        f = api._filters(q, kind, year)
        page = service.list_assessments(ctx, f, cursor)
        t = Table(title=f"{len(page.items)} assessments visible to {escape(acting_as)}")
        for col in ("reference", "User", "kind", "cycle/year", "begun", "status", "findings"):
            t.add_column(col, overflow="fold")
        for a in page.items:
            r = api.read(ctx, a)
            t.add_row(r.reference, escape(r.user), r.kind_label, f"{r.cycle_number}/{r.cycle_year}",
                      f"{r.start_date:%d %b %Y}", r.status.label if r.whole else "", str(len(r.findings)))
        console.print(t)
        if page.next_cursor:
            console.print(f"next page: --cursor {page.next_cursor}", soft_wrap=True)


@app.command("show")
def show(reference: str, acting_as: str = AS) -> None:
    """One assessment, as far as USER may see it."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        r = api.read(ctx, service.get_assessment(ctx, reference))
        console.print(f"[bold white on red] RED [/] [bold]{r.reference}[/] {r.kind_label}: {escape(r.user)} "
                      f"(cycle {r.cycle_number}, year {r.cycle_year}, {r.size})")
        if r.whole:
            console.print(f"assessor {escape(r.assessor)}; {r.start_date} to {r.end_date or '…'}; {r.status.label}")
            for d in r.decisions:
                console.print(f"  {d.status_kind.label}: [bold]{d.status.label}[/] ({d.meeting}, {d.decided_on})")
        else:
            console.print("[dim]As the Shared Resource Provider you see only the findings on the Shared Resource.[/]")
        for f in r.findings:
            console.print(f"  {f.number}. {f.severity.label} {escape(f.sec_reference)}: {escape(f.text)} ({f.status})")
        for x in r.actions:
            late = " [red]OVERDUE[/]" if x.overdue else ""
            console.print(f"  - {x.kind.label} due {x.due_date} ({x.status}){late}: {escape(x.text)}")


@app.command("users")
def users(acting_as: str = AS) -> None:
    """The Users under the cycle USER may see, with their size and Shared Resource Provider."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        t = Table(title="Users under the assessment cycle")
        for col in ("User", "type", "User Entry", "size", "domestic", "provider"):
            t.add_column(col)
        for u in service.list_users(ctx):
            row = api._user(u, ctx)
            t.add_row(escape(row["organisation"]), row["user_type"], str(row["user_entry_date"]), row["size"],
                      f"{row['domestic_premises']:,}", escape(row["shared_resource_provider"] or
                                                              ("(is one)" if row["is_shared_resource_provider"]
                                                               else "")))
        console.print(t)


@app.command("calendar")
def calendar(acting_as: str = AS, year: int = typer.Option(None, min=2000, max=2100,
                                                         help="Default: next year.")) -> None:
    """What each User USER may see owes in YEAR, with the totals for every User."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        cal = service.calendar(ctx, year or ctx.clock.today().year + 1)
        t = Table(title=f"Assessment years beginning in {cal.start.year}")
        for col in ("from", "User", "cycle", "year", "owes"):
            t.add_column(col)
        for o in cal.owed:
            t.add_row(str(o.entry.year_start), escape(o.user.organisation.name), str(o.entry.cycle_number),
                      str(o.entry.cycle_year), o.entry.kind.label)
        console.print(t)
        console.print("all Users: " + (", ".join(f"{AssessmentKind(k).short} {n}" for k, n in sorted(
            cal.totals.items())) or "none"))
        r = service.cycle_rules(ctx)
        console.print("[dim]" + "; ".join(rules.describe_row(r, k) for k in rules.ROW_NAMES) + "[/]")


@app.command("overdue")
def overdue(acting_as: str = AS) -> None:
    """Open conditions and remediation actions past their due date."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        rows = service.overdue(ctx)
        t = Table(title=f"{len(rows)} overdue")
        for col in ("due", "assessment", "User", "what"):
            t.add_column(col, overflow="fold")
        for a, x in rows:
            t.add_row(str(x.due_date), a.reference, escape(a.user.organisation.name), escape(x.text))
        console.print(t)


@app.command("counts")
def counts(acting_as: str = AS, period_from: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"]),
           period_to: datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"])) -> None:
    """The SSC's section of the Panel Sub-Committee Report for the period: counts only, for everyone."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        for title, paragraphs in report.subsections(ctx, period_from.date(), period_to.date()):
            console.print(f"[bold]{title}[/]")
            for p in paragraphs:
                console.print(p)


@app.command("export")
def export(acting_as: str = AS, out: Path = typer.Option(..., "--out", help="CSV file to write.")) -> None:
    """The assessments and findings USER may see, as CSV."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        n = 0
        with out.open("w", encoding="utf-8", newline="") as fh:
            for chunk in service.export_csv(ctx, service.Filters()):
                fh.write(chunk)
                n += 1
        console.print(f"[green]✓[/] wrote {n - 1} assessments to {out}")


@app.command("add-user")
def add_user(organisation: str, acting_as: str = AS,
             user_type: str = typer.Option(..., help="supplier, network or other"),
             entry: datetime = typer.Option(..., "--entry", formats=["%Y-%m-%d"], help="User Entry date."),
             domestic: int = typer.Option(..., help="Domestic premises in its own portfolio."),
             non_domestic: int = typer.Option(0), roles: str = typer.Option("", help='e.g. "IS GS"'),
             provider: str = typer.Option(None, help="Its Shared Resource Provider."),
             is_provider: bool = typer.Option(False, "--is-provider")) -> None:
    """Put ORGANISATION under the assessment cycle (SECAS, SSC)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        u = service.register_user(ctx, AssessedUserCreate(
            organisation=organisation, user_type=user_type, user_entry_date=entry.date(), user_roles=roles,
            domestic_premises=domestic, non_domestic_premises=non_domestic, shared_resource_provider=provider,
            is_shared_resource_provider=is_provider))
        console.print(f"[green]✓[/] {escape(u.organisation.name)} is under the cycle from {u.user_entry_date}")


@app.command("portfolio")
def portfolio(organisation: str, acting_as: str = AS,
              as_of: datetime = typer.Option(..., "--as-of", formats=["%Y-%m-%d"]),
              domestic: int = typer.Option(...), non_domestic: int = typer.Option(0)) -> None:
    """Record ORGANISATION's portfolio from a date (a change of size counts from its next cycle)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        service.add_portfolio(ctx, organisation, PortfolioCreate(as_of=as_of.date(), domestic_premises=domestic,
                                                                 non_domestic_premises=non_domestic))
        console.print("[green]✓[/] portfolio recorded")


@app.command("record")
def record(user: str, acting_as: str = AS, kind: str = typer.Option(..., help="full, verification, self, follow_up"),
           start: datetime = typer.Option(..., formats=["%Y-%m-%d"]),
           end: datetime = typer.Option(None, formats=["%Y-%m-%d"]), assessor: str = typer.Option(...),
           follows: str = typer.Option(None), reuses: str = typer.Option(None)) -> None:
    """Record an assessment of USER; its kind must be the one its cycle calls for that year."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        a = service.create_assessment(ctx, AssessmentCreate(
            user=user, kind=kind, start_date=start.date(), end_date=_d(end), assessor=assessor, follows=follows,
            reuses=reuses))
        console.print(f"[green]✓[/] {a.reference}: {service.kind_phrase(a)}, cycle {a.cycle_number} "
                      f"year {a.cycle_year}")


@app.command("finding")
def finding(reference: str, text: str, acting_as: str = AS, severity: str = typer.Option(...),
            sec_reference: str = typer.Option(""), shared: bool = typer.Option(False, "--on-shared-resource")) -> None:
    """Add a finding (non-compliance) to an assessment."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        f = service.add_finding(ctx, reference, FindingCreate(severity=severity, text=text,
                                                              sec_reference=sec_reference, on_shared_resource=shared))
        console.print(f"[green]✓[/] finding {f.number}")


@app.command("action")
def action(reference: str, text: str, acting_as: str = AS, kind: str = typer.Option(..., help="condition or "
                                                                                     "remediation"),
           due: datetime = typer.Option(..., formats=["%Y-%m-%d"]), finding_number: int = typer.Option(
               None, "--finding")) -> None:
    """Add a condition or a remediation action with its due date."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        service.add_action(ctx, reference, ActionCreate(kind=kind, text=text, due_date=due.date(),
                                                        finding=finding_number))
        console.print("[green]✓[/] added")


@app.command("decide")
def decide(reference: str, acting_as: str = AS, meeting: str = typer.Option(..., help="SSC meeting, e.g. 73_2201"),
           item: str = typer.Option(..., "--item", help="Agenda item"), status: str = typer.Option(...)) -> None:
    """Record the status the SSC set for an assessment at a meeting (minuted there)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        d = service.decide(ctx, reference, DecisionCreate(meeting=meeting, agenda_item=item, status=status))
        console.print(f"[green]✓[/] {d.status_kind} {d.status} at {d.meeting_reference}")


@app.command("letter")
def letter(assessment: str, acting_as: str = AS, received: datetime = typer.Option(..., formats=["%Y-%m-%d"]),
           summary: str = typer.Option("")) -> None:
    """Record a Director's Letter following ASSESSMENT."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        x = service.add_letter(ctx, LetterCreate(assessment=assessment, received_on=received.date(), summary=summary))
        console.print(f"[green]✓[/] {x.reference}")


@app.command("review-letter")
def review_letter(reference: str, acting_as: str = AS, meeting: str = typer.Option(...),
                  item: str = typer.Option(..., "--item")) -> None:
    """Record the SSC's review of a Director's Letter at a meeting."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        x = service.review_letter(ctx, reference, LetterReview(meeting=meeting, agenda_item=item))
        console.print(f"[green]✓[/] reviewed at {x.reviewed_meeting}")
