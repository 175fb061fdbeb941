"""Signing in with a password: the throttle on failed attempts, the same Argon2 work for unknown usernames,
password changes and clearing a lock (docs/decisions/0013-server-side-sessions.md)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, delete, select

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid, Unauthorised
from gbsmart.core.security import hash_password, verify_password
from gbsmart.models.parties import Person
from gbsmart.models.sessions import SignInFailure
from gbsmart.parties import sessions
from gbsmart.parties.errors import TooManySignIns
from gbsmart.parties.rules import locked_for, minutes
from gbsmart.parties.schemas import PASSWORD_MAX, PASSWORD_MIN
from gbsmart.parties.service import _require_ca

WRONG = "Unknown username or wrong password."


def _in_minutes(wait: timedelta) -> str:
    n = minutes(wait)
    return f"{n} minute" if n == 1 else f"{n} minutes"


def _failures_of(kind: str, key: str) -> ColumnElement[bool]:
    """The failed sign-ins of a username (``account``) or of a client address (``address``)."""
    return (SignInFailure.username if kind == "account" else SignInFailure.client_address) == key


class _Counter:
    """Failed sign-ins counted one way (by username or by client address), with its limit and window."""

    def __init__(self, ctx: Ctx, kind: str, key: str, limit: int, window_seconds: int) -> None:
        self.ctx, self.kind, self.key, self.limit = ctx, kind, key, limit
        self.window = timedelta(seconds=window_seconds)
        self.where = _failures_of(kind, key)

    def locked_for(self) -> timedelta | None:
        now = self.ctx.clock.now()
        times = self.ctx.session.scalars(
            select(SignInFailure.at).where(self.where, SignInFailure.at > now - self.window)
            .order_by(SignInFailure.at.desc()).limit(self.limit)).all()
        return locked_for(times, self.limit, self.window, now)

    def message(self, wait: timedelta) -> str:
        if self.kind == "account":
            return (f"Too many failed sign-ins for this account; try again in {_in_minutes(wait)} "
                    "or ask the Code Administrator.")
        return f"Too many failed sign-ins from your address; try again in {_in_minutes(wait)}."

    def audit(self, action: str, username: str, address: str, wait: timedelta) -> None:
        record_change(self.ctx, action, f"sign_in_{self.kind}", self.key, None,
                      {"username": username, "address": address, "limit": self.limit,
                       "window_seconds": int(self.window.total_seconds()),
                       "retry_after_seconds": int(wait.total_seconds())})


def _counters(ctx: Ctx, name: str, address: str) -> list[_Counter]:
    s = ctx.settings
    return [_Counter(ctx, "account", name, s.signin_account_max_failures, s.signin_account_window_seconds),
            _Counter(ctx, "address", address, s.signin_address_max_failures, s.signin_address_window_seconds)]


def refuse_if_locked(ctx: Ctx, username: str, address: str | None) -> None:
    """Raise TooManySignIns (and audit it) while the username or the address is locked by failed sign-ins."""
    name, address = username.strip()[:80], (address or "unknown")[:64]
    for counter in _counters(ctx, name, address):
        wait = counter.locked_for()
        if wait is not None:
            counter.audit("sign_in.throttled", name, address, wait)
            raise TooManySignIns(counter.message(wait), wait)


def count_failure(ctx: Ctx, username: str, address: str | None) -> None:
    """One failed sign-in step (a wrong password or a wrong or replayed second-factor code), locking if it is the
    limit's; the caller commits it with the refusal."""
    name, address = username.strip()[:80], (address or "unknown")[:64]
    counters = _counters(ctx, name, address)
    now = ctx.clock.now()
    oldest = now - max(c.window for c in counters)
    ctx.session.execute(delete(SignInFailure).where(SignInFailure.at <= oldest))
    ctx.session.add(SignInFailure(at=now, username=name, client_address=address))
    ctx.session.flush()
    for counter in counters:
        wait = counter.locked_for()
        if wait is not None:  # this failure reached the limit
            counter.audit("sign_in.locked", name, address, wait)


def forget_failures(ctx: Ctx, username: str) -> None:
    ctx.session.execute(delete(SignInFailure).where(_failures_of("account", username.strip()[:80])))


def sign_in(ctx: Ctx, username: str, password: str, address: str | None) -> Person:
    """The person whose password this is, or a refusal: 401 for a wrong one, 429 while locked.

    A refusal still writes (the failure, the lock, the audit): the caller commits it. The password is only the
    first step when the person has a second factor (``second_factor.session_state``).
    """
    name = username.strip()[:80]
    refuse_if_locked(ctx, name, address)
    person = ctx.session.scalar(select(Person).where(Person.username == name))
    password_ok = verify_password(person.password_hash if person else None, password)  # the same work for anyone
    if person is not None and person.is_active and password_ok:
        forget_failures(ctx, name)
        return person
    count_failure(ctx, name, address)
    raise Unauthorised(WRONG)


def set_password(ctx: Ctx, person: Person, password: str) -> int:
    """Give ``person`` a new password and end all their portal sessions; how many were ended."""
    _require_ca(ctx)
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid(f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
                      detail=[{"field": "password", "message": f"{len(password)} characters"}])
    person.password_hash = hash_password(password)
    ended = sessions.end_all(ctx, person, "password changed")
    record_change(ctx, "person.set_password", "person", person.id, None,
                  {"username": person.username, "sessions_ended": ended})
    return ended


def unlock(ctx: Ctx, username: str | None = None, address: str | None = None) -> int:
    """Forget the failed sign-ins of a username or of a client address, lifting its lock; how many."""
    _require_ca(ctx)
    if (username is None) == (address is None):
        raise Invalid("Name a username or an --address to unlock, not both.")
    kind, key = ("account", username) if username is not None else ("address", address)
    cleared = ctx.session.execute(delete(SignInFailure).where(_failures_of(kind, key))).rowcount
    record_change(ctx, "sign_in.unlock", f"sign_in_{kind}", key, None, {"failures_cleared": cleared})
    return cleared
