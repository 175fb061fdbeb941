"""DCC Service Alerts broadcasts (``alerts.broadcasts``): who may publish and end one, what one must say (field by
field), which are in force at a time, the change log; the same rules through the API and `gbsmart alerts broadcast`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.alerts import broadcasts
from gbsmart.alerts.broadcasts import BroadcastCreate
from gbsmart.alerts.enums import BroadcastSeverity
from gbsmart.cli import app as cli_app
from gbsmart.config import get_settings
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.db import Base, make_engine, make_sessionmaker
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.models.alerts import ServiceBroadcast
from gbsmart.models.audit import ChangeRecord

runner = CliRunner()


def _as(ctx: Ctx, *roles: str) -> Ctx:
    actor = Actor(person_id=None, username="-".join(roles) or "nobody", name="X", roles=frozenset(roles))
    return Ctx(session=ctx.session, actor=actor, clock=ctx.clock, settings=ctx.settings)


def test_dcc_and_code_administrator_publish_and_end_others_may_not(ctx, session, clock) -> None:
    dcc, secas, user = _as(ctx, "dcc"), _as(ctx, "code_administrator"), _as(ctx, "party_user")
    data = BroadcastCreate(title="CSP North: alerts delayed", body="Alerts from CSP North are up to 10 min late.",
                           severity=BroadcastSeverity.WARNING)
    with pytest.raises(Forbidden):
        broadcasts.create(user, data)
    b = broadcasts.create(dcc, data)
    assert (b.starts_at, b.ends_at, b.created_by) == (clock.now(), None, "dcc")
    assert [r.id for r in broadcasts.current(session, clock.now())] == [b.id]
    with pytest.raises(Forbidden):
        broadcasts.end(user, b.id)
    clock.advance(minutes=5)
    broadcasts.end(secas, b.id)
    assert b.ends_at == clock.now() and broadcasts.current(session, clock.now()) == []
    with pytest.raises(Conflict):
        broadcasts.end(secas, b.id)
    with pytest.raises(NotFound):
        broadcasts.end(secas, 999)
    log = list(session.scalars(select(ChangeRecord).where(ChangeRecord.object_type == "service_broadcast")
                               .order_by(ChangeRecord.id)))
    assert [(r.action, r.actor_name) for r in log] == [("create", "dcc"), ("end", "code_administrator")]
    assert log[1].before == {"ends_at": None} and log[1].after["ends_at"] == clock.now().isoformat()


def test_what_a_broadcast_must_say_field_by_field() -> None:
    with pytest.raises(ValidationError) as err:
        BroadcastCreate(title="", body="", severity="loud")  # type: ignore[arg-type]
    assert {e["loc"][0] for e in err.value.errors()} == {"title", "body", "severity"}
    with pytest.raises(ValidationError) as err:
        BroadcastCreate(title="ok title", body="x", starts_at=datetime(2020, 1, 2, tzinfo=UTC),
                        ends_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert "ends_at must be after starts_at" in str(err.value)
    with pytest.raises(ValidationError) as err:
        BroadcastCreate(title="ok title", body="x", starts_at=datetime(2020, 1, 2))
    assert "time zone" in str(err.value)
    with pytest.raises(ValidationError):
        BroadcastCreate(title="two\nlines", body="x")


def test_in_force_scheduled_and_ended_and_the_most_severe_first(ctx, session, clock) -> None:
    dcc = _as(ctx, "dcc")
    now = clock.now()
    info = broadcasts.create(dcc, BroadcastCreate(title="Info one", body="b"))
    critical = broadcasts.create(dcc, BroadcastCreate(title="Critical one", body="b", severity="critical"))
    later = broadcasts.create(dcc, BroadcastCreate(title="Maintenance tonight", body="b",
                                                   starts_at=now + timedelta(hours=2),
                                                   ends_at=now + timedelta(hours=4)))
    with pytest.raises(Invalid) as err:
        broadcasts.create(dcc, BroadcastCreate(title="Already over", body="b", starts_at=now - timedelta(hours=2),
                                               ends_at=now - timedelta(hours=1)))
    assert err.value.detail == [{"field": "ends_at", "message": "must be in the future"}]
    assert [b.id for b in broadcasts.current(session, now)] == [critical.id, info.id]
    listing = broadcasts.listing(dcc)
    assert [b.id for b in listing.scheduled] == [later.id] and listing.ended == []
    assert [b.id for b in broadcasts.current(session, now + timedelta(hours=3))] == [critical.id, later.id, info.id]
    assert later.id not in [b.id for b in broadcasts.current(session, now + timedelta(hours=4))]
    clock.advance(hours=5)
    assert [b.id for b in broadcasts.listing(dcc).ended] == [later.id]


def test_the_api_is_authenticated_scoped_and_validates_by_field(client, world, clock) -> None:
    assert client.get("/api/v1/alerts/broadcasts").status_code == 401
    dcc, user = world.user("dcc.ops", "dcc"), world.user("supplier.user", "party_user")
    refused = client.post("/api/v1/alerts/broadcasts", headers=user, json={"title": "Hello", "body": "x"})
    assert refused.status_code == 403 and "DCC or Code Administrator" in refused.json()["error"]
    bad = client.post("/api/v1/alerts/broadcasts", headers=dcc, json={"title": "", "severity": "loud"})
    assert bad.status_code == 422
    assert {"body.title", "body.body", "body.severity"} <= {d["field"] for d in bad.json()["detail"]}
    made = client.post("/api/v1/alerts/broadcasts", headers=dcc,
                       json={"title": "DCC scheduled maintenance", "body": "Tonight 22:00-23:00.",
                             "severity": "warning"})
    assert made.status_code == 201, made.text
    bid = made.json()["id"]
    assert [b["title"] for b in client.get("/api/v1/alerts/broadcasts/current", headers=user).json()] == [
        "DCC scheduled maintenance"]
    assert client.post(f"/api/v1/alerts/broadcasts/{bid}/end", headers=user).status_code == 403
    ended = client.post(f"/api/v1/alerts/broadcasts/{bid}/end", headers=dcc)
    assert ended.status_code == 200 and ended.json()["ends_at"] is not None
    assert client.post(f"/api/v1/alerts/broadcasts/{bid}/end", headers=dcc).status_code == 409
    listed = client.get("/api/v1/alerts/broadcasts", headers=user).json()
    assert listed["in_force"] == [] and [b["id"] for b in listed["ended"]] == [bid]


def test_the_command_line_adds_lists_and_ends(cli_env) -> None:
    engine = make_engine(get_settings().resolved_database_url())
    Base.metadata.create_all(engine)
    from gbsmart.models.parties import Person, PersonRole
    with make_sessionmaker(engine)() as session:
        session.add(Person(username="supplier.user", full_name="S", password_hash="x", created_at=datetime.now(UTC),
                           role_rows=[PersonRole(role="party_user")]))
        session.commit()

    def run(*args: str):
        return runner.invoke(cli_app, ["alerts", "broadcast", *args], terminal_width=220)

    added = run("add", "CSP Central: degraded", "Responses slower than usual.", "--severity", "critical")
    assert added.exit_code == 0, added.output
    assert "broadcast 1 (critical)" in added.output
    refused = run("add", "Not mine to say", "x", "--as", "supplier.user")
    assert refused.exit_code == 1 and "DCC or Code Administrator" in refused.output
    bad = run("add", "ok title", "x", "--ends", "yesterday")
    assert bad.exit_code == 1 and "ends_at" in bad.output
    listed = run("list")
    assert listed.exit_code == 0 and "CSP Central: degraded" in listed.output and "in force" in listed.output
    assert run("end", "1").exit_code == 0
    again = run("end", "1")
    assert again.exit_code == 1 and "already ended" in again.output
    assert "CSP Central: degraded" in run("list", "--ended").output
    assert "CSP Central: degraded" not in run("list").output
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(ServiceBroadcast.ends_at)) is not None
    engine.dispose()
