"""`gbsmart committees ...`: list, minutes, actions (--overdue) and action-update against a real database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gbsmart.committees.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(cli_env, demo):
    """The shared CLI environment, on a database holding the demo (committed by the ``demo`` fixture)."""
    return cli_env

def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False, terminal_width=200)


def test_list_minutes_actions_and_an_update(cli_env):
    r = run("list")
    assert r.exit_code == 0 and "CSC" in r.output and "David Kemp" in r.output and "SMKI PMA" in r.output
    r = run("minutes", "csc", "11_2801")
    assert r.exit_code == 0, r.output
    for line in ("SEC Change Sub-Committee Meeting 11_2801", "Louise Evans (Meeting Secretary)", "ACTION CSC 10/01",
                 "The CSC AGREED this Draft Proposal is ready to be converted", "Next Meeting: 25 February 2020."):
        assert line in r.output, line
    r = run("actions", "--committee", "CSC")
    assert r.exit_code == 0 and "CSC 11/02" in r.output
    r = run("actions", "--overdue")
    assert r.exit_code == 0 and "0 overdue actions" in r.output
    r = run("action-update", "CSC 11/01", "--text", "The DCC sent the list.", "--status", "closed",
            "--meeting", "12_2502", "--as", "paul.saker")
    assert r.exit_code == 1 and "403" in r.output
    r = run("action-update", "CSC-11-01", "--text", "The DCC sent the list.", "--status", "closed",
            "--meeting", "12_2502", "--as", "louise.evans")
    assert r.exit_code == 0 and "status Closed" in r.output
    r = run("actions", "--status", "closed")
    assert "CSC 11/01" in r.output and "CSC 11/02" not in r.output
    assert run("minutes", "CSC", "99_0101").exit_code == 1


TYPED = "[bold]x[/bold] :AB:"


def test_names_and_minuted_text_come_out_verbatim(cli_env, session):
    """What people typed is printed as they typed it: no Rich markup, no :emoji: codes."""
    from sqlalchemy import select

    from gbsmart.models.committees import Committee

    csc = session.scalar(select(Committee).where(Committee.code == "CSC"))
    csc.name = f"Change {TYPED}"
    session.commit()
    r = run("list")
    assert r.exit_code == 0 and f"Change {TYPED}" in r.output, r.output
    r = run("action-update", "CSC-11-01", "--text", f"Sent {TYPED}", "--meeting", "12_2502", "--as", "louise.evans")
    assert r.exit_code == 0, r.output
    r = run("actions", "--committee", "CSC")
    assert f"Sent {TYPED}" in r.output, r.output
    r = run("minutes", "CSC", "11_2801")
    assert f"SEC Change {TYPED} Meeting 11_2801" in r.output, r.output
    assert "🆎" not in r.output
