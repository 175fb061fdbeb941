"""Validation errors read as plain sentences at every door: the API's 422 detail, the portal's forms, the CLI."""

from __future__ import annotations

from typer.testing import CliRunner

from gbsmart.cli import app as cli_app

PYDANTIC_WORDING = ("String should have", "Field required", "Input should be")


def test_the_api_says_what_is_wrong_in_plain_words(client, world):
    headers = world.user("alice", "party_user", org=world.org("Tiny Gas Co", category="small_supplier"))
    r = client.post("/api/v1/proposals", headers=headers, json={"title": "x"})
    assert r.status_code == 422
    detail = {d["field"]: (d["message"], d["type"]) for d in r.json()["detail"]}
    assert detail["body.title"] == ("must be at least 5 characters", "string_too_short")
    assert detail["body.problem_statement"] == ("is required", "missing")
    assert not any(w in r.text for w in PYDANTIC_WORDING)


def test_the_cli_says_it_in_the_same_words(cli_env):
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli_app, ["demo"]).exit_code == 0
    r = runner.invoke(cli_app, ["change", "raise", "--as", "small", "--title", "x", "--problem", "short"])
    assert r.exit_code == 1
    assert "title: must be at least 5 characters" in r.output
    assert "problem_statement: must be at least 20 characters" in r.output
    assert not any(w in r.output for w in PYDANTIC_WORDING)
