"""SMI fixtures: the tables registered, the SMI routers mounted, and a small synthetic inventory."""

from __future__ import annotations

import pytest

import gbsmart.models.smi  # noqa: F401  (registers the tables before Base.metadata.create_all)
from gbsmart.app import create_app
from gbsmart.smi import api as smi_api
from gbsmart.smi import pages as smi_pages
from gbsmart.smi.generate import generate_inventory

SMALL = 3000


@pytest.fixture
def app(settings, clock, engine):
    """create_app(), plus the SMI routers until the lead mounts them there."""
    application = create_app(settings=settings, clock=clock, engine=engine)
    paths = {getattr(r, "path", "") for r in application.routes}
    if "/api/v1/smi/devices" not in paths:
        application.include_router(smi_api.router, prefix="/api/v1")
    if "/smi" not in paths:
        application.include_router(smi_pages.router)
    return application


@pytest.fixture
def inventory(ctx, session):
    """A few thousand synthetic devices (with their models, Parties and registrations), committed."""
    result = generate_inventory(ctx, SMALL, seed=7, chunk_premises=300)
    session.commit()
    return result
