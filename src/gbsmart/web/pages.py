"""Sign-in, sign-out and the home page."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.core.security import new_csrf_token, verify_password
from gbsmart.models.parties import Person
from gbsmart.web.csrf import csrf_protect
from gbsmart.web.deps import get_session
from gbsmart.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None):  # noqa: A002, ANN201
    return render(request, "login.html", {"next": _safe_next(next), "error": None, "username": ""})


@router.post("/login", dependencies=[Depends(csrf_protect)])
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),  # noqa: A002
    session: Session = Depends(get_session, scope="function"),
):  # noqa: ANN201
    person = session.scalar(select(Person).where(Person.username == username.strip()))
    if person is None or not person.is_active or not verify_password(person.password_hash, password):
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "Unknown username or wrong password.", "username": username},
            status_code=401,
        )
    request.session.clear()
    request.session["person_id"] = person.id
    request.session["csrf"] = new_csrf_token()
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(csrf_protect)])
def logout(request: Request):  # noqa: ANN201
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
