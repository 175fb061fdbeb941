"""Logging set-up for gbsmart's long-running processes (the gateway and its workers).

While the database is down, every loop that reads or writes it (the journal, the refresh, the northbound cache,
the alerts) fails on each pass. A full traceback each time would bury the one line an operator needs, and at
several a second it fills a pipe or a disk. ``QuietDatabaseOutages`` turns a record whose exception is the
database being unreachable (SQLAlchemy's ``OperationalError``) into one warning line saying so; every other
exception keeps its traceback.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError


class QuietDatabaseOutages(logging.Filter):
    """One line, not a traceback, for "the database is unavailable" (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, OperationalError):
            cause = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
            record.msg = f"{record.getMessage()}: the database is unavailable ({cause[0] if cause else 'no detail'})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure(format_: str) -> None:
    """INFO and above to stderr in ``format_``, database outages in one line each."""
    logging.basicConfig(level=logging.INFO, format=format_)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, QuietDatabaseOutages) for f in handler.filters):
            handler.addFilter(QuietDatabaseOutages())
