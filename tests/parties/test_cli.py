"""`gbsmart parties ...` prints what people typed as it is: never as Rich markup."""

from __future__ import annotations

from typer.testing import CliRunner

from gbsmart.cli import app

runner = CliRunner()
MARKUP = "[bold]x[/bold]"


def run(*args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin, catch_exceptions=False)


def test_names_that_look_like_markup_are_printed_as_typed(cli_env, engine, world):
    world.org(f"{MARKUP} Energy", category="large_supplier")
    world.person("secas", "code_administrator", org=world.org("SECAS", kind="secas"))

    listed = run("parties", "list")
    assert listed.exit_code == 0, listed.output
    assert f"{MARKUP} Energy" in listed.output

    added = run("parties", "add-person", "eve", "--name", f"Eve {MARKUP}", "--organisation", f"{MARKUP} Energy",
                "--as", "secas", stdin="a long enough password\na long enough password\n")
    assert added.exit_code == 0, added.output
    assert f"added eve (Eve {MARKUP})" in added.output

    people = run("parties", "people")
    assert people.exit_code == 0, people.output
    eve = next(line for line in people.output.splitlines() if "│ eve " in line)
    assert f"Eve {MARKUP}" in eve and f"{MARKUP} Energy" in eve
