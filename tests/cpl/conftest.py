"""CPL test kit: the CPL tables registered, the routers mounted, a small cast, versions and submission builders.

``gbsmart.models.cpl`` is imported here so that ``Base.metadata.create_all`` creates the CPL tables before
``gbsmart.models`` imports it itself; ``mount_cpl`` adds the CPL routers to an app that does not have them yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

import gbsmart.models.cpl  # noqa: F401 - registers the CPL tables
from gbsmart.core.context import Actor, Ctx
from gbsmart.cpl import api as cpl_api
from gbsmart.cpl import pages as cpl_pages
from gbsmart.cpl import service
from gbsmart.cpl.schemas import SubmissionCreate
from gbsmart.models.cpl import GbcsVersion, TechnicalSpecification
from gbsmart.models.parties import Person, PersonRole

HASH = "ab" * 32


def mount_cpl(app: FastAPI) -> FastAPI:
    paths = {getattr(r, "path", None) for r in app.routes}
    if "/api/v1/cpl/entries" not in paths:
        app.include_router(cpl_api.router, prefix="/api/v1")
    if "/cpl" not in paths:
        app.include_router(cpl_pages.router)
    return app


@pytest.fixture
def app(settings, clock, engine):
    from gbsmart.app import create_app

    return mount_cpl(create_app(settings=settings, clock=clock, engine=engine))


def certs(*kinds: str, expiry: date = date(2024, 6, 30), suffix: str = "1", **cpa: Any) -> list[dict]:
    """Certificates of the given kinds (zigbee, dlms, cpa) with fresh numbers; ``cpa`` overrides the CPA one."""
    out = []
    for kind in kinds:
        c: dict[str, Any] = {"kind": kind, "number": f"{kind.upper()}-{suffix}", "issued_on": "2019-06-01"}
        if kind == "cpa":
            c.update(expiry_date=expiry.isoformat(), **cpa)
        out.append(c)
    return out


def submission(device_type: str = "ESME_SINGLE", **overrides: Any) -> dict[str, Any]:
    """A valid new-entry submission for ``device_type`` (JSON shape)."""
    kinds = {"PPMID": ("zigbee",), "ESME_SINGLE": ("zigbee", "dlms", "cpa"), "ESME_TWIN": ("zigbee", "dlms", "cpa"),
             "ESME_POLYPHASE": ("zigbee", "dlms", "cpa")}.get(device_type, ("zigbee", "cpa"))
    fw = overrides.get("firmware_version", "1.0.0")
    data: dict[str, Any] = {
        "kind": "new_entry", "manufacturer": "Demo Meters Ltd", "model": f"DM-{device_type}",
        "hardware_version": "A1", "firmware_version": fw, "physical_device_type": device_type,
        "release_notes": "Initial release.", "technical_specification": "CHTS v1.2" if device_type == "CH"
        else "SMETS2 v4.1", "gbcs_version": "2.0", "certificates": certs(*kinds, suffix=f"{device_type}-{fw}"),
    }
    data.update(overrides)
    return data


@dataclass
class Cast:
    session: Session
    clock: Any
    settings: Any
    people: dict[str, Person] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def ctx(self, username: str) -> Ctx:
        return Ctx(session=self.session, actor=Actor.of(self.people[username]), clock=self.clock,
                   settings=self.settings)

    def listed(self, device_type: str = "ESME_SINGLE", by: str = "maker", **overrides: Any):
        """A submission made and approved through the service (set-up, not under test), committed."""
        sub = service.submit(self.ctx(by), SubmissionCreate.model_validate(submission(device_type, **overrides)))
        assert sub.status == "validated", [f.message for f in sub.failures]
        sub = service.approve(self.ctx("secas"), sub.id)
        self.session.commit()
        return service.get_entry(self.session, sub.entry_id)


@pytest.fixture
def versions(session) -> None:
    session.add_all([
        TechnicalSpecification(name="SMETS2", version="4.1"), TechnicalSpecification(name="SMETS2", version="3.2",
                                                                                        end_date=date(2019, 12, 31)),
        TechnicalSpecification(name="CHTS", version="1.2"), TechnicalSpecification(name="SMETS1", version="1.2"),
        GbcsVersion(version="1.0", end_date=date(2019, 1, 31)), GbcsVersion(version="1.1"),
        GbcsVersion(version="2.0"), GbcsVersion(version="3.0", end_date=date(2021, 6, 30)),
    ])
    session.commit()


@pytest.fixture
def cast(world, session, clock, settings, versions) -> Cast:
    secas = world.org("SECAS", kind="secas")
    dcc = world.org("Smart DCC", kind="dcc")
    maker = world.org("Demo Meters Ltd", category="other")
    supplier = world.org("Big Energy plc", category="large_supplier")
    world.org("Wires North", category="electricity_network")
    c = Cast(session=session, clock=clock, settings=settings)
    spec = {"secas": (("code_administrator",), secas), "maker": (("party_user",), maker),
            "supplier": (("party_user",), supplier), "dcc": (("dcc",), dcc), "guest": ((), None)}
    for username, (roles, org) in spec.items():
        # no password: these people act through bearer tokens, and hashing one costs half a second
        person = Person(username=username, full_name=username.title(), organisation_id=org.id if org else None,
                        created_at=clock.now(), role_rows=[PersonRole(role=r) for r in roles])
        session.add(person)
        session.commit()
        c.people[username] = person
        c.headers[username] = world.token(person)
    return c
