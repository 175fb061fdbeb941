"""A DCC User's home (issue 15 point 1): what it counts comes from the journal, the quarantine, the northbound cache,
the service desk and the measures, for the reader's own User IDs only; early access through the feature switch;
the same figures through the API and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.alerts import broadcasts
from gbsmart.core.cli_support import set_clock
from gbsmart.core.clock import SystemClock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Forbidden, NotFound
from gbsmart.models.adt import QuarantinedRequest
from gbsmart.models.delivery import GatewayResponse
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import Person
from gbsmart.service import incidents
from gbsmart.service.schemas import IncidentCreate
from gbsmart.ssi import features, home
from tests.alerts.rows import OTHER_SUPPLIER, SUPPLIER, message, users

DEVICE = "00-DB-12-34-56-78-90-B1"
DNO = {"type": "no_credentials_dno", "answers": {"mpxn": "1012345678901", "device_id": "00-DB-12-34-56-78-91-01"}}


def _as(ctx: Ctx, person: Person) -> Ctx:
    return Ctx(session=ctx.session, actor=Actor.of(person), clock=ctx.clock, settings=ctx.settings)


_n = iter(range(1, 10_000))


def journal(session, originator: str, state: str, code: str, at, *, completed_at=None, srv: str = "4.1.1") -> None:
    """A journal row as the gateway writes it."""
    n = next(_n)
    session.add(GatewayMessage(request_id=f"{originator}:{DEVICE}:{n}", originator=originator, target=DEVICE,
                               counter=n, srv=srv, command_variant=1, service="serviceS", state=state, code=code,
                               explanation="", received_at=at, completed_at=completed_at))


@pytest.fixture
def traffic(ctx, session, world):
    return make_traffic(ctx, session, world)


def make_traffic(ctx: Ctx, session, world, add_person=None) -> dict[str, Person]:  # noqa: ANN001
    """Supplier Energy (SUPPLIER) and Other Energy (OTHER_SUPPLIER) with a morning's traffic; the clock is 10:00.
    Their people: sue (Supplier Energy), olly (Other Energy) and dana (the DCC)."""
    add_person = add_person or (lambda w, username, *roles, org: w.person(username, *roles, org=org))
    supplier, network, other = users(session, world)
    now = ctx.clock.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for state, code, k in (("acknowledged", "I99", 3), ("refused", "E4", 2), ("refused", "E19", 1),
                           ("quarantined", "I99", 1), ("delivered", "I0", 2)):
        for _ in range(k):
            journal(session, SUPPLIER, state, code, day + timedelta(minutes=5),
                    completed_at=day + timedelta(minutes=6) if state == "delivered" else None)
    journal(session, SUPPLIER, "acknowledged", "I99", day - timedelta(hours=2))  # yesterday: not today's
    for _ in range(5):
        journal(session, OTHER_SUPPLIER, "refused", "E2", day + timedelta(minutes=1))  # someone else's
    session.add(QuarantinedRequest(request_id=f"{SUPPLIER}:{DEVICE}:999", originator=SUPPLIER, counter=999,
                                   srv="4.1.1", service="serviceS", log_seq=1, breach="user", threshold=3, count=4,
                                   status="held", body="<x/>", received_at=day + timedelta(minutes=5)))
    message(session, SUPPLIER, day + timedelta(minutes=10), delivered_at=day + timedelta(minutes=10, seconds=2))
    message(session, SUPPLIER, now - timedelta(minutes=7))                              # waiting 7 min
    message(session, SUPPLIER, day + timedelta(minutes=3), kind="response", priority="response", code="I0")
    message(session, OTHER_SUPPLIER, day + timedelta(minutes=3))
    session.add(GatewayResponse(request_id=f"{SUPPLIER}:{DEVICE}:5", response_id="R5", originator=SUPPLIER,
                                counter=5, log_seq=5, code="I0", body=b"<r/>", completed_at=now))
    session.commit()
    people = {"supplier": add_person(world, "sue", "party_user", org=supplier),
              "other": add_person(world, "olly", "party_user", org=other),
              "dcc": add_person(world, "dana", "dcc", org=world.org("Smart DCC", kind="dcc"))}
    incidents.raise_incident(_as(ctx, people["supplier"]), IncidentCreate(
        title="DNO certificate missing", category=4, user_id=SUPPLIER, **DNO))
    incidents.raise_incident(_as(ctx, people["other"]), IncidentCreate(
        title="Someone else's", category=3, user_id=OTHER_SUPPLIER, **DNO))
    broadcasts.create(_as(ctx, people["dcc"]), broadcasts.BroadcastCreate(
        title="CSP North: delayed alerts", body="Alerts from CSP North are up to 5 minutes late."))
    session.commit()
    return people


def test_the_home_counts_the_readers_own_service_today(ctx, traffic):
    features.enable(ctx, "ssi_home", for_all=True)
    g = home.glance(_as(ctx, traffic["supplier"]))
    assert g.organisation.name == "Supplier Energy" and g.user_ids == [SUPPLIER]
    assert g.requests_by_state == {"acknowledged": 3, "refused": 3, "quarantined": 1, "delivered": 2}
    assert (g.requests_today, g.accepted_today, g.refused_today) == (9, 5, 3)
    assert g.refused_by_code == [("E4", 2), ("E19", 1)]
    assert g.responses_by_code == [("I0", 2)]
    assert g.quarantined_held == 1
    assert g.alerts_today == {"device_alert": 2} and g.alerts_delivered_today == 1
    assert g.waiting == 2  # the undelivered alert and the undelivered response in the cache
    assert g.oldest_waiting_at is not None  # the response, waiting since 00:03
    assert home.age_text(g.oldest_waiting_at, ctx.clock.now()) == "9 h 57 min"
    assert g.responses_undelivered == 1
    assert [r.incident.title for r in g.incidents] == ["DNO certificate missing"]
    cpm = {f.level.code: f for f in g.figures}
    assert set(cpm) >= {"CPM1", "CPM3", "CPM4", "CPM6"}
    assert [b.title for b in g.broadcasts] == ["CSP North: delayed alerts"]
    other = home.glance(_as(ctx, traffic["other"]))
    assert other.requests_by_state == {"refused": 5} and other.refused_by_code == [("E2", 5)]
    assert other.quarantined_held == 0 and [r.incident.title for r in other.incidents] == ["Someone else's"]


def test_staff_look_at_one_organisation_or_every_user_and_a_party_only_at_its_own(ctx, traffic):
    features.enable(ctx, "ssi_home", for_all=True)
    dcc = _as(ctx, traffic["dcc"])
    everyone = home.glance(dcc)
    assert everyone.organisation is None and everyone.requests_today == 14  # 9 + 5; yesterday's left out
    assert len(everyone.incidents) == 2
    sue = traffic["supplier"]
    one = home.glance(dcc, sue.organisation_id)
    assert one.requests_today == 9 and [r.incident.title for r in one.incidents] == ["DNO certificate missing"]
    with pytest.raises(Forbidden, match="your own organisation"):
        home.glance(_as(ctx, traffic["other"]), sue.organisation_id)


def test_the_home_is_early_access_until_the_dcc_switches_it_on(ctx, session, traffic):
    sue, olly = _as(ctx, traffic["supplier"]), _as(ctx, traffic["other"])
    with pytest.raises(NotFound, match="not switched on for your organisation yet"):
        home.glance(sue)
    assert home.is_home_for(sue) is False
    assert features.enable(ctx, "ssi_home", traffic["supplier"].organisation_id) is True
    assert features.enable(ctx, "ssi_home", traffic["supplier"].organisation_id) is False  # already on
    assert home.glance(sue).requests_today == 9 and home.is_home_for(sue)
    with pytest.raises(NotFound):
        home.glance(olly)
    assert home.is_home_for(_as(ctx, traffic["dcc"])) is False  # staff keep the governance dashboard at /
    assert home.glance(_as(ctx, traffic["dcc"])).requests_today == 14  # ... and always see the feature


def test_the_api_and_the_portal_answer_alike(ctx, session, traffic, world, client):
    headers = world.token(traffic["supplier"])
    r = client.get("/api/v1/ssi/home", headers=headers)
    assert r.status_code == 404 and "not switched on" in r.json()["error"]
    features.enable(ctx, "ssi_home", traffic["supplier"].organisation_id)
    session.commit()
    body = client.get("/api/v1/ssi/home", headers=headers).json()
    assert body["organisation"] == "Supplier Energy"
    assert body["requests_today"]["total"] == 9 and body["requests_today"]["refused_by_code"] == {"E4": 2, "E19": 1}
    assert body["northbound_backlog"] == {"waiting": 2, "responses_undelivered": 1, "expired_unreported": 0,
                                          "oldest_waiting_at": body["northbound_backlog"]["oldest_waiting_at"]}
    assert [i["title"] for i in body["incidents"]] == ["DNO certificate missing"]
    olly, sues = world.token(traffic["other"]), traffic["supplier"].organisation_id
    assert client.get("/api/v1/ssi/home", headers=olly).status_code == 404  # not in early access
    features.enable(ctx, "ssi_home", for_all=True)
    session.commit()
    refused = client.get(f"/api/v1/ssi/home?organisation={sues}", headers=olly)
    assert refused.status_code == 403 and "your own organisation" in refused.json()["error"]
    assert client.get("/api/v1/ssi/home").status_code == 401
    assert client.get("/api/v1/ssi/home?organisation=abc", headers=headers).status_code == 422


def test_the_cli_prints_the_same_figures(ctx, session, traffic, cli_env):
    from gbsmart.cli import app

    features.enable(ctx, "ssi_home", for_all=True)
    session.commit()
    set_clock(ctx.clock)  # "today" is the test clock's
    try:
        result = CliRunner().invoke(app, ["ssi", "home", "--as", "sue", "--json"])
        table = CliRunner().invoke(app, ["ssi", "home", "--as", "sue"])
    finally:
        set_clock(SystemClock())
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["requests_today"]["by_state"] == {"acknowledged": 3, "refused": 3, "quarantined": 1, "delivered": 2}
    assert table.exit_code == 0 and "Supplier Energy" in table.output and "refused E4" in table.output


def test_feature_switches_are_the_dccs_and_audited(ctx, session, traffic, world):
    sue = _as(ctx, traffic["supplier"])
    with pytest.raises(Forbidden, match="only the DCC or the Code Administrator"):
        features.enable(sue, "ssi_home", for_all=True)
    dcc = _as(ctx, traffic["dcc"])
    with pytest.raises(Exception, match="There is no feature"):
        features.enable(dcc, "nonsense", for_all=True)
    with pytest.raises(Exception, match="one Party or all"):
        features.enable(dcc, "ssi_home")
    features.enable(dcc, "ssi_home", traffic["supplier"].organisation_id)
    features.enable(dcc, "ssi_home", for_all=True)
    assert features.is_enabled(_as(ctx, traffic["other"]), "ssi_home")
    assert features.disable(dcc, "ssi_home", for_all=True) is True
    assert not features.is_enabled(_as(ctx, traffic["other"]), "ssi_home")
    assert features.is_enabled(sue, "ssi_home")  # the early-access Party keeps it
    state = next(s for s in features.states(dcc) if s.feature.name == "ssi_home")
    assert (state.for_all, [n for _, n in state.parties]) == (False, ["Supplier Energy"])
    log = features.history(dcc)
    assert [(r.action, r.actor_name) for r in log] == [("ssi.feature.disable", "dana"), ("ssi.feature.enable", "dana"),
                                                      ("ssi.feature.enable", "dana")]
    assert log[-1].after == {"for": "party", "organisation_id": traffic["supplier"].organisation_id,
                             "organisation": "Supplier Energy"}
    with pytest.raises(Forbidden):
        features.history(sue)


def test_the_demo_switches_the_home_on_for_one_party_and_the_search_for_all(ctx, session):
    from gbsmart.demo.loader import load_demo

    load_demo(ctx)
    load_demo(ctx)  # twice adds nothing
    session.commit()
    large = session.scalar(select(Person).where(Person.username == "large"))
    small = session.scalar(select(Person).where(Person.username == "small"))
    assert home.is_home_for(_as(ctx, large)) and not home.is_home_for(_as(ctx, small))
    assert features.is_enabled(_as(ctx, small), "audit_search")
