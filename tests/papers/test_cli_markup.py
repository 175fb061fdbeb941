"""`gbsmart papers` prints what people typed as they typed it: no Rich markup, no :emoji: codes."""

from __future__ import annotations

from typer.testing import CliRunner

from gbsmart.papers.cli import app as papers_cli

TYPED = "[bold]x[/bold] :AB:"


def test_titles_and_names_come_out_verbatim(cli_env, cast, session):
    cast.paper("MARKUP_1", "green", title=f"Paper {TYPED}", author_organisation=f"Org {TYPED}",
               appendices=[{"title": f"Annex {TYPED}", "classification": "green", "body": "Text."}])
    runner = CliRunner()
    listed = runner.invoke(papers_cli, ["list", "--as", "wendy"], catch_exceptions=False, terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert f"Paper {TYPED}" in listed.output
    shown = runner.invoke(papers_cli, ["show", "MARKUP_1", "--as", "wendy"], catch_exceptions=False,
                          terminal_width=200)
    assert shown.exit_code == 0, shown.output
    for text in (f"Paper {TYPED}", f"Org {TYPED}", f"Annex {TYPED}"):
        assert text in shown.output, text
    assert "🆎" not in listed.output + shown.output
