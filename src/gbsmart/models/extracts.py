"""Signed CPL extracts as SECAS issued them: one row per extract, numbered in sequence (seed 004, DOMAIN.md 4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from gbsmart.core.db import Base, UTCDateTime


class CplExtract(Base):
    """A signed extract of the CPL: its sequence number, digest, counts, new removals and the signed file itself."""

    __tablename__ = "cpl_extracts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    issued_by: Mapped[str] = mapped_column(String(200), nullable=False)  # the person who issued it
    signer: Mapped[str] = mapped_column(String(200), nullable=False)  # the signing certificate's common name
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)  # of the signed payload bytes
    entry_count: Mapped[int] = mapped_column(Integer, nullable=False)
    removal_count: Mapped[int] = mapped_column(Integer, nullable=False)
    # models newly not Active since the previous extract, each with its Panel minute reference (seed 004)
    removals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    file_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # the signed file exactly as issued: downloads and the next extract's removals are read from here
    document: Mapped[str] = deferred(mapped_column(Text, nullable=False))
