"""Aged incidents by type (issue 13 point 2): not resolved and raised more than 30 days ago, with each type's lead,
those waiting for the User, and the trend against the previous report, computed from the timelines."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gbsmart.core.clock import FixedClock
from gbsmart.models.parties import DccUser
from gbsmart.service import incidents
from gbsmart.service.enums import AssigneeKind, IncidentStatus
from gbsmart.service.schemas import IncidentAssign, IncidentCreate, IncidentStatusChange

A = "90-B3-D5-1F-30-01-00-0A"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
DNO = {"type": "no_credentials_dno", "answers": {"mpxn": "1012345678901", "device_id": "00-DB-12-34-56-78-91-01"}}
CH = {"type": "wrong_ch_variant", "answers": {"device_id": "00-DB-12-34-56-78-92-01", "installed_variant": "mesh",
                                              "needed_variant": "dual band"}}


def test_aged_incidents_by_type_with_their_trend(ctx, session, world, client):
    supplier = world.org("Bright Energy", "sec_party", "large_supplier")
    session.add(DccUser(organisation_id=supplier.id, eui64=A))
    session.commit()

    def raise_at(days_ago: float, body: dict, *, then: str = "") -> str:
        at = replace(ctx, clock=FixedClock(NOW - timedelta(days=days_ago)))
        i = incidents.raise_incident(at, IncidentCreate(title="An aged one", category=4, user_id=A, **body))
        if then == "user":
            incidents.assign(at, i.reference, IncidentAssign(kind=AssigneeKind.USER))
        return i.reference

    raise_at(70, DNO, then="user")
    raise_at(65, DNO, then="user")
    fixed = raise_at(62, DNO)
    raise_at(45, CH, then="user")
    raise_at(10, CH)  # not aged yet
    # one DNO incident was resolved 5 days ago: aged at the previous report, not now
    later = replace(ctx, clock=FixedClock(NOW - timedelta(days=5)))
    incidents.change_status(later, fixed, IncidentStatusChange(status=IncidentStatus.RESOLVED, note="credentials"))
    session.commit()
    ctx.clock.set(NOW)

    rows, days, previous = incidents.aged_report(ctx)
    assert days == 30 and previous == NOW - timedelta(days=30)
    by = {r.type_key: r for r in rows}
    dno, ch = by["no_credentials_dno"], by["wrong_ch_variant"]
    assert (dno.now, dno.previous, dno.trend, dno.waiting_for_user) == (2, 3, -1, 2)
    assert dno.lead == "Service Management: installation credentials" and round(dno.oldest_days) == 70
    # 45 days old: 15 days old at the previous report, so not aged then
    assert (ch.now, ch.previous, ch.trend, ch.by_category) == (1, 0, 1, {4: 1})
    assert [r.type_key for r in rows] == ["no_credentials_dno", "wrong_ch_variant"]

    desk = world.user("dora", "dcc", org=world.org("DCC", "dcc"))
    answer = client.get("/api/v1/incidents/aged", headers=desk).json()
    assert [(t["type"], t["aged"], t["previous"], t["trend"]) for t in answer["types"]] == [
        ("no_credentials_dno", 2, 3, -1), ("wrong_ch_variant", 1, 0, 1)]
    shorter = client.get("/api/v1/incidents/aged", params={"days": 7}, headers=desk).json()
    assert {t["type"]: t["aged"] for t in shorter["types"]}["wrong_ch_variant"] == 2
    other = world.user("olive", "party_user", org=world.org("Other Energy", "sec_party"))
    assert client.get("/api/v1/incidents/aged", headers=other).json()["types"] == []  # only what one may see

    from tests.web.test_auth import login

    world.person("desk.person", "dcc", org=world.org("DCC", "dcc"))
    assert login(client, "desk.person").status_code == 303
    page = client.get("/incidents/aged")
    assert page.status_code == 200 and 'id="aged-no_credentials_dno"' in page.text
    assert "Service Management: installation credentials" in page.text and "badge-green" in page.text
