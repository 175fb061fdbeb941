"""The `gbsmart` command's help and hints: every help screen readable, every hinted command real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

import gbsmart
from gbsmart.cli import app

runner = CliRunner()
ROOT = typer.main.get_command(app)
SRC = Path(gbsmart.__file__).parent
# a hint is a command in backticks or <code>: `gbsmart parties people`, <code>gbsmart cpl sign-submission …</code>
HINT = re.compile(r"(?:`|<code>)gbsmart((?: [a-z][a-z0-9-]*)*)")


def _commands(cmd, path: tuple[str, ...] = ()):
    yield path
    if _is_group(cmd):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))


def _is_group(cmd) -> bool:
    return hasattr(cmd, "commands")  # a group (Typer ships its own copy of Click's classes)


def _hints() -> list[tuple[str, str]]:
    found = []
    for f in sorted(SRC.rglob("*")):
        if f.suffix in (".py", ".html"):
            found += [(f"{f.relative_to(SRC)}", m.group(1).strip()) for m in HINT.finditer(f.read_text())]
    return found


@pytest.mark.parametrize("path", list(_commands(ROOT)), ids=lambda p: " ".join(p) or "gbsmart")
def test_no_help_screen_labels_a_flag_bool(path):
    r = runner.invoke(app, [*path, "--help"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "--help" in r.output
    assert "<bool>" not in r.output


def test_every_hinted_command_exists():
    hints = _hints()
    assert len(hints) > 20  # the scan finds the hints it is meant to check
    missing = []
    for where, words in hints:
        cmd = ROOT
        for word in words.split():
            if not _is_group(cmd):
                break  # the rest are a command's arguments
            sub = cmd.commands.get(word)
            if sub is None:
                missing.append(f"{where}: `gbsmart {words}` ({word!r} is not a command)")
                break
            cmd = sub
    assert not missing, "\n".join(missing)
