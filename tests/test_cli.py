"""The `gbsmart` command: db upgrade, demo, token and the change commands, against a real database."""

from __future__ import annotations

from typer.testing import CliRunner

from gbsmart.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_upgrade_demo_token_and_a_proposal_journey(cli_env):
    assert run("db", "upgrade").exit_code == 0
    r = run("demo")
    assert r.exit_code == 0, r.output
    assert "secas" in r.output
    # a second run adds nothing
    again = run("demo")
    assert again.exit_code == 0
    token = run("token", "secas")
    assert token.exit_code == 0 and token.output.strip().startswith("gbs_")
    assert run("token", "nobody").exit_code == 1

    r = run("change", "raise", "--as", "small", "--title", "CLI raised proposal",
            "--problem", "A problem statement long enough to be accepted.")
    assert r.exit_code == 0, r.output
    ref = r.output.split("raised ")[1].split()[0]
    assert run("change", "step", ref, "ready_to_convert", "--as", "csc", "--route", "refinement",
               "--reference", "CSC 12_2502").exit_code == 0
    refused = run("change", "step", ref, "open_change_board", "--as", "secas")
    assert refused.exit_code == 1 and "Steps allowed from here" in refused.output
    forbidden = run("change", "step", ref, "convert", "--as", "small")
    assert forbidden.exit_code == 1 and "403" in forbidden.output
    r = run("change", "show", ref)
    assert r.exit_code == 0
    assert "Next steps: Convert to Modification Proposal — convert (Panel or Code Administrator)" in r.output
    bad = run("change", "raise", "--as", "small", "--title", "x", "--problem", "short")
    assert bad.exit_code == 1 and "title" in bad.output


def test_seed_landscape_is_listed(cli_env):
    assert run("db", "upgrade").exit_code == 0
    assert run("demo").exit_code == 0
    r = run("change", "list", "--stage", "draft")
    assert r.exit_code == 0 and "DP096" in r.output
    r = run("parties", "list")
    assert r.exit_code == 0 and "Large Supplier" in r.output
