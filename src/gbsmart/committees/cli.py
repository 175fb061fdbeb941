"""`gbsmart committees ...`: list committees, print a meeting's minutes, list actions, record an action update."""

from __future__ import annotations

from datetime import date

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from gbsmart.committees import actions as action_service
from gbsmart.committees import rules, service, views
from gbsmart.committees.enums import ActionStatus, AttendeeRole, DecisionWord, MinutesStatus
from gbsmart.committees.schemas import ActionUpdateCreate
from gbsmart.core.cli_support import cli_ctx, console, friendly_errors

app = typer.Typer(help="The Panel and its sub-committees: meetings, minutes and actions.", no_args_is_help=True)
# a Panel title is Text, not str: Rich reads a str title as markup with :emoji: codes whatever the console says
AS = typer.Option(..., "--as", help="The username acting (see `gbsmart parties people`).")


def _long(d: date) -> str:
    return f"{d.day} {d:%B %Y}" if d else ""


@app.command("list")
def list_cmd() -> None:
    """The committees with their member counts, chair and quorum."""
    with friendly_errors(), cli_ctx() as ctx:
        today = ctx.clock.today()
        t = Table(title="The Panel and its sub-committees")
        for col in ("code", "name", "members", "chair", "secretary", "quorum", "meetings"):
            t.add_column(col, overflow="fold")
        for c in service.list_committees(ctx.session):
            chair, sec = service.chair_of(c, today), service.secretary_of(c, today)
            t.add_row(escape(c.code), escape(c.name), str(service.member_count(c, today)),
                      escape(chair.person.full_name) if chair else "", escape(sec.person.full_name) if sec else "",
                      str(c.quorum), str(len(c.meetings)))
        console.print(t)


@app.command()
def minutes(
    committee: str,
    reference: str,
    acting_as: str = typer.Option(None, "--as", help="Read as this username: the agenda then cites the papers they "
                                                     "may see (none without --as)."),
) -> None:
    """A meeting's minutes as they read: e.g. `gbsmart committees minutes CSC 11_2801`."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        s = ctx.session
        m = service.get_meeting(s, committee, reference)
        papers = views.cited_papers(ctx, m.agenda_items)
        c = m.committee
        when = _long(m.meeting_date) + (f", {m.start_time:%H:%M} – {m.end_time:%H:%M}" if m.start_time and m.end_time
                                        else "")
        q = service.quorum_of(m)
        console.print(Panel(f"{when}\n{escape(m.venue)}\n[bold]{MinutesStatus(m.minutes_status).label}[/] · "
                            f"{escape(q.describe())}", title=Text(f"SEC {c.name} Meeting {m.reference}")))
        members, others = service.attendee_groups(m)
        t = Table(title="Attendees")
        t.add_column("Category / Representing")
        t.add_column("Name")
        for who in [*members, *others]:
            notes = [x for x in ("Meeting Secretary" if who.role == AttendeeRole.MEETING_SECRETARY else "",
                                 "teleconference" if who.teleconference else "") if x]
            t.add_row(escape(who.representing), escape(who.name) + (f" ({', '.join(notes)})" if notes else ""))
        console.print(t)
        if m.apologies:
            console.print("[bold]Apologies:[/] " + "; ".join(f"{escape(ap.name)} ({escape(ap.representing)})"
                                                             for ap in m.apologies))
        outstanding = action_service.outstanding_at(s, m)
        if outstanding:
            console.print("\n[bold]Actions Outstanding[/]")
            for a in outstanding:
                u = action_service.update_at(a, m)
                status = ActionStatus(u.status_after if u else a.status).label
                console.print(f"  [bold]ACTION {escape(a.reference)}[/] {escape(a.text)}"
                              + (f"\n    {escape(u.text)}" if u else "") + f"\n    Status: {status}.")
        for item in m.agenda_items:
            head = f"{item.number}. {item.title}" if item.sub == 0 else item.title
            console.print(f"\n[bold]{escape(head)}[/]" if item.sub == 0 else f"\n  [bold underline]{escape(head)}[/]")
            if item.paper_id in papers:
                cited = papers[item.paper_id]
                console.print(("  " if item.sub else "") + f"Paper: {escape(cited.reference)} {escape(cited.title)}")
            for para in (p for p in item.discussion.replace("\r\n", "\n").split("\n\n") if p.strip()):
                console.print(("  " if item.sub else "") + escape(para.strip()))
            for a in item.actions:
                console.print(f"  [bold]{escape(a.reference)}[/]: {escape(a.text)}")
            for d in item.decisions:
                console.print(f"  The {escape(c.code)} [bold]{DecisionWord(d.word).label}[/] {escape(d.text)}")
        raised = action_service.raised_at(s, m)
        if raised:
            console.print("\n[bold]Actions raised[/]")
            for a in raised:
                console.print(f"  {escape(a.reference)} ({escape(a.owner)}): {escape(a.text)}")
        nxt = service.next_meeting(s, m)
        if nxt:
            console.print(f"\n[bold]Next Meeting: {_long(nxt.meeting_date)}.[/]")


@app.command("actions")
def actions_cmd(
    committee: str = typer.Option(None, help="A committee code, e.g. CSC."),
    status: str = typer.Option(None, help="open or closed."),
    overdue: bool = typer.Option(False, "--overdue", help="Only open actions past their due date."),
) -> None:
    """List actions (all, by committee or status, or only the overdue)."""
    with friendly_errors(), cli_ctx() as ctx:
        today = ctx.clock.today()
        found = (action_service.overdue(ctx, committee) if overdue
                 else action_service.list_actions(ctx.session, committee, status))
        t = Table(title=f"{len(found)} {'overdue ' if overdue else ''}actions")
        for col in ("reference", "owner", "action", "due", "status", "latest update"):
            t.add_column(col, overflow="fold")
        for a in found:
            late = rules.is_overdue(a.status, a.due_date, today)
            t.add_row(escape(a.reference), escape(a.owner), escape(a.text),
                      (f"{a.due_date:%d %b %Y}" if a.due_date else "") + (" [red]OVERDUE[/]" if late else ""),
                      ActionStatus(a.status).label, escape(a.updates[-1].text) if a.updates else "")
        console.print(t)


@app.command("action-update")
def update_cmd(
    reference: str = typer.Argument(..., help="The action, e.g. 'CSC 11/01' or CSC-11-01."),
    text: str = typer.Option(..., "--text", help="The update, as minuted."),
    status: ActionStatus = typer.Option(ActionStatus.OPEN, help="The action's status after the update."),
    meeting: str = typer.Option(None, help="The meeting it was given at, e.g. 12_2502."),
    acting_as: str = AS,
) -> None:
    """Record progress on an action (and close it with --status closed)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        u = action_service.record_update(ctx, reference, ActionUpdateCreate(text=text, status=status, meeting=meeting))
        console.print(f"[green]✓[/] {escape(u.action.reference)}: update recorded; "
                      f"status {ActionStatus(u.status_after).label}")
