"""Rendering papers: safe Markdown to HTML, the print view, and PDFs printed by headless Chromium.

Markdown goes through markdown-it-py in CommonMark mode with raw HTML off (so a paper cannot carry
script or markup of its own), dangerous link schemes refused by markdown-it's link validation, and images
off (a printed paper must not fetch anything, from the network or the file system).

The print view puts the paper's marking - the strictest classification in what the reader is given - in a
``position: fixed`` header and footer, which Chromium repeats on every printed page (it does not support
``@page`` margin boxes). The PDF is printed from that HTML, written to a private temporary directory that
is removed afterwards, by ``chromium --headless --print-to-pdf``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from gbsmart.core.pdf import CHROMIUM_ARGS, PDF_TIMEOUT_SECONDS, html_to_pdf  # noqa: F401  (re-exported)
from gbsmart.papers.enums import Classification, PaperAction, PaperStatus

if TYPE_CHECKING:
    from gbsmart.papers.service import PaperView

log = logging.getLogger("gbsmart.papers")


_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
).disable("image")

_env = Environment(
    loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=select_autoescape(["html"]),
)


def markdown_html(text: str | None) -> Markup:
    """Markdown as safe HTML (no raw HTML, no images, no javascript: links)."""
    return Markup(_md.render(text or ""))


def print_html(view: PaperView, printed_for: str, printed_at: datetime) -> str:
    """The self-contained print view of a paper as one reader may see it."""
    return _env.get_template("paper_print.html").render(
        v=view, p=view.paper, md=markdown_html, Classification=Classification, PaperAction=PaperAction,
        PaperStatus=PaperStatus, printed_for=printed_for, printed_at=printed_at,
    )


