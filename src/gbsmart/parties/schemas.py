"""API shapes for Parties and people."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gbsmart.core.types import Line
from gbsmart.parties.enums import OrganisationKind, PartyCategory, Role, UserRole

PASSWORD_MIN, PASSWORD_MAX = 10, 200
EUI64 = re.compile(r"^[0-9A-F]{2}(-[0-9A-F]{2}){7}$")


def normalise_eui64(value: str) -> str:
    """'90b3d51f30010000' or '90-B3-D5-1F-30-01-00-00' -> '90-B3-D5-1F-30-01-00-00'."""
    raw = re.sub(r"[^0-9A-Fa-f]", "", value)
    if len(raw) != 16:
        raise ValueError("an EUI-64 has 16 hex digits, e.g. 90-B3-D5-1F-30-01-00-00")
    return "-".join(raw[i : i + 2] for i in range(0, 16, 2)).upper()


class DccUserRead(BaseModel):
    eui64: str
    roles: list[str]


class OrganisationRead(BaseModel):
    id: int
    name: str
    short_name: str | None
    kind: str
    kind_label: str
    party_category: str | None
    party_category_label: str | None
    dcc_users: list[DccUserRead]
    source: str | None


class OrganisationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Line = Field(min_length=2, max_length=200)
    short_name: Line | None = Field(default=None, max_length=50)
    kind: OrganisationKind = OrganisationKind.SEC_PARTY
    party_category: PartyCategory | None = None


class DccUserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    eui64: Line
    roles: list[UserRole] = Field(min_length=1)

    @field_validator("eui64")
    @classmethod
    def _eui64(cls, v: str) -> str:
        return normalise_eui64(v)


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Line = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9_.-]+$")
    full_name: Line = Field(min_length=2, max_length=200)
    email: Line | None = Field(default=None, max_length=200)
    organisation: Line | None = None
    roles: list[Role] = Field(default_factory=lambda: [Role.PARTY_USER])
    password: Line | None = Field(default=None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class PersonRead(BaseModel):
    id: int
    username: str
    full_name: str
    organisation: str | None
    roles: list[str]


class WebSessionRead(BaseModel):
    """A live portal session, for the Code Administrator (the cookie's id is never shown: only its digest is kept)."""

    id: int
    username: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    user_agent: str | None
    client_address: str | None


class SessionsRevoked(BaseModel):
    username: str
    revoked: int


class OrganisationPersonCreate(BaseModel):
    """A person a Party administrator adds to its organisation (parties/people.py)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Line = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9_.-]+$")
    full_name: Line = Field(min_length=2, max_length=200)
    email: Line | None = Field(default=None, max_length=200)
    password: Line = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    roles: list[Line] = Field(default_factory=lambda: [Role.PARTY_USER.value], max_length=4)


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    role: Line = Field(max_length=40)


class OrganisationPersonRead(BaseModel):
    username: str
    full_name: str
    email: str | None
    active: bool
    roles: list[str]
    second_factor: bool
