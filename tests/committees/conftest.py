"""Committee test fixtures: the app with the committee routers mounted, the demo of seed 001, the people who act."""

from __future__ import annotations

import pytest

import gbsmart.models.committees  # noqa: F401  (registers the tables before Base.metadata.create_all)
from gbsmart.app import create_app
from gbsmart.committees import api as committees_api
from gbsmart.committees import pages as committees_pages
from gbsmart.committees.demo import load_committees_demo
from gbsmart.core.security import hash_password
from gbsmart.demo.loader import DEMO_PASSWORD, load_demo
from gbsmart.models.parties import Person


@pytest.fixture
def app(settings, clock, engine):
    """create_app(), plus the committee routers until the lead mounts them there."""
    application = create_app(settings=settings, clock=clock, engine=engine)
    paths = {getattr(r, "path", "") for r in application.routes}
    if "/api/v1/committees" not in paths:
        application.include_router(committees_api.router, prefix="/api/v1")
    if "/committees" not in paths:
        application.include_router(committees_pages.router)
    return application


@pytest.fixture(scope="session")
def demo_password_hash() -> str:
    return hash_password(DEMO_PASSWORD)


@pytest.fixture
def demo(ctx, session, monkeypatch, demo_password_hash):
    """The main demo (seed papers) and the committees demo (CSC 11_2801 and 12_2502), committed.

    The demo sign-ins share one real argon2 hash of the demo password, computed once per test session
    (hashing it ten times per test is most of the demo's load time).
    """
    monkeypatch.setattr("gbsmart.demo.loader.hash_password",
                        lambda pw: demo_password_hash if pw == DEMO_PASSWORD else hash_password(pw))
    load_demo(ctx)
    load_committees_demo(ctx)
    session.commit()
    return ctx


@pytest.fixture
def tokens(demo, world, session):
    """Bearer headers: the Code Administrator, the CSC's secretary and chair, a CSC member, a Party user."""
    from sqlalchemy import select

    def of(username: str) -> dict[str, str]:
        return world.token(session.scalar(select(Person).where(Person.username == username)))

    return {
        "secas": of("secas"),
        "secretary": of("louise.evans"),
        "chair": of("david.kemp"),
        "member": of("paul.saker"),
        "party": of("large"),
    }
