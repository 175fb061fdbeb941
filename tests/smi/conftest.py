"""SMI fixtures: the tables registered and a small synthetic inventory (create_app() mounts the SMI routers)."""

from __future__ import annotations

import pytest

import gbsmart.models.smi  # noqa: F401  (registers the tables before Base.metadata.create_all)
from gbsmart.smi.generate import generate_inventory

SMALL = 3000


@pytest.fixture
def inventory(ctx, session):
    """A few thousand synthetic devices (with their models, Parties and registrations), committed."""
    result = generate_inventory(ctx, SMALL, seed=7, chunk_premises=300)
    session.commit()
    return result
