"""Database selection for tests: every DB-backed test runs once on SQLite and once on PostgreSQL.

``db_url`` is parametrized over ``sqlite`` and ``postgresql`` (test ids ``[sqlite]`` / ``[postgresql]``):
SQLite is a file in the test's ``tmp_path``; PostgreSQL is a fresh database on the session's throwaway
cluster (``postgresql_server`` from ``tests.plugins.pg``), dropped again after the test.  The PostgreSQL
variant carries the ``postgres`` marker, so ``-m "not postgres"`` deselects it;
``GBSMART_TEST_DATABASES=sqlite`` leaves it out without markers (and the cluster is never started).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.plugins.pg"]

ENV_DATABASES = "GBSMART_TEST_DATABASES"
_ALIASES = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql", "pg": "postgresql"}


def selected_databases() -> list[str]:
    """The databases DB-backed tests run on: ``$GBSMART_TEST_DATABASES``, default ``sqlite,postgresql``."""
    raw = os.environ.get(ENV_DATABASES, "").strip() or "sqlite,postgresql"
    chosen: list[str] = []
    for word in re.split(r"[,\s]+", raw.lower()):
        if not word:
            continue
        if word not in _ALIASES:
            raise pytest.UsageError(f"{ENV_DATABASES}={raw!r}: unknown database {word!r} (use sqlite, postgresql)")
        if _ALIASES[word] not in chosen:
            chosen.append(_ALIASES[word])
    return chosen


_PARAMS = {
    "sqlite": pytest.param("sqlite", id="sqlite"),
    "postgresql": pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
}


def _db_params() -> list:
    try:
        return [_PARAMS[name] for name in selected_databases()]
    except pytest.UsageError:
        return list(_PARAMS.values())  # reported as a usage error by pytest_configure below


@pytest.fixture(params=_db_params())
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database for this test, as an SQLAlchemy URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    server = request.getfixturevalue("postgresql_server")
    url = server.new_database()
    yield url
    server.drop_database(url)


def pytest_configure(config: pytest.Config) -> None:
    selected_databases()  # a bad GBSMART_TEST_DATABASES is a usage error, reported once, up front
