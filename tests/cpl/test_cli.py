"""`gbsmart cpl ...` against a real database: list, show, submit (JSON and XLSX), approve, remove, lifecycle, export,
import."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.core.cli_support import set_clock
from gbsmart.core.clock import SystemClock
from gbsmart.cpl.cli import app
from gbsmart.models.cpl import CplEntry, Submission

from .conftest import certs, submission

runner = CliRunner()


@pytest.fixture
def cli_env(cli_env, cast, clock):
    """The shared CLI environment (the cast committed to its database), on the test's clock."""
    set_clock(clock)
    yield cli_env
    set_clock(SystemClock())

def run(*args: str):
    """Run a command; ``.text`` is its output with Rich's line wrapping undone."""
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False, terminal_width=200)
    result.text = " ".join(result.output.split())
    return result


def test_submit_approve_show_remove_and_the_lifecycle(cli_env, session):
    good, bad = cli_env / "good.json", cli_env / "bad.json"
    good.write_text(json.dumps([submission("GSME"), submission("PPMID")]))
    bad.write_text(json.dumps(submission("ESME_SINGLE", certificates=certs("zigbee", "cpa"))))
    r = run("submit", bad, "--as", "maker")
    assert r.exit_code == 1 and "an ESME needs a DLMS certificate (CPL Requirements, SEC F2)" in r.text
    assert "certificate-matrix" in r.text and "The refusal is kept with its reasons" in r.text  # decision 0015
    r = run("submit", good, "--as", "maker")
    assert r.exit_code == 0, r.output
    assert r.text.count("Validated: awaiting SECAS") == 2
    ids = session.scalars(select(Submission.id).where(Submission.status == "validated").order_by(Submission.id)).all()
    assert run("approve", ids[0], "--as", "maker").exit_code == 1
    r = run("approve", ids[0], "--as", "secas")
    assert r.exit_code == 0 and "Active" in r.text, r.output
    entry_id = session.scalar(select(CplEntry.id))
    r = run("list", "--type", "GSME")
    assert r.exit_code == 0 and "DM-GSME" in r.text and "Active" in r.text
    r = run("show", entry_id)
    assert r.exit_code == 0 and "CPA-GSME-1.0.0" in r.text and "approved by SECAS" in r.text
    assert run("show", 999).exit_code == 1
    r = run("remove", entry_id, "--minute", "", "--reason", "x", "--as", "secas")
    assert r.exit_code == 1 and "minute_reference" in r.text
    r = run("remove", entry_id, "--minute", "SECP_77_1402_19 3.5", "--reason", "CPA withdrawn",
            "--effective-on", "2020-04-08", "--grace-until", "2020-07-08", "--as", "secas")
    assert r.exit_code == 0 and "scheduled: Withdrawn from 09 Jul 2020" in r.text, r.output
    r = run("lifecycle", "run")
    assert r.exit_code == 0 and "0 removed" in r.text and "0 notices sent" in r.text
    r = run("submissions")
    assert r.exit_code == 0 and "Approved" in r.text
    r = run("version", "GBCS v2.0", "--end-date", "2020-12-31", "--as", "secas")
    assert r.exit_code == 0 and "GBCS v2.0 end-dated 31 Dec 2020" in r.text
    r = run("lifecycle", "run")
    assert "1 on end-dated versions" in r.text and "GBCS v2.0 is end-dated from 31 Dec 2020" in r.text


def test_export_and_import_with_a_progress_bar(cli_env, cast, session):
    cast.listed("HCALCS")
    out = cli_env / "cpl.xlsx"
    r = run("export", out)
    assert r.exit_code == 0 and "wrote 1 entries" in r.text and out.stat().st_size > 0
    r = run("import", out, "--as", "secas")
    assert r.exit_code == 0 and "imported 0 entries" in r.text and "1 rows already on the CPL" in r.text
    assert "Importing cpl.xlsx" in r.text
    r = run("submit", out, "--as", "maker")  # the New Entry sheet is empty: nothing to submit
    assert r.exit_code == 0


def test_typed_values_print_verbatim_not_as_rich_markup(cli_env, session):
    """Names, models and reasons are printed as typed: '[bold]x[/bold]' stays, ':AB:' is no emoji (issue 9)."""
    odd = submission("GSME", model="[bold]x[/bold] :AB:", release_notes="[red]notes[/red]")
    path = cli_env / "odd.json"
    path.write_text(json.dumps(odd))
    r = run("submit", path, "--as", "maker")
    assert r.exit_code == 0 and "Demo Meters Ltd [bold]x[/bold] :AB:" in r.text, r.output
    sub_id = session.scalar(select(Submission.id))
    r = run("approve", sub_id, "--as", "secas")
    assert r.exit_code == 0 and "[bold]x[/bold] :AB:" in r.text, r.output
    entry_id = session.scalar(select(CplEntry.id))
    for args in (("list",), ("show", entry_id), ("submissions",)):
        r = run(*args)
        assert r.exit_code == 0 and "[bold]x[/bold]" in r.text and ":AB:" in r.text, (args, r.output)
    r = run("remove", entry_id, "--minute", "[i]SECP 80[/i]", "--reason", "[bold]gone[/bold]", "--as", "secas")
    assert r.exit_code == 0 and "([i]SECP 80[/i])" in r.text, r.output
    r = run("show", entry_id)
    assert "[bold]gone[/bold]" in r.text and "[i]SECP 80[/i]" in r.text
    r = run("revoke", "zigbee", "[b]NOPE[/b]", "--reason", "x", "--as", "secas")  # an error quoting the typed value
    assert r.exit_code == 1 and "[b]NOPE[/b]" in r.text, r.output
