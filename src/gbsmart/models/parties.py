"""SEC Parties and other bodies, the people who sign in, their roles and credentials, and DCC User IDs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gbsmart.core.db import Base, UTCDateTime, enum_check
from gbsmart.parties.enums import OrganisationKind, PartyCategory, Role, UserRole


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    short_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    party_category: Mapped[str | None] = mapped_column(String(30), nullable=True)
    source: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    people: Mapped[list[Person]] = relationship(back_populates="organisation")
    dcc_users: Mapped[list[DccUser]] = relationship(back_populates="organisation", order_by="DccUser.eui64")

    __table_args__ = (enum_check("kind", OrganisationKind), enum_check("party_category", PartyCategory))

    @property
    def is_voting_party(self) -> bool:
        return self.kind == OrganisationKind.SEC_PARTY and self.party_category is not None


class Person(Base):
    """Someone who signs in to gbsmart and acts for an organisation."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # the TOTP second factor (parties/second_factor.py): the base32 secret from enrolment, when a code confirmed it
    # (None: not turned on, or enrolment not confirmed yet), and the time step of the last code accepted (replays)
    totp_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)  # sealed: second_factor.seal
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)

    organisation: Mapped[Organisation | None] = relationship(back_populates="people")
    role_rows: Mapped[list[PersonRole]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[str]:
        return {r.role for r in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


class PersonRole(Base):
    __tablename__ = "person_roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(30), nullable=False)

    person: Mapped[Person] = relationship(back_populates="role_rows")

    __table_args__ = (UniqueConstraint("person_id", "role"), enum_check("role", Role))


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="cli")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship()


class DccUser(Base):
    """A DCC User ID (EUI-64) held by an organisation."""

    __tablename__ = "dcc_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), nullable=False)
    eui64: Mapped[str] = mapped_column(String(23), unique=True, nullable=False)

    organisation: Mapped[Organisation] = relationship(back_populates="dcc_users")
    role_rows: Mapped[list[DccUserRole]] = relationship(
        back_populates="dcc_user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> list[str]:
        return sorted(r.role for r in self.role_rows)


class DccUserRole(Base):
    __tablename__ = "dcc_user_roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dcc_user_id: Mapped[int] = mapped_column(ForeignKey("dcc_users.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(5), nullable=False)

    dcc_user: Mapped[DccUser] = relationship(back_populates="role_rows")

    __table_args__ = (UniqueConstraint("dcc_user_id", "role"), enum_check("role", UserRole))
