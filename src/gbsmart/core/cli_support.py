"""What every CLI command shares: a console, a database context acting as a named person, error display."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from gbsmart.config import Settings, get_settings
from gbsmart.core.clock import Clock, SystemClock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import make_engine, make_sessionmaker, session_scope
from gbsmart.core.errors import AppError, plain_validation_message
from gbsmart.core.types import MAX_DB_ID

#: a database id as a command argument: out of range is a usage error (exit 2), never a traceback
DbIdArgument = Annotated[int, typer.Argument(min=1, max=MAX_DB_ID)]

# no :emoji: codes: a certificate fingerprint such as "…:52:CD:54…" would print a compact disc instead of ":CD:"
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

_clock: Clock = SystemClock()


def set_clock(clock: Clock) -> None:
    """Tests inject a clock here."""
    global _clock
    _clock = clock


@contextmanager
def cli_ctx(username: str | None = None, settings: Settings | None = None) -> Iterator[Ctx]:
    """A transaction acting as ``username`` (or as the system), committed only if the command succeeds."""
    settings = settings or get_settings()
    engine = make_engine(settings.resolved_database_url())
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            if username:
                from gbsmart.parties.service import person_by_username

                # this machine's CLI holds the database itself: it counts as a second factor (decision 0033)
                actor = Actor.of(person_by_username(session, username), second_factor=True)
            else:
                actor = Actor.system("gbsmart-cli")
            yield Ctx(session=session, actor=actor, clock=_clock, settings=settings)
    finally:
        engine.dispose()


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Show an AppError as one clear line (exit 1, nothing saved) instead of a traceback."""
    try:
        yield
    except ValidationError as exc:
        err_console.print("[bold red]error (422):[/] the input is not valid")
        for e in exc.errors():
            where = escape(".".join(str(x) for x in e["loc"]))
            err_console.print(f"  • [cyan]{where}[/]: {escape(plain_validation_message(e))}")
        err_console.print("[dim]Nothing was saved.[/]")
        sys.exit(1)
    except AppError as exc:
        # a message may quote what was typed ('[bold]x[/bold]'): printed as it is, never as Rich markup
        err_console.print(f"[bold red]error ({exc.status}):[/] {escape(exc.message)}")
        if isinstance(exc.detail, list):
            for d in exc.detail:
                if isinstance(d, dict) and "field" in d:
                    err_console.print(f"  • [cyan]{escape(str(d['field']))}[/]: {escape(str(d.get('message', '')))}")
        err_console.print("[dim]Nothing was saved.[/]")
        sys.exit(1)
