"""`gbsmart demo`: the seed papers' change landscape lands in the database, and a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from gbsmart.core.db import Base
from gbsmart.demo.loader import DEMO_USERS, load_demo
from gbsmart.models.change import Proposal
from gbsmart.models.parties import Organisation


def _row_counts(session) -> dict[str, int]:
    return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def test_demo_loads_the_landscape_and_is_idempotent(ctx, session):
    first = load_demo(ctx)
    session.commit()
    counts = _row_counts(session)
    assert counts["proposals"] >= 60 and counts["releases"] >= 8
    second = load_demo(ctx)
    session.commit()
    assert all(added == 0 for added, _ in second.counts.values()), second.counts
    assert _row_counts(session) == counts
    from gbsmart.assessments.demo import PEOPLE

    assert {u["username"] for u in first.users} == {u["username"] for u in DEMO_USERS} | {p[0] for p in PEOPLE}


def test_seed_001_decisions_are_on_the_timeline(ctx, session):
    load_demo(ctx)
    session.flush()
    dp098 = session.scalar(select(Proposal).where(Proposal.reference == "DP098"))
    assert dp098.state == "ready_to_convert" and dp098.route == "report_phase"
    decision = [e for e in dp098.events if e.step == "ready_to_convert"]
    assert decision[0].reference == "CSC 11_2801"
    assert decision and decision[0].decided_on.isoformat() == "2020-01-28"
    assert "ready to be converted" in decision[0].reason
    dp096 = session.scalar(select(Proposal).where(Proposal.reference == "DP096"))
    assert dp096.state == "development" and "Power Outage" in dp096.title
    assert all(p.source for p in session.scalars(select(Proposal)))


def test_every_party_category_has_parties_and_each_party_a_user_id(ctx, session):
    load_demo(ctx)
    session.flush()
    cats = dict(session.execute(select(Organisation.party_category, func.count()).where(
        Organisation.party_category.is_not(None)).group_by(Organisation.party_category)).all())
    assert set(cats) == {"large_supplier", "small_supplier", "electricity_network", "gas_network", "other"}
    for org in session.scalars(select(Organisation).where(Organisation.party_category.is_not(None))):
        assert org.dcc_users and org.dcc_users[0].roles


def test_demo_via_api_finds_the_2020_drafts(client, ctx, session):
    load_demo(ctx)
    session.commit()
    from tests.conftest import World

    headers = World(session, ctx.clock).token(_secas(session))
    page = client.get("/api/v1/proposals?stage=draft&limit=100", headers=headers).json()
    refs = {p["reference"] for p in page["items"]}
    assert {"DP094", "DP096", "DP098", "DP111"} <= refs
    rel = client.get("/api/v1/proposals?release=November 2018 Release", headers=headers).json()
    assert any(p["reference"] == "SECMP0041" for p in rel["items"])


def _secas(session):
    from gbsmart.models.parties import Person

    return session.scalar(select(Person).where(Person.username == "secas"))
