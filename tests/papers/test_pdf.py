"""Printed papers: headless Chromium puts the marking on every page, and a RED appendix only in a recipient's PDF.

Needs Debian's chromium and poppler-utils (pdftotext, pdfinfo).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from gbsmart.models.papers import RedAccessRecord

pytestmark = pytest.mark.browser

SECRET = "zanzibarite"
PARAGRAPH = ("The DCC presented remediation plans for all CSP regions to the OPSG with a target of March to meet "
             "PM2, and the OPSG asked for monthly updates on alert volumes in each region. ")


def pages_text(pdf: bytes, tmp_path: Path) -> list[str]:
    if not shutil.which("pdftotext") or not shutil.which("pdfinfo"):
        pytest.fail("pdftotext/pdfinfo missing: apt-get install poppler-utils", pytrace=False)
    path = tmp_path / "paper.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    count = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    return [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(path), "-"], capture_output=True,
                           text=True, check=True).stdout for n in range(1, count + 1)]


@pytest.fixture
def long_paper(cast):
    body = "\n\n".join(f"### Section {n}\n\n" + PARAGRAPH * 3 for n in range(1, 25))
    return cast.paper("SECP_90_PRINT", "green", author="rebecca", title="A long sub-committee report",
                      recipients=["rita"], body=body, appendices=[{
                          "title": "User Security Assessments – Identified Non-Compliances", "classification": "red",
                          "body": "\n\n".join(f"Fictional finding {n}: the {SECRET} store." for n in range(40))}])


def test_every_page_carries_the_marking_and_the_red_appendix_only_for_a_recipient(client, cast, long_paper, tmp_path,
                                                                                   session):
    r = client.get("/api/v1/papers/SECP_90_PRINT/pdf", headers=cast.headers["bob"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pages = pages_text(r.content, tmp_path)
    assert len(pages) >= 3
    for n, text in enumerate(pages, start=1):
        assert "GREEN" in text, f"page {n} of {len(pages)} has no marking"
        assert "RED" not in text and SECRET not in text and "Appendix A:" not in text

    r = client.get("/api/v1/papers/SECP_90_PRINT/pdf", headers=cast.headers["rita"])
    pages = pages_text(r.content, tmp_path)
    assert len(pages) >= 4
    assert all("TLP:RED" in text for text in pages)  # the marking is the strictest part she was given
    assert any(SECRET in text for text in pages) and "Printed for Rita" in pages[0].replace("\n", " ")
    session.expire_all()
    assert session.scalars(select(RedAccessRecord.channel).where(RedAccessRecord.username == "rita")).all() == [
        "pdf"]


def test_a_white_paper_prints_white_on_every_page(client, cast, tmp_path):
    cast.paper("PUBLIC_PRINT", "white", body="\n\n".join(PARAGRAPH * 4 for _ in range(30)))
    pages = pages_text(client.get("/api/v1/papers/PUBLIC_PRINT/pdf", headers=cast.headers["guest"]).content,
                       tmp_path)
    assert len(pages) >= 2 and all("WHITE" in text for text in pages)


def test_the_pdf_command_prints_what_the_user_may_see(cast, long_paper, db_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from gbsmart.config import get_settings
    from gbsmart.papers.cli import app

    monkeypatch.setenv("GBSMART_DATABASE_URL", db_url)
    monkeypatch.setenv("GBSMART_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        out = tmp_path / "bob.pdf"
        r = CliRunner().invoke(app, ["pdf", "SECP_90_PRINT", "--as", "bob", "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert all("GREEN" in t and SECRET not in t for t in pages_text(out.read_bytes(), tmp_path))
        assert CliRunner().invoke(app, ["pdf", "SECP_90_PRINT", "--as", "guest", "--out", str(out)]).exit_code == 1
    finally:
        get_settings.cache_clear()
