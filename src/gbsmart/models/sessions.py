"""Portal sign-in state kept on the server: sessions (the cookie holds only their random id) and failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gbsmart.core.db import Base, UTCDateTime
from gbsmart.models.parties import Person


class WebSession(Base):
    """A signed-in browser; only the SHA-256 digest of the cookie's random id is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True, nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_because: Mapped[str | None] = mapped_column(String(100), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: when this browser gave a right second-factor code; None: the password only (parties/second_factor.py)
    second_factor_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship()


class SignInFailure(Base):
    """One wrong password (or unknown username) at the sign-in form, counted by username and by address."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, nullable=False)
    username: Mapped[str] = mapped_column(String(80), nullable=False)
    client_address: Mapped[str] = mapped_column(String(64), nullable=False)

    __table_args__ = (
        Index("ix_sign_in_failures_username_at", "username", "at"),
        Index("ix_sign_in_failures_address_at", "client_address", "at"),
    )
