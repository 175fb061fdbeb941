"""Shared fixtures: a fresh database per test (SQLite, and PostgreSQL where marked), a clock, a service context."""

from __future__ import annotations

import os
from datetime import UTC, datetime

# cheap Argon2 for the suite and the CLI and server processes it starts (gbsmart.core.security.INSECURE_TEST_HASHES)
os.environ["GBSMART_INSECURE_TEST_PASSWORD_HASHES"] = "1"

import pytest
from sqlalchemy.orm import Session

from gbsmart.config import Settings
from gbsmart.core.clock import FixedClock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker

#: the portal secret key of every test Settings (it also seals the test officers' second-factor secrets)
TEST_SECRET_KEY = "test-secret-key-not-for-production"

pytest_plugins = ["tests.plugins.databases", "tests.plugins.browser", "tests.plugins.nats", "tests.plugins.axe"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2020, 1, 28, 10, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def _plain_http_session_cookie(monkeypatch) -> None:
    """Tests talk plain http (TestClient's http://testserver, Chromium on http://127.0.0.1), as scripts/run does,
    so the session cookie must not be Secure (docs/decisions/0013-server-side-sessions.md)."""
    monkeypatch.setenv("GBSMART_SESSION_COOKIE_SECURE", "false")


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, secret_key=TEST_SECRET_KEY)


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    factory = make_sessionmaker(engine)
    s: Session = factory()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def ctx(session, clock, settings) -> Ctx:
    return Ctx(session=session, actor=Actor.system("test"), clock=clock, settings=settings)


# ---------------------------------------------------------------- API harness

from datetime import timedelta  # noqa: E402

from fastapi.testclient import TestClient  # noqa: E402

from gbsmart.app import create_app  # noqa: E402
from gbsmart.core.security import hash_password, new_token, token_digest  # noqa: E402
from gbsmart.models.parties import ApiToken, Organisation, Person, PersonRole  # noqa: E402

TEST_PASSWORD = "correct horse battery staple"


#: the roles whose holders must have a second factor by default (Settings.second_factor_required_roles)
SECOND_FACTOR_ROLES = {"senior_responsible_officer", "authorised_responsible_officer"}
#: the TOTP secret World gives them; ``totp_code`` computes a code with pyotp, as their app would
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(clock, secret: str = TEST_TOTP_SECRET, steps: int = 0) -> str:
    """The code an authenticator app shows at ``clock``'s time (``steps`` 30-second steps later)."""
    import pyotp

    return pyotp.TOTP(secret).at(clock.now() + timedelta(seconds=30 * steps))


class World:
    """Builds organisations, people and tokens straight into the test database."""

    def __init__(self, session, clock) -> None:
        self.session, self.clock = session, clock

    def org(self, name: str, kind: str = "sec_party", category: str | None = None) -> Organisation:
        from sqlalchemy import select

        found = self.session.scalar(select(Organisation).where(Organisation.name == name))
        if found:
            return found
        o = Organisation(name=name, kind=kind, party_category=category, created_at=self.clock.now())
        self.session.add(o)
        self.session.commit()
        return o

    def person(self, username: str, *roles: str, org: Organisation | None = None) -> Person:
        p = Person(username=username, full_name=username.title(), organisation_id=org.id if org else None,
                   password_hash=hash_password(TEST_PASSWORD), created_at=self.clock.now(),
                   role_rows=[PersonRole(role=r) for r in roles])
        if set(roles) & SECOND_FACTOR_ROLES:  # officers must have a second factor (issue 15): a known secret
            from gbsmart.parties.second_factor import seal

            p.totp_secret, p.totp_enabled_at = seal(TEST_SECRET_KEY, TEST_TOTP_SECRET), self.clock.now()
        self.session.add(p)
        self.session.commit()
        return p

    def token(self, person: Person) -> dict[str, str]:
        raw = new_token()
        self.session.add(ApiToken(person_id=person.id, token_hash=token_digest(raw), name="test",
                                  created_at=self.clock.now(), expires_at=self.clock.now() + timedelta(days=1)))
        self.session.commit()
        return {"Authorization": f"Bearer {raw}"}

    def user(self, username: str, *roles: str, org: Organisation | None = None) -> dict[str, str]:
        return self.token(self.person(username, *roles, org=org))


@pytest.fixture
def world(session, clock) -> World:
    return World(session, clock)


@pytest.fixture
def app(settings, clock, engine):
    return create_app(settings=settings, clock=clock, engine=engine)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


# ---------------------------------------------------------------- CLI harness


@pytest.fixture
def cli_env(tmp_path, db_url, monkeypatch):
    """The `gbsmart` command pointed at the test's database and a data directory in tmp_path, with Rich
    consoles wide enough that tables do not fold cells. Yields the directory."""
    from gbsmart.config import get_settings
    from gbsmart.core.cli_support import console, err_console

    monkeypatch.setenv("GBSMART_DATABASE_URL", db_url)
    monkeypatch.setenv("GBSMART_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setattr(console, "_width", 220)
    monkeypatch.setattr(err_console, "_width", 220)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
