"""Request dependencies: the database session, the portal session, the acting person, and the service context."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import session_scope
from gbsmart.core.errors import AppError, Forbidden, Invalid, Unauthorised
from gbsmart.core.security import same, token_digest
from gbsmart.core.types import control_character_problem
from gbsmart.models.parties import ApiToken, Person
from gbsmart.models.sessions import WebSession
from gbsmart.parties import second_factor, sessions
from gbsmart.parties.errors import SecondFactorEnrolment, SecondFactorPending

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def refuse_control_characters(request: Request) -> None:
    """Path and query parameters are one-line text: a control character in one is a 422 naming it (PostgreSQL
    cannot even compare text with NUL in it). Async: pure checks, so no thread-pool hop on every request."""
    params = [("path", k, v) for k, v in request.path_params.items()]
    params += [("query", k, v) for k, v in request.query_params.multi_items()]
    for where, name, value in params:
        problem = control_character_problem(str(value))
        if problem:
            raise Invalid(f"The request is not valid: {where}.{name}: {problem}",
                          detail=[{"field": f"{where}.{name}", "message": problem}])


def get_session(request: Request) -> Iterator[Session]:
    """The request owns the transaction (``core.db.session_scope``): commit on success, roll back on any error."""
    with session_scope(request.app.state.sessionmaker) as session:
        yield session


def _token_from_bearer(request: Request, session: Session) -> ApiToken | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    token = header[7:].strip()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    now = request.app.state.clock.now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorised(
            "The bearer token is unknown, revoked or expired. Create a new one with `gbsmart token USERNAME`."
        )
    return row


def current_web_session(
    request: Request, session: Session = Depends(get_session, scope="function")
) -> WebSession | None:
    """The live server-side session the cookie names (also kept on ``request.state`` for the page templates).

    The cookie holds only the session's random id; a cookie naming an ended session is dropped.
    """
    sid = request.session.get("sid") if "session" in request.scope else None
    row = None
    if sid:
        row = sessions.resolve(session, sid, request.app.state.clock.now(), request.app.state.settings)
        if row is None:
            request.session.clear()
    request.state.web_session = row
    return row


def _signed_in(request: Request, session: Session, web: WebSession | None, *, enrolling: bool) -> Person:
    """The acting person, by bearer token or portal session, once past the second factor their state asks for
    (parties/second_factor.py): a session still owing its code is not signed in; a person whose role requires a
    second factor not yet on may only enrol (``enrolling``). Sets ``request.state.second_factor``."""
    settings = request.app.state.settings
    token = _token_from_bearer(request, session)
    person = token.person if token is not None else None
    if person is None and web is not None:
        person = web.person
        unsafe_api = request.url.path.startswith("/api/") and request.method not in SAFE_METHODS
        # a browser session may change things through the API only with its CSRF token in a header
        if unsafe_api and not same(web.csrf_token, request.headers.get("x-csrf-token")):
            raise Forbidden("Send the X-CSRF-Token header with cookie-authenticated API calls.")
    if person is None:
        raise Unauthorised("Sign in first: send 'Authorization: Bearer <token>' (see `gbsmart token USERNAME`).")
    if not person.is_active:
        raise Forbidden("This account is disabled; ask the Code Administrator to re-enable it.")
    if token is not None:
        second_factor.require_enrolled(settings, person, "an API token works")
        request.state.second_factor = second_factor.token_counts(person, token)
        return person
    assert web is not None
    state = second_factor.session_state(settings, person, web)
    if state is second_factor.State.CODE:
        raise SecondFactorPending()
    if state is second_factor.State.ENROL and not enrolling:
        roles = second_factor.required_roles(settings, person)
        raise SecondFactorEnrolment(
            f"A {second_factor.role_names(roles)} must turn on the second factor before anything else: "
            "open Account security (/account/second-factor) and scan the code with an authenticator app.")
    request.state.second_factor = web.second_factor_at is not None
    return person


def current_person(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    web: WebSession | None = Depends(current_web_session),
) -> Person:
    return _signed_in(request, session, web, enrolling=False)


def enrolling_person(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    web: WebSession | None = Depends(current_web_session),
) -> Person:
    """As ``current_person``, but a person who must still turn on their second factor passes (the enrolment page)."""
    return _signed_in(request, session, web, enrolling=True)


def optional_person(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    web: WebSession | None = Depends(current_web_session),
) -> Person | None:
    try:
        return _signed_in(request, session, web, enrolling=False)
    except AppError:
        return None


def anonymous_ctx(request: Request, session: Session = Depends(get_session, scope="function")) -> Ctx:
    """The service context of a request nobody is signed in to (the sign-in form)."""
    return Ctx(
        session=session,
        actor=Actor(person_id=None, username="anonymous", name="not signed in"),
        clock=request.app.state.clock,
        settings=request.app.state.settings,
        request_id=getattr(request.state, "request_id", None),
    )


def get_ctx(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    person: Person = Depends(current_person),
) -> Ctx:
    return _ctx(request, session, person)


def enrolling_ctx(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    person: Person = Depends(enrolling_person),
) -> Ctx:
    """The context of the second-factor enrolment page, open to a person who must enrol before anything else."""
    return _ctx(request, session, person)


def _ctx(request: Request, session: Session, person: Person) -> Ctx:
    request.state.person = person
    return Ctx(
        session=session,
        actor=Actor.of(person, second_factor=getattr(request.state, "second_factor", False)),
        clock=request.app.state.clock,
        settings=request.app.state.settings,
        request_id=getattr(request.state, "request_id", None),
    )
