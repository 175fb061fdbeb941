"""The second factor at sign-in: a time-based one-time code (TOTP, RFC 6238) from an authenticator app
(docs/ssi-access.md, docs/decisions/0033-second-factor-and-party-administrators.md).

- ``enrolment`` / ``confirm``: a person turns it on: a new secret (shown as an otpauth URI and a QR code), then a code
  from the app proves it was stored. ``disable`` turns it off with a current code; ``reset`` is the Code
  Administrator's, for a lost phone (audited, every portal session of the person ends).
- ``give_code``: the second step of signing in. A code is accepted within one 30-second step either side
  (``valid_window`` 1); a code of the same or an earlier step than the last one accepted is refused as replayed.
  Wrong and replayed codes count in the sign-in throttle (``signin.count_failure``), as wrong passwords do.
- ``session_state``: whether a signed-in browser may be used (OK), must still give its code (CODE) or must enrol
  first because one of the person's roles requires a second factor (ENROL; ``second_factor_required_roles``).
- ``seal`` / ``unseal``: the secret is kept encrypted (Fernet, key derived from the portal's secret key by HKDF),
  so a copy of the database alone does not give anyone's codes.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gbsmart.config import Settings
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Conflict, Forbidden, Invalid, Unauthorised
from gbsmart.models.parties import ApiToken, Person
from gbsmart.models.sessions import WebSession
from gbsmart.parties import sessions, signin
from gbsmart.parties.enums import Role
from gbsmart.parties.service import _require_ca

#: RFC 6238's defaults, which every authenticator app uses
INTERVAL, DIGITS = 30, 6
#: steps either side of now that still count (clock drift between the phone and the server)
VALID_WINDOW = 1
#: how long the password step waits for its code before the browser must sign in again
PENDING_FOR = timedelta(minutes=10)

WRONG_CODE = "That code is not right: type the 6-digit code your authenticator app shows now."
REPLAYED_CODE = "That code was already used: wait for the next code in your authenticator app and type it."


#: how a sealed secret starts: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the portal's secret key
SEALED = "fernet1:"


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"gbsmart second-factor secrets").derive(secret_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, secret: str) -> str:
    """The TOTP secret as the database keeps it: encrypted and authenticated, never in the clear."""
    return SEALED + _fernet(secret_key).encrypt(secret.encode("ascii")).decode("ascii")


def unseal(settings: Settings, stored: str) -> str:
    """The TOTP secret from its sealed form; a Conflict that says what to do if it cannot be opened (the portal's
    secret key changed since enrolment, or the value was not written by gbsmart)."""
    try:
        if not stored.startswith(SEALED):
            raise InvalidToken
        return _fernet(settings.resolved_secret_key()).decrypt(stored[len(SEALED):].encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        raise Conflict("Your second factor cannot be checked: the portal's secret key has changed since you enrolled. "
                       "Ask the Code Administrator to reset your second factor, then enrol again.") from None


class State(Enum):
    OK = "ok"
    CODE = "code"  # the password was right; the second-factor code is still to come
    ENROL = "enrol"  # a role requires a second factor the person has not turned on


def is_enabled(person: Person) -> bool:
    return person.totp_enabled_at is not None and person.totp_secret is not None


def required_roles(settings: Settings, person: Person) -> list[str]:
    """The person's roles that require a second factor (``second_factor_required_roles``)."""
    return sorted(person.roles.intersection(settings.second_factor_required_roles))


def role_names(roles: list[str]) -> str:
    labels = [Role(r).label if r in Role.values() else r for r in roles]
    return " and ".join(labels)


def session_state(settings: Settings, person: Person, web: WebSession) -> State:
    if is_enabled(person) and web.second_factor_at is None:
        return State.CODE
    if not is_enabled(person) and required_roles(settings, person):
        return State.ENROL
    return State.OK


def token_counts(person: Person, token: ApiToken) -> bool:
    """An API token counts as a second factor if it was made while the person's second factor was on."""
    return is_enabled(person) and person.totp_enabled_at is not None and token.created_at >= person.totp_enabled_at


def require_enrolled(settings: Settings, person: Person, what: str) -> None:
    """Refuse ``what`` (an API token, an API call) to a person whose role requires a second factor not yet on."""
    roles = required_roles(settings, person)
    if roles and not is_enabled(person):
        raise Forbidden(f"{person.username} is a {role_names(roles)}, who must turn on the second factor before "
                        f"{what}: sign in to the portal and follow Account security (/account/second-factor).")


# ---------------------------------------------------------------- codes


def _step(now: datetime) -> int:
    return int(now.timestamp()) // INTERVAL


def _normalised(code: str) -> str:
    digits = code.replace(" ", "").replace("-", "").strip()
    if not (len(digits) == DIGITS and digits.isascii() and digits.isdigit()):
        raise Invalid(f"A code is {DIGITS} digits, as your authenticator app shows it.",
                      detail=[{"field": "code", "message": f"type the {DIGITS} digits"}])
    return digits


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (within VALID_WINDOW of now) whose code this is, or None."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
    here = _step(now)
    for step in range(here - VALID_WINDOW, here + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept(ctx: Ctx, person: Person, secret: str, code: str) -> int:
    """The time step of a right, fresh code (remembered against replays); else Unauthorised, wrong or replayed."""
    step = _matching_step(secret, _normalised(code), ctx.clock.now())
    if step is None:
        raise Unauthorised(WRONG_CODE, detail=[{"field": "code", "message": "not the code of now"}])
    if person.totp_last_step is not None and step <= person.totp_last_step:
        raise Unauthorised(REPLAYED_CODE, detail=[{"field": "code", "message": "already used"}])
    person.totp_last_step = step
    return step


def _checked(ctx: Ctx, person: Person, secret: str, code: str, address: str | None) -> None:
    """A right, fresh code, or a refusal counted in the sign-in throttle (the caller commits the count)."""
    signin.refuse_if_locked(ctx, person.username, address)
    try:
        _accept(ctx, person, secret, code)
    except (Unauthorised, Invalid):
        signin.count_failure(ctx, person.username, address)
        raise


def _self(ctx: Ctx, person: Person) -> None:
    if ctx.actor.person_id != person.id:
        raise Forbidden("Only the person themselves turns their second factor on or off; the Code Administrator may "
                        "reset it (`gbsmart users reset-second-factor USERNAME`).")


# ---------------------------------------------------------------- enrolment


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str


def enrolment(ctx: Ctx, person: Person, *, fresh: bool = False) -> Enrolment:
    """The secret to store in an authenticator app (new, or the one waiting for its first code)."""
    _self(ctx, person)
    if is_enabled(person):
        raise Conflict("Your second factor is already on: turn it off first (with a current code) to move it to "
                       "another app.")
    if person.totp_secret is None or fresh:
        person.totp_secret = seal(ctx.settings.resolved_secret_key(), pyotp.random_base32())
        person.totp_last_step = None
        record_change(ctx, "second_factor.enrol", "person", person.id, None, {"username": person.username})
    secret = unseal(ctx.settings, person.totp_secret)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=person.username, issuer_name=ctx.settings.second_factor_issuer)
    qr = segno.make(uri, error="m").svg_inline(scale=4, title="Second factor: scan with your authenticator app")
    return Enrolment(secret, uri, qr)


def confirm(ctx: Ctx, person: Person, code: str, address: str | None, web: WebSession | None = None) -> None:
    """A code from the app turns the second factor on; the browser that gave it counts as having passed it."""
    _self(ctx, person)
    if is_enabled(person):
        raise Conflict("Your second factor is already on.")
    if person.totp_secret is None:
        raise Invalid("Start enrolment first: open Account security (/account/second-factor) to get a secret.",
                      detail=[{"field": "code", "message": "no secret to confirm"}])
    _checked(ctx, person, unseal(ctx.settings, person.totp_secret), code, address)
    person.totp_enabled_at = ctx.clock.now()
    if web is not None:
        web.second_factor_at = ctx.clock.now()
    record_change(ctx, "second_factor.confirm", "person", person.id, {"second_factor": False},
                  {"second_factor": True, "username": person.username})


def disable(ctx: Ctx, person: Person, code: str, address: str | None) -> None:
    """Turn the second factor off with a current code; refused while a role requires it."""
    _self(ctx, person)
    if not is_enabled(person):
        raise Conflict("Your second factor is not on.")
    roles = required_roles(ctx.settings, person)
    if roles:
        raise Forbidden(f"A {role_names(roles)} must keep the second factor on. To move it to another phone, ask "
                        "the Code Administrator to reset it, then enrol again.")
    assert person.totp_secret is not None
    _checked(ctx, person, unseal(ctx.settings, person.totp_secret), code, address)
    _clear(person)
    record_change(ctx, "second_factor.disable", "person", person.id, {"second_factor": True},
                  {"second_factor": False, "username": person.username})


def reset(ctx: Ctx, person: Person) -> int:
    """The Code Administrator clears a person's second factor (a lost phone) and ends their portal sessions; how
    many were ended. A role that requires it sends them to enrol again at their next sign-in."""
    _require_ca(ctx)
    was = is_enabled(person)
    _clear(person)
    ended = sessions.end_all(ctx, person, "second factor reset")
    record_change(ctx, "second_factor.reset", "person", person.id, {"second_factor": was},
                  {"second_factor": False, "username": person.username, "sessions_ended": ended})
    return ended


def _clear(person: Person) -> None:
    person.totp_secret = None
    person.totp_enabled_at = None
    person.totp_last_step = None


# ---------------------------------------------------------------- signing in


def give_code(ctx: Ctx, web: WebSession, code: str, address: str | None) -> None:
    """The second step of signing in: a right, fresh code makes the browser's session usable.

    A refusal still writes (the counted failure, any lock): the caller commits it with the refusal.
    """
    person = web.person
    if not is_enabled(person) or web.second_factor_at is not None:
        return
    if ctx.clock.now() - web.created_at > PENDING_FOR:
        sessions.end(web, ctx.clock.now(), "second factor not given in time")
        raise Unauthorised("Too long since the password was given: sign in again.")
    assert person.totp_secret is not None
    _checked(ctx, person, unseal(ctx.settings, person.totp_secret), code, address)
    signin.forget_failures(ctx, person.username)
    web.second_factor_at = ctx.clock.now()
    record_change(ctx, "sign_in.second_factor", "web_session", web.id, None, {"username": person.username})
