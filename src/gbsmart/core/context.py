"""Who is acting, on which session, at what time: what every service call receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from gbsmart.config import Settings
from gbsmart.core.clock import Clock

if TYPE_CHECKING:
    from gbsmart.models.parties import Person


@dataclass(frozen=True)
class Actor:
    """The person (or system job) on whose authority a change is made."""

    person_id: int | None
    username: str
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    organisation_id: int | None = None
    #: signed in with a second factor (a web session that gave its code, an API token made after enrolment, or this
    #: machine's CLI): officer-only functions need it (gateway/adt_service.py ``require_officer``)
    second_factor: bool = False

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @classmethod
    def system(cls, name: str = "gbsmart") -> Actor:
        return cls(person_id=None, username=name, name=name, roles=frozenset({"system"}), second_factor=True)

    @classmethod
    def of(cls, person: Person, *, second_factor: bool = False) -> Actor:
        return cls(
            person_id=person.id,
            username=person.username,
            name=person.full_name,
            roles=frozenset(person.roles),
            organisation_id=person.organisation_id,
            second_factor=second_factor,
        )


@dataclass
class Ctx:
    session: Session
    actor: Actor
    clock: Clock
    settings: Settings
    request_id: str | None = None
