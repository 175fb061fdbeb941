"""Printing HTML to PDF with headless Chromium: papers, major incident reports and the Operations Group's report.

The HTML is written to a private temporary directory that is removed afterwards, and printed by
``chromium --headless --print-to-pdf``, with no network or component updates. A missing or failing Chromium is a 503
that says what to do.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

from gbsmart.core.errors import AppError

log = logging.getLogger("gbsmart.pdf")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-pdf-header-footer",
]
PDF_TIMEOUT_SECONDS = 90


def html_to_pdf(html: str, chromium: str, timeout: float = PDF_TIMEOUT_SECONDS) -> bytes:
    """Print ``html`` to PDF with headless Chromium (a 503 when Chromium is missing or fails)."""
    with tempfile.TemporaryDirectory(prefix="gbsmart-pdf-") as tmp:
        src, out = Path(tmp) / "paper.html", Path(tmp) / "paper.pdf"
        src.write_text(html, encoding="utf-8")
        cmd = [chromium, *CHROMIUM_ARGS, f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out}",
               src.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)  # noqa: S603
        except FileNotFoundError as exc:
            raise AppError(f"PDFs are not available here: no Chromium at {chromium}.", status=503) from exc
        except subprocess.TimeoutExpired as exc:
            raise AppError(f"Printing the PDF took longer than {timeout:.0f} s; try again.", status=503) from exc
        if not out.exists() or out.stat().st_size == 0:
            log.error("chromium failed (exit %s): %s", proc.returncode, proc.stderr.decode(errors="replace")[-2000:])
            raise AppError("Chromium could not print this to PDF; the error is in the server log.", status=503)
        return out.read_bytes()
