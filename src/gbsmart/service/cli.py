"""`gbsmart service ...`: incidents from the command line (list by time left to SLA, raise, show, assign, status,
category, note) and the categories in force. The rules are ``service.incidents``'s, as in the API and pages."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, fail, friendly_errors
from gbsmart.service.enums import AssigneeKind, IncidentStatus

app = typer.Typer(help="DCC service management: incidents and their SLAs.", no_args_is_help=True)
incidents_app = typer.Typer(help="Incidents: raise them, work on them, watch their time left to SLA.",
                            no_args_is_help=True)
app.add_typer(incidents_app, name="incidents")

_AS = typer.Option(None, "--as", help="Act as this person (checked as in the portal); default: the system (the "
                                      "DCC's service desk).")


@app.command("categories")
def categories() -> None:
    """The incident categories (Target Resolution Times) and types (their questions) in force."""
    from gbsmart.config import get_settings
    from gbsmart.service.incidents import catalogue

    with friendly_errors():
        cat = catalogue(get_settings())
        table = Table(title=f"Incident categories ({cat.source})")
        for col in ("category", "name", "resolve within", "major"):
            table.add_column(col)
        for c in cat.categories.values():
            table.add_row(str(c.number), c.name, c.target_text, "yes" if c.major else "")
        console.print(table)
        types = Table(title="Incident types")
        for col in ("key", "name", "premises", "questions"):
            types.add_column(col, overflow="fold")
        for t in cat.types.values():
            types.add_row(t.key, t.name, "yes" if t.premises else "",
                          ", ".join(f"{q.key}{'*' if q.required else ''} ({q.kind})" for q in t.questions))
        console.print(types)
        console.print("* required")


@app.command("simulate")
def simulate_(months: int = typer.Option(12, help="This many complete months before the current one (1 to 36)."),
              plan_file: Path | None = typer.Option(None, "--plan", help="A simulation plan (TOML) instead of the "
                                                    "packaged service/simulate.toml.")) -> None:
    """A past year (or --months) of traffic in accelerated time, for the service reports: device requests
    completed by the device simulator's profiles (with the plan's CSP North firmware problem), alerts and power
    outage alerts, and SSI availability. Months already simulated are left as they are."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gbsmart.config import get_settings
    from gbsmart.core.db import make_engine, make_sessionmaker
    from gbsmart.service import performance, simulate

    settings = get_settings()
    with friendly_errors():
        try:
            plan = simulate.load_plan(settings, plan_file)
        except simulate.PlanError as exc:
            fail(str(exc))
        with cli_ctx() as ctx:
            today = ctx.clock.today()
            chosen = simulate.months_before(today, months)
            devices, added = simulate.population(ctx, plan, today)
        engine = make_engine(settings.resolved_database_url())
        try:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console) as bar:
                task = bar.add_task("Simulating", total=len(chosen))

                def step(done: simulate.MonthDone) -> None:
                    bar.update(task, advance=1, description=f"Simulated {done.month:%b %Y}"
                               + (" (already there)" if done.skipped else ""))

                results = asyncio.run(simulate.simulate(make_sessionmaker(engine), settings, plan, devices,
                                                        chosen, on_month=step))
        finally:
            engine.dispose()
        console.print(f"{len(devices)} simulated devices ({added} added to the SMI); plan: {plan.source}")
        table = Table(title="What was written")
        for col in ("month", "requests", "late", "firmware", "firmware late", "alerts", "AD1", "SSI down (min)"):
            table.add_column(col, justify="right")
        for r in results:
            if r.skipped:
                table.add_row(f"{r.month:%Y-%m}", "[dim]already simulated[/]", "", "", "", "", "", "")
            else:
                table.add_row(f"{r.month:%Y-%m}", f"{r.requests:,}", f"{r.late:,}", f"{r.firmware:,}",
                              f"{r.firmware_late:,}", f"{r.alerts:,}", f"{r.ad1:,}", f"{r.ssi_down_minutes:,.0f}")
        console.print(table)
        with cli_ctx() as ctx:
            console.print(_measures_table([performance.month_figures(ctx, m) for m in chosen], "%b",
                                          "Code Performance Measures computed from it (gbsmart service performance)"))
            console.print(performance.causes(ctx, chosen[-1]).summary)


@app.command("probe")
def probe(url: str | None = typer.Option(None, help="What to ask (default: the setting service_ssi_probe_url, the "
                                        "portal's /healthz)."),
          every: float | None = typer.Option(None, help="Seconds between probes (default: service_ssi_probe_seconds)."),
          once: bool = typer.Option(False, help="Probe once, record it, print it and stop."),
          quiet: bool = typer.Option(False, help="Print nothing but errors.")) -> None:
    """Watch the Self-Service Interface's availability and record it (CPM6): each probe extends the span of equal
    results; time with no probe running counts as no data, not down. Runs until stopped (scripts/run starts it)."""
    import asyncio

    from gbsmart.config import get_settings
    from gbsmart.core.clock import SystemClock
    from gbsmart.core.db import make_engine, make_sessionmaker
    from gbsmart.service.availability import Probe

    settings = get_settings()
    target = url or settings.service_ssi_probe_url
    engine = make_engine(settings.resolved_database_url())
    watcher = Probe(make_sessionmaker(engine), SystemClock(), target,
                    interval=every or settings.service_ssi_probe_seconds)

    seen: list[bool] = []

    def show(up: bool) -> None:
        if not quiet and (not seen or seen[-1] != up):
            console.print(f"{target}: {'[green]up[/]' if up else '[bold red]down[/]'}")
        seen[:] = [up]

    try:
        asyncio.run(watcher.run(on_result=show, once=once))
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()


_STYLES = {"target met": "green", "below target": "yellow", "below minimum": "bold red", "no data": "dim"}


def _measures_table(rows: list, month_format: str, title: str) -> Table:
    """Every measure (a row) over the months of ``rows`` (a column each), coloured by standing."""
    from gbsmart.service import performance

    table = Table(title=title)
    table.add_column("measure")
    for row in rows:
        table.add_column(row[0].month.strftime(month_format), justify="right")
    for n, code in enumerate(performance.MEASURES):
        table.add_row(code, *[f"[{_STYLES[r[n].standing]}]{r[n].share_text}[/]" for r in rows])
    return table


@app.command("performance")
def performance_(month: str | None = typer.Option(None, help="YYYY-MM: one month, with what is behind --measure."),
                 months: int = typer.Option(12, help="Without --month: this many months, oldest first."),
                 measure: str | None = typer.Option(None, help="With --month: list the items behind this measure "
                                                    "(CPM1 ... CPM6), missed first."),
                 acting_as: str | None = _AS) -> None:
    """Code Performance Measures computed from the recorded traffic and incidents, against their levels."""
    from gbsmart.service import performance

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        if month is None:
            console.print(_measures_table(performance.history(ctx, months), "%Y-%m",
                                          f"Code Performance Measures, the last {months} month(s)"))
            lv = performance.levels(ctx.settings)
            console.print("levels: " + "; ".join(f"{c} target {lv[c].target:g}%, minimum {lv[c].minimum:g}%"
                                                 for c in performance.MEASURES))
            return
        m = performance.parse_month(month, ctx.clock.today())
        table = Table(title=f"Code Performance Measures, {m:%B %Y}")
        for col in ("measure", "name", "counted", "met", "share", "target", "minimum", "standing"):
            table.add_column(col, overflow="fold")
        for f in performance.month_figures(ctx, m):
            table.add_row(f.level.code, f.level.name, f"{f.counted:,}", f"{f.met:,}", f.share_text,
                          f"{f.level.target:g}%", f"{f.level.minimum:g}%", f"[{_STYLES[f.standing]}]{f.standing}[/]")
        console.print(table)
        if measure:
            figure, found = performance.items(ctx, m, measure)
            items = Table(title=f"{figure.level.code}, {m:%B %Y}: {len(found)} item(s) shown, missed first")
            for col in ("ref", "User", "at", "due", "done", "met", "what"):
                items.add_column(col, overflow="fold")
            for i in found:
                items.add_row(i.ref, i.user_id or "", f"{i.at:%Y-%m-%d %H:%M:%S}",
                              f"{i.due_at:%Y-%m-%d %H:%M:%S}" if i.due_at else "",
                              f"{i.done_at:%Y-%m-%d %H:%M:%S}" if i.done_at else "not yet",
                              "[green]yes[/]" if i.met else "[red]no[/]", i.what)
            console.print(items)


exceptions_app = typer.Typer(help="The Performance Measurement Exception List: events left out of a measure.",
                             no_args_is_help=True)
app.add_typer(exceptions_app, name="exceptions")


@exceptions_app.command("add")
def exception_add(measure: str = typer.Argument(..., help="CPM1 ... CPM5"),
                  ref: str = typer.Argument(..., help="The RequestID, northbound message id or incident reference."),
                  reason: str = typer.Option(..., help="Why it is left out."), acting_as: str | None = _AS) -> None:
    """Leave an event out of a measure (audited)."""
    from gbsmart.service import performance

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        row = performance.add_exception(ctx, measure, ref, reason)
        console.print(f"[green]✓[/] exception {row.id}: {row.ref} left out of {row.measure}")


@exceptions_app.command("list")
def exception_list() -> None:
    """The exception list."""
    from gbsmart.service import performance

    with friendly_errors(), cli_ctx() as ctx:
        rows = performance.exceptions(ctx)
        table = Table(title=f"{len(rows)} exception(s)")
        for col in ("#", "measure", "ref", "reason", "by", "at"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(str(r.id), r.measure, r.ref, r.reason, r.added_by, f"{r.added_at:%Y-%m-%d %H:%M}")
        console.print(table)


@exceptions_app.command("remove")
def exception_remove(exception_id: int, acting_as: str | None = _AS) -> None:
    """Take an event off the exception list (audited)."""
    from gbsmart.service import performance

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        row = performance.remove_exception(ctx, exception_id)
        console.print(f"[green]✓[/] {row.ref} counts towards {row.measure} again")


hubs_app = typer.Typer(help="Communications Hub exceptions and returns.", no_args_is_help=True)
app.add_typer(hubs_app, name="hubs")


@hubs_app.command("exception")
def hub_exception(hub_id: str, category: str = typer.Argument(..., help="One of incidents.toml's [hubs] "
                                                              "exception_categories (quote it)."),
                  region: str | None = typer.Option(None, help="CSP region, when the hub is not in the SMI."),
                  note: str = typer.Option(""), acting_as: str | None = _AS) -> None:
    """Record a Communications Hub installation exception."""
    from gbsmart.service import hubs

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        row = hubs.record_exception(ctx, hub_id, category, csp_region=region, note=note)
        console.print(f"[green]✓[/] exception {row.id}: {row.hub_id} {row.category} ({row.csp_region})")


@hubs_app.command("return")
def hub_return(hub_id: str, reason: str = typer.Option(""), region: str | None = typer.Option(None),
               acting_as: str | None = _AS) -> None:
    """Record a Communications Hub returned to the DCC (its triage is pending)."""
    from gbsmart.service import hubs

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        row = hubs.record_return(ctx, hub_id, reason=reason, csp_region=region)
        console.print(f"[green]✓[/] return {row.id}: {row.hub_id} ({row.csp_region}), awaiting triage")


@hubs_app.command("triage")
def hub_triage(return_id: int, result: str = typer.Argument(..., help="fault_found or no_fault_found"),
               note: str = typer.Option(""), acting_as: str | None = _AS) -> None:
    """Record what the triage of a returned hub found."""
    from gbsmart.service import hubs
    from gbsmart.service.enums import TriageResult

    with friendly_errors():
        try:
            found = TriageResult(result)
        except ValueError:
            raise typer.BadParameter("must be fault_found or no_fault_found", param_hint="RESULT") from None
        with cli_ctx(acting_as) as ctx:
            row = hubs.triage(ctx, return_id, found, note)
            console.print(f"[green]✓[/] return {row.id}: {TriageResult(row.triage).label}")


@hubs_app.command("report")
def hub_report(month: str | None = typer.Option(None, help="YYYY-MM (default: this month)")) -> None:
    """Exceptions by category and CSP region, and returns with their triage, in a month."""
    from gbsmart.service import hubs, performance

    with friendly_errors(), cli_ctx() as ctx:
        m = performance.parse_month(month, ctx.clock.today())
        f = hubs.figures(ctx, *performance.month_bounds(m))
        table = Table(title=f"Communications Hub exceptions, {m:%B %Y}")
        for col in ("exception", *hubs.REGIONS, "unknown", "open now"):
            table.add_column(col)
        for category, by in sorted(f.exceptions.items()):
            table.add_row(category, *[str(by.get(r, 0)) for r in (*hubs.REGIONS, "unknown")],
                          str(f.open_exceptions.get(category, 0)))
        console.print(table)
        share = f"{f.return_share:.1f}% of {f.decommissioned} decommissioned" if f.return_share is not None else \
            "no hub decommissioned in the SMI"
        nff = f"{f.no_fault_found_rate:.1f}%" if f.no_fault_found_rate is not None else "none triaged"
        console.print(f"returns: {f.returns} ({share}); no fault found: {nff}; triage {f.triage}")


@incidents_app.command("list")
def list_(view: str = typer.Option("open", help="open, due_24h (less than 24 hours to breach), breached, all"),
          sort: str = typer.Option("left", help="left (time left to SLA), raised, category"),
          category: int | None = typer.Option(None, help="Only this category."),
          acting_as: str | None = _AS) -> None:
    """Incidents by time left to their SLA."""
    from gbsmart.service import incidents

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        rows = incidents.list_incidents(ctx, view=view, sort=sort, category=category)
        table = Table(title=f"{len(rows)} incident(s): {incidents.VIEWS[view]}")
        for col in ("reference", "cat", "title", "status", "with", "raised", "due", "time left"):
            table.add_column(col, overflow="fold")
        colours = {"red": "bold red", "orange": "yellow", "green": "green", "grey": "dim"}
        for r in rows:
            i = r.incident
            due = f"{r.sla.due_at:%Y-%m-%d %H:%M}" if r.sla.due_at and r.sla.running else ""
            table.add_row(i.reference, str(i.category), i.title, IncidentStatus(i.status).label, i.assignee,
                          f"{i.raised_at:%Y-%m-%d %H:%M}", due, f"[{colours[r.urgency]}]{r.left_text}[/]")
        console.print(table)


@incidents_app.command("aged")
def aged(days: int | None = typer.Option(None, help="Aged after this many days (default: incidents.toml's)."),
         acting_as: str | None = _AS) -> None:
    """Aged incidents by type, with each type's lead and the trend since the previous report (30 days ago)."""
    from gbsmart.service import incidents

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        rows, used, previous = incidents.aged_report(ctx, days=days)
        table = Table(title=f"Aged incidents (not resolved, raised over {used} days ago), against "
                            f"{previous:%Y-%m-%d}")
        for col in ("type", "lead", "aged", "then", "trend", "waiting for the User", "oldest (days)", "by category"):
            table.add_column(col, overflow="fold")
        for r in rows:
            trend = f"[green]{r.trend:+d}[/]" if r.trend < 0 else f"[red]{r.trend:+d}[/]" if r.trend > 0 else "0"
            table.add_row(r.type_name, r.lead, str(r.now), str(r.previous), trend, str(r.waiting_for_user),
                          f"{r.oldest_days:.0f}" if r.oldest_days is not None else "",
                          ", ".join(f"cat {k}: {v}" for k, v in sorted(r.by_category.items())))
        console.print(table)


@incidents_app.command("raise")
def raise_(title: str = typer.Argument(..., help="One line: what is wrong."),
           type_: str = typer.Option(..., "--type", help="An incident type's key (`gbsmart service categories`)."),
           category: int = typer.Option(..., help="1 (most severe) to 5."),
           answer: list[str] = typer.Option([], "--answer", help="KEY=VALUE for the type's questions (repeat)."),
           user_id: str | None = typer.Option(None, "--user-id", help="The DCC User ID affected."),
           csp_region: str | None = typer.Option(None, "--region", help="North, Central or South."),
           description: str = typer.Option("", help="What happened, what was tried."),
           acting_as: str | None = _AS) -> None:
    """Raise an incident (its SLA clock starts now)."""
    from gbsmart.service import incidents
    from gbsmart.service.schemas import IncidentCreate

    with friendly_errors():
        answers = {}
        for pair in answer:
            key, sep, value = pair.partition("=")
            if not sep:
                raise typer.BadParameter(f"{pair!r}: give KEY=VALUE", param_hint="--answer")
            answers[key.strip()] = value.strip()
        data = IncidentCreate.model_validate({"title": title, "type": type_, "category": category,
                                              "answers": answers, "user_id": user_id, "csp_region": csp_region,
                                              "description": description})
        with cli_ctx(acting_as) as ctx:
            incident = incidents.raise_incident(ctx, data)
            r = incidents.row(ctx, incident)
            console.print(f"[green]✓[/] {incident.reference} raised: category {incident.category} "
                          f"({r.category.target_text}), due {r.sla.due_at:%Y-%m-%d %H:%M} UTC")


@incidents_app.command("show")
def show(reference: str, as_json: bool = typer.Option(False, "--json", help="The API's JSON instead."),
         acting_as: str | None = _AS) -> None:
    """An incident, its SLA and its timeline."""
    from gbsmart.service import incidents

    with friendly_errors(), cli_ctx(acting_as) as ctx:
        view = incidents.read(ctx, incidents.get_incident(ctx, reference))
        if as_json:
            typer.echo(json.dumps(view.model_dump(mode="json"), indent=2))
            return
        console.print(f"[bold]{view.reference}[/]: {view.title}")
        console.print(f"{view.status.label} · category {view.category} ({view.category_name}, {view.target}) · "
                      f"with {view.assignee} · {view.sla_left}")
        table = Table(title="Timeline")
        for col in ("when", "what", "who", "change", "note"):
            table.add_column(col, overflow="fold")
        for e in view.events or []:
            table.add_row(f"{e.at:%Y-%m-%d %H:%M}", e.kind, e.actor, f"{e.before or ''} → {e.after}" if e.after
                          else "", e.text)
        console.print(table)


@incidents_app.command("assign")
def assign(reference: str, kind: AssigneeKind = typer.Argument(..., help="dcc, service_provider or user"),
           to: str = typer.Option("", help="Who (a Service Provider's name; blank: the desk or the User)."),
           note: str = typer.Option(""), acting_as: str | None = _AS) -> None:
    """Assign an incident (back to the User: its SLA clock stops until the User answers)."""
    from gbsmart.service import incidents
    from gbsmart.service.schemas import IncidentAssign

    with friendly_errors():
        data = IncidentAssign.model_validate({"kind": kind, "to": to, "note": note})
        with cli_ctx(acting_as) as ctx:
            i = incidents.assign(ctx, reference, data)
            console.print(f"[green]✓[/] {i.reference} now with {i.assignee} ({IncidentStatus(i.status).label})")


@incidents_app.command("status")
def status(reference: str, new: IncidentStatus = typer.Argument(..., help="in_progress, awaiting_user, resolved, "
                                                                          "closed"),
           note: str = typer.Option("", help="Why (a resolution needs one)."), acting_as: str | None = _AS) -> None:
    """Move an incident to another status."""
    from gbsmart.service import incidents
    from gbsmart.service.schemas import IncidentStatusChange

    with friendly_errors():
        data = IncidentStatusChange.model_validate({"status": new, "note": note})
        with cli_ctx(acting_as) as ctx:
            i = incidents.change_status(ctx, reference, data)
            console.print(f"[green]✓[/] {i.reference} is {IncidentStatus(i.status).label.lower()}")


@incidents_app.command("category")
def category_(reference: str, new: int = typer.Argument(..., help="1 (most severe) to 5"),
              reason: str = typer.Option(..., help="Why the severity changed."), acting_as: str | None = _AS) -> None:
    """Change an incident's category (its target changes; the change is kept in the timeline)."""
    from gbsmart.service import incidents
    from gbsmart.service.schemas import IncidentRecategorise

    with friendly_errors():
        data = IncidentRecategorise.model_validate({"category": new, "reason": reason})
        with cli_ctx(acting_as) as ctx:
            i = incidents.recategorise(ctx, reference, data)
            console.print(f"[green]✓[/] {i.reference} is category {i.category}")


@incidents_app.command("note")
def note_(reference: str, text: str, acting_as: str | None = _AS) -> None:
    """Add a note to an incident's timeline."""
    from gbsmart.service import incidents
    from gbsmart.service.schemas import IncidentNote

    with friendly_errors():
        data = IncidentNote.model_validate({"text": text})
        with cli_ctx(acting_as) as ctx:
            i = incidents.add_note(ctx, reference, data)
            console.print(f"[green]✓[/] note added to {i.reference}")
