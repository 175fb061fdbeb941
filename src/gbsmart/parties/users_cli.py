"""`gbsmart users ...`: set a person's password (ending their portal sessions), clear a sign-in lock, reset a lost
second factor."""

from __future__ import annotations

import sys

import typer

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors
from gbsmart.parties import second_factor, signin
from gbsmart.parties.service import person_by_username

app = typer.Typer(help="People's passwords and sign-in locks.", no_args_is_help=True)

ACTING_AS = typer.Option(None, "--as", help="The Code Administrator making the change (default: this machine's CLI).")


def plural(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


@app.command("set-password")
def set_password(
    username: str,
    from_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from one line of stdin."),
    acting_as: str | None = ACTING_AS,
) -> None:
    """Give USERNAME a new password (asked for, never taken from the command line); ends their portal sessions."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        person = person_by_username(ctx.session, username)
        if from_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
        ended = signin.set_password(ctx, person, password)
    console.print(f"[green]✓[/] new password for {username}; ended {plural(ended, 'portal session')}")


@app.command("unlock")
def unlock(
    username: str | None = typer.Argument(None, help="The username whose failed sign-ins to clear."),
    address: str | None = typer.Option(None, "--address", help="Clear a client address's failed sign-ins instead."),
    acting_as: str | None = ACTING_AS,
) -> None:
    """Lift the lock that repeated failed sign-ins put on USERNAME (or on --address ADDRESS)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        cleared = signin.unlock(ctx, username, address)
    console.print(f"[green]✓[/] cleared {plural(cleared, 'failed sign-in')} for {username or address}")


@app.command("reset-second-factor")
def reset_second_factor(username: str, acting_as: str | None = ACTING_AS) -> None:
    """Clear USERNAME's second factor (a lost phone) and end their portal sessions; they enrol again."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        ended = second_factor.reset(ctx, person_by_username(ctx.session, username))
    console.print(f"[green]✓[/] second factor of {username} cleared; ended {plural(ended, 'portal session')}")
