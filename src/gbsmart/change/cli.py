"""`gbsmart change ...`: raise, list, show, step, vote, tally and release proposals from the command line."""

from __future__ import annotations

from datetime import date

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from gbsmart.change import rules, service
from gbsmart.change.enums import ProposalPath, ProposalState, Route, Vote, VotingCategory
from gbsmart.change.schemas import DraftProposalCreate, ReleaseCreate, StepCreate, VoteCreate
from gbsmart.change.voting import TallyResult, category_label
from gbsmart.core.cli_support import cli_ctx, console, friendly_errors

app = typer.Typer(help="SEC Section D: Draft and Modification Proposals.", no_args_is_help=True)
AS = typer.Option(..., "--as", help="The username acting (see `gbsmart parties people`).")


def _tally_table(result: TallyResult) -> Table:
    t = Table(title="Change Board tally by Party Category")
    for col in ("category", "approve", "reject", "abstain", "return", "collective vote"):
        t.add_column(col, justify="right" if col not in ("category", "collective vote") else "left")
    for cat, c in result.categories.items():
        t.add_row(escape(category_label(cat)), str(c.approve), str(c.reject), str(c.abstain), str(c.return_to_panel),
                  Vote(c.collective).label if c.collective else "—")
    return t


@app.command("raise")
def raise_dp(
    title: str = typer.Option(...),
    problem: str = typer.Option(..., help="The problem statement."),
    on_behalf_of: str = typer.Option(None, help="Organisation (Code Administrator only)."),
    acting_as: str = AS,
) -> None:
    """Raise a Draft Proposal."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        p = service.raise_draft_proposal(ctx, DraftProposalCreate(title=title, problem_statement=problem,
                                                                  proposer_organisation=on_behalf_of))
        console.print(f"[green]✓[/] raised [bold]{p.reference}[/] '{escape(p.title)}' — {ProposalState(p.state).label}")


@app.command("list")
def list_cmd(
    stage: str = typer.Option(None, help="draft, modification, open, closed, or a state"),
    path: str = typer.Option(None),
    release: str = typer.Option(None),
    q: str = typer.Option(None, "--search"),
    limit: int = typer.Option(200),
) -> None:
    """List proposals."""
    with friendly_errors(), cli_ctx() as ctx:
        page = service.list_proposals(ctx.session, service.ProposalFilters(q=q, stage=stage, path=path,
                                                                            release=release), None, limit)
        t = Table(title=f"{len(page.items)} proposals")
        for col in ("reference", "title", "state", "path", "proposer", "release"):
            t.add_column(col, overflow="fold")
        for p in page.items:
            t.add_row(p.reference, escape(p.title), ProposalState(p.state).label,
                      ProposalPath(p.path).label if p.path else "", escape(p.proposer_name),
                      escape(f"{p.release.name} ({p.release_status})") if p.release else "")
        console.print(t)


@app.command()
def show(reference: str) -> None:
    """A proposal, its timeline and the steps allowed from here."""
    with friendly_errors(), cli_ctx() as ctx:
        p = service.get_proposal(ctx.session, reference)
        console.print(Panel(f"[bold]{escape(p.title)}[/]\n{escape(p.proposer_name)} · "
                            f"raised {p.date_raised:%d %b %Y} · "
                            f"{ProposalState(p.state).label}" + (f" · {ProposalPath(p.path).label}" if p.path else ""),
                            title=p.reference + (f" (was {p.dp_reference})" if p.dp_reference not in (None,
                                                                                           p.reference) else "")))
        t = Table(title="Timeline")
        for col in ("#", "date", "step", "to", "by", "reference", "reason"):
            t.add_column(col, overflow="fold")
        for e in p.events:
            t.add_row(str(e.seq), f"{e.decided_on:%d %b %Y}", rules.step_label(e.step), ProposalState(e.to_state).label,
                      escape(e.actor_name), escape(e.reference or ""), escape(e.reason))
        console.print(t)
        steps = service.allowed_steps(ctx, p)
        console.print("Next steps: " + ("; ".join(f"{s['label']} — {s['step']} ({s['actors']})" for s in steps)
                                            or "none"))


@app.command()
def step(
    reference: str,
    step_name: str = typer.Argument(..., metavar="STEP"),
    reason: str = typer.Option("", help="Why, in the decider's words."),
    minute: str = typer.Option(None, "--reference", help="The minute or document that decided it."),
    on: str = typer.Option(None, help="Decision date, YYYY-MM-DD (default today)."),
    path: ProposalPath = typer.Option(None),
    route: Route = typer.Option(None),
    release: str = typer.Option(None),
    mp_reference: str = typer.Option(None),
    acting_as: str = AS,
) -> None:
    """Take a step of the process (see `gbsmart change show REF` for the steps allowed)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        p = service.take_step(ctx, reference, StepCreate(
            step=step_name, reason=reason, reference=minute, decided_on=date.fromisoformat(on) if on else None,
            path=path, route=route, release=release, mp_reference=mp_reference))
        console.print(f"[green]✓[/] {p.reference}: {rules.step_label(step_name)} → "
                      f"[bold]{ProposalState(p.state).label}[/]")


@app.command()
def vote(
    reference: str,
    choice: Vote = typer.Argument(...),
    party: str = typer.Option(None, help="The Party voting (default your own)."),
    acting_as: str = AS,
) -> None:
    """Cast a Party's Change Board vote."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        v = service.cast_vote(ctx, reference, VoteCreate(party=party, vote=choice))
        console.print(f"[green]✓[/] {escape(v.organisation.name)} ({VotingCategory(v.category).label}) votes "
                      f"{Vote(v.vote).label}")


@app.command()
def tally(reference: str) -> None:
    """The current Change Board tally of a proposal, by Party Category."""
    with friendly_errors(), cli_ctx() as ctx:
        p = service.get_proposal(ctx.session, reference)
        result = service.current_tally(ctx, p)
        console.print(_tally_table(result))
        outcome = Vote(result.outcome).label if result.outcome else "none"
        verdict = f"valid: {outcome}" if result.valid else f"not valid (outcome: {outcome})"
        console.print(f"[bold]{verdict}[/]")
        for r in result.reasons:
            console.print(f"  • {escape(r)}")


@app.command("add-release")
def add_release(
    name: str = typer.Argument(..., help="e.g. 'June 2027 Release'"),
    on: str = typer.Option(..., help="The day it goes live, YYYY-MM-DD (today or later)."),
    ad_hoc: bool = typer.Option(False, "--ad-hoc", help="An ad-hoc release rather than a scheduled one."),
    acting_as: str = AS,
) -> None:
    """Add a future SEC Release that modifications can target (Code Administrator)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        r = service.add_release(ctx, ReleaseCreate(name=name, release_date=date.fromisoformat(on),
                                                   kind="ad_hoc" if ad_hoc else "scheduled"))
        console.print(f"[green]✓[/] added SEC Release [bold]{escape(r.name)}[/] on {r.release_date:%d %b %Y}")


@app.command("implement-due")
def implement_due(acting_as: str = AS) -> None:
    """Mark Implemented every approved modification whose SEC Release date has come."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        done = service.implement_due(ctx)
        console.print(f"[green]✓[/] implemented {len(done)}: " + ", ".join(p.reference for p in done))


@app.command()
def process() -> None:
    """Print the modification process: every step, from which states, to which, and who may take it."""
    t = Table(title="SEC Section D as gbsmart runs it")
    for col in ("step", "from", "to", "who", "needs"):
        t.add_column(col, overflow="fold")
    for s in rules.PROCESS:  # the name is what `gbsmart change step` takes
        to = s.to_state.label if s.to_state else ("depends on the outcome" if s.branch else "(stays)")
        t.add_row(s.name, ", ".join(x.label for x in s.from_states), to, rules.describe_actors(s),
                  ", ".join(s.requires))
    console.print(t)
