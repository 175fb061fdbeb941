"""Code Performance Measures computed from recorded rows (the journal, the northbound cache, incidents) for a month:
met, missed, pending not counted, refused not counted, "no data" never 100%, the levels from the rule file, and the
drill-down scoped to what the reader may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.models.alerts import NorthboundMessage
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser
from gbsmart.service.enums import IncidentStatus

A, B = "90-B3-D5-1F-30-01-00-0A", "90-B3-D5-1F-30-01-00-0B"
NOV = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _request(n: int, originator: str, *, took: float | None, trt: str = "on_demand", state: str = "delivered",
             at: datetime = NOV) -> GatewayMessage:
    return GatewayMessage(request_id=f"{originator}:00-DB-12-34-56-78-90-A0:{n}", originator=originator,
                          target="00-DB-12-34-56-78-90-A0", counter=n, srv="4.1.1", command_variant=1,
                          service="serviceS", state=state, code="I0", explanation="", trt_class=trt, received_at=at,
                          answered_at=at, due_at=at + timedelta(seconds=30),
                          completed_at=at + timedelta(seconds=took) if took is not None else None)


def _alert(n: int, user: str, *, late: float | None) -> NorthboundMessage:
    due = NOV + timedelta(seconds=240)
    return NorthboundMessage(message_id=f"ad1-{n}", user_id=user, kind="dcc_alert", priority="power_outage",
                             code="AD1", payload="{}", created_at=NOV, deadline_at=due, expires_at=NOV + timedelta(2),
                             attempts=1, last_error="",
                             delivered_at=due + timedelta(seconds=late) if late is not None else None)


@pytest.fixture
def recorded(world, session, clock):
    supplier = world.org("Bright Energy", "sec_party", "large_supplier")
    other = world.org("Other Energy", "sec_party", "large_supplier")
    session.add_all([DccUser(organisation_id=supplier.id, eui64=A), DccUser(organisation_id=other.id, eui64=B)])
    session.add_all([_request(1, A, took=5), _request(2, A, took=25), _request(3, B, took=10),
                     _request(4, A, took=45),                        # late: missed
                     _request(5, B, took=None),                      # never answered, past due: missed
                     _request(6, A, took=5, state="refused"),        # refused: not counted
                     _request(7, A, took=None, at=datetime(2026, 12, 2, 23, 59, 50, tzinfo=UTC)),  # December
                     _alert(1, A, late=-10), _alert(2, B, late=-1), _alert(3, A, late=30)])
    session.commit()
    clock.set(datetime(2026, 12, 3, 0, 0, tzinfo=UTC))
    return {"desk": world.user("dora", "dcc", org=world.org("DCC", "dcc")),
            "supplier": world.user("sam", "party_user", org=supplier)}


def _measures(client, who, month):
    answer = client.get("/api/v1/service/performance", params={"month": month}, headers=who)
    assert answer.status_code == 200, answer.text
    return {m["code"]: m for m in answer.json()["measures"]}


def test_the_measures_come_from_the_recorded_rows(client, recorded, clock):
    m = _measures(client, recorded["desk"], "2026-11")
    assert (m["CPM1"]["counted"], m["CPM1"]["met"], m["CPM1"]["share"]) == (5, 3, 60.0)
    assert m["CPM1"]["standing"] == "below minimum" and (m["CPM1"]["target"], m["CPM1"]["minimum"]) == (99, 96)
    assert (m["CPM3"]["counted"], m["CPM3"]["met"]) == (3, 2)
    for code in ("CPM2", "CPM4", "CPM5", "CPM6"):  # nothing to count: no data, never 100%
        assert (m[code]["counted"], m[code]["share"], m[code]["standing"]) == (0, None, "no data")
    december = _measures(client, recorded["desk"], "2026-12")
    assert december["CPM1"]["counted"] == 0  # request 7 is still within its 30 s: pending, not counted
    clock.advance(seconds=60)
    assert _measures(client, recorded["desk"], "2026-12")["CPM1"]["counted"] == 1  # now past due: missed
    bad = client.get("/api/v1/service/performance", params={"month": "2026-13"}, headers=recorded["desk"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "month"


def test_incidents_resolved_in_the_month_count_towards_cpm4_and_cpm5(client, recorded, clock):
    desk = recorded["desk"]
    clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    body = {"title": "Requests failing", "type": "service_request_failure", "answers": {"srv": "4.1.1"}}
    quick = client.post("/api/v1/incidents", json={**body, "category": 1}, headers=desk).json()["reference"]
    slow = client.post("/api/v1/incidents", json={**body, "category": 2}, headers=desk).json()["reference"]
    minor = client.post("/api/v1/incidents", json={**body, "category": 3}, headers=desk).json()["reference"]
    clock.advance(hours=3)
    for ref in (quick, minor):
        client.post(f"/api/v1/incidents/{ref}/status", json={"status": IncidentStatus.RESOLVED, "note": "fixed"},
                    headers=desk)
    clock.advance(hours=6)  # 9 h: past category 2's 8 hours
    client.post(f"/api/v1/incidents/{slow}/status", json={"status": "resolved", "note": "fixed"}, headers=desk)
    m = _measures(client, desk, "2026-11")
    assert (m["CPM4"]["counted"], m["CPM4"]["met"], m["CPM4"]["share"]) == (2, 1, 50.0)
    assert (m["CPM5"]["counted"], m["CPM5"]["met"], m["CPM5"]["standing"]) == (1, 1, "target met")
    behind = client.get("/api/v1/service/performance/2026-11/cpm4", headers=desk).json()
    assert [(i["ref"], i["met"]) for i in behind["items"]] == [(slow, False), (quick, True)]  # missed first


def test_the_drill_down_shows_each_reader_what_they_may_see(client, recorded):
    everyone = client.get("/api/v1/service/performance/2026-11/CPM1", headers=recorded["desk"]).json()
    assert [i["met"] for i in everyone["items"]] == [False, False, True, True, True]  # missed first
    assert {i["user_id"] for i in everyone["items"]} == {A, B}
    own = client.get("/api/v1/service/performance/2026-11/CPM1", headers=recorded["supplier"]).json()
    assert {i["user_id"] for i in own["items"]} == {A} and own["figure"]["counted"] == 5  # the figure is the total
    assert client.get("/api/v1/service/performance/2026-11/CPM9", headers=recorded["desk"]).status_code == 404
    assert client.get("/api/v1/service/performance/2026-11/CPM1").status_code == 401
    history = client.get("/api/v1/service/performance/history", params={"months": 2},
                         headers=recorded["supplier"]).json()
    assert [h["month"] for h in history] == ["2026-11", "2026-12"]


def test_the_cli_prints_the_months_and_what_is_behind_a_measure(cli_env, recorded):
    runner = CliRunner()
    months = runner.invoke(app, ["service", "performance", "--months", "2"])
    assert months.exit_code == 0, months.output
    assert "CPM1" in months.output and "60.00%" in months.output and "no data" in months.output
    one = runner.invoke(app, ["service", "performance", "--month", "2026-11", "--measure", "CPM3"])
    assert one.exit_code == 0, one.output
    assert "below minimum" in one.output and "ad1-3" in one.output


def test_the_portal_page_shows_each_month_and_links_to_what_is_behind(client, recorded, world):
    from tests.web.test_auth import login

    world.person("pat", "party_user", org=world.org("Bright Energy"))
    assert login(client, "pat").status_code == 303
    page = client.get("/service/performance")
    assert page.status_code == 200
    assert 'href="/service/performance/2026-11/CPM1"' in page.text and "60.00%" in page.text
    assert "badge-red" in page.text and "no data" in page.text
    behind = client.get("/service/performance/2026-11/CPM1")
    assert behind.status_code == 200 and "3 of 5 met" in behind.text and A in behind.text and B not in behind.text


def test_the_exception_list_leaves_named_events_out_with_a_reason(client, recorded, world, session):
    desk = recorded["desk"]
    late = f"{A}:00-DB-12-34-56-78-90-A0:4"
    no_reason = client.post("/api/v1/service/performance/exceptions", json={"measure": "CPM1", "ref": late},
                            headers=desk)
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["field"] == "reason"
    assert client.post("/api/v1/service/performance/exceptions", json={"measure": "CPM1", "ref": late,
                       "reason": "DCC scheduled maintenance"}, headers=recorded["supplier"]).status_code == 403
    added = client.post("/api/v1/service/performance/exceptions", json={"measure": "cpm1", "ref": late,
                        "reason": "DCC scheduled maintenance"}, headers=desk)
    assert added.status_code == 201 and added.json()["measure"] == "CPM1"
    again = client.post("/api/v1/service/performance/exceptions", json={"measure": "CPM1", "ref": late,
                        "reason": "twice"}, headers=desk)
    assert again.status_code == 409
    m = _measures(client, desk, "2026-11")
    assert (m["CPM1"]["counted"], m["CPM1"]["met"]) == (4, 3)  # the late one left out
    behind = client.get("/api/v1/service/performance/2026-11/CPM1", headers=desk).json()
    assert late not in {i["ref"] for i in behind["items"]}
    listed = client.get("/api/v1/service/performance/exceptions", headers=recorded["supplier"]).json()
    assert [(e["ref"], e["reason"]) for e in listed] == [(late, "DCC scheduled maintenance")]
    assert client.delete(f"/api/v1/service/performance/exceptions/{listed[0]['id']}", headers=desk).status_code == 204
    assert _measures(client, desk, "2026-11")["CPM1"]["counted"] == 5
    from sqlalchemy import select

    from gbsmart.models.audit import ChangeRecord

    session.expire_all()
    audited = session.scalars(select(ChangeRecord).where(ChangeRecord.object_type == "performance_exception")
                              .order_by(ChangeRecord.id)).all()
    assert [(c.action, c.actor_name.lower()) for c in audited] == [("performance.exception.add", "dora"),
                                                                  ("performance.exception.remove", "dora")]
    assert audited[0].after == {"measure": "CPM1", "ref": late, "reason": "DCC scheduled maintenance"}


def test_the_exception_list_is_kept_on_the_portal_page_by_the_dcc_only(client, recorded, world):
    import re

    from tests.web.test_auth import login

    late = f"{A}:00-DB-12-34-56-78-90-A0:4"
    assert login(client, "sam").status_code == 303  # a Supplier's person sees the list, not the form
    page = client.get("/service/performance")
    assert "No event is left out of any measure." in page.text and 'id="exception-form"' not in page.text
    assert "Leave out" not in client.get("/service/performance/2026-11/CPM1").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = client.post("/service/performance/exceptions", data={"csrf_token": token, "measure": "CPM1",
                                                                   "ref": late, "reason": "maintenance"})
    assert refused.status_code == 403
    client.cookies.clear()

    assert login(client, "dora").status_code == 303
    behind = client.get("/service/performance/2026-11/CPM1")
    assert f'href="/service/performance?measure=CPM1&amp;ref={late.replace(":", "%3A")}#exceptions"' in behind.text
    page = client.get("/service/performance", params={"measure": "CPM1", "ref": late})
    assert f'value="{late}"' in page.text  # the drill-down's link fills the form in
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    no_reason = client.post("/service/performance/exceptions", data={"csrf_token": token, "measure": "CPM1",
                                                                     "ref": late, "reason": ""})
    assert no_reason.status_code == 422 and 'id="err-reason"' in no_reason.text
    assert "Nothing was saved" in no_reason.text
    added = client.post("/service/performance/exceptions", data={"csrf_token": token, "measure": "CPM1", "ref": late,
                                                                 "reason": "DCC scheduled maintenance"},
                        follow_redirects=False)
    assert added.status_code == 303
    page = client.get("/service/performance")
    assert "DCC scheduled maintenance" in page.text and "75.00%" in page.text  # 3 of 4 once it is left out
    exception_id = re.search(r'/service/performance/exceptions/(\d+)/remove', page.text).group(1)
    removed = client.post(f"/service/performance/exceptions/{exception_id}/remove", data={"csrf_token": token},
                          follow_redirects=False)
    assert removed.status_code == 303 and "60.00%" in client.get("/service/performance").text


def test_firmware_payloads_are_pm2_and_count_in_cpm1(client, recorded, session, settings):
    from gbsmart.gateway.enums import TrtClass
    from gbsmart.gateway.journal import trt_for
    from gbsmart.gateway.matrix import WebService, request_matrix

    at = NOV
    firmware = trt_for(settings, request_matrix()["11.1"], WebService.NON_DEVICE, at)
    assert firmware == (TrtClass.FIRMWARE, at + timedelta(seconds=settings.trt_firmware_seconds))
    assert trt_for(settings, request_matrix()["8.2"], WebService.NON_DEVICE, at)[0] is TrtClass.NON_DEVICE
    due = firmware[1]
    for n, done in ((20, due - timedelta(hours=1)), (21, due + timedelta(hours=3))):  # one in time, one late
        session.add(GatewayMessage(request_id=f"{A}:00-DB-12-34-56-78-90-A0:{n}", originator=A,
                                   target="00-DB-12-34-56-78-90-A0", counter=n, srv="11.1", command_variant=1,
                                   service="serviceD", state="completed", code="I0", explanation="",
                                   trt_class="firmware", received_at=at, answered_at=at, due_at=due,
                                   completed_at=done))
    session.commit()
    m = _measures(client, recorded["desk"], "2026-11")
    assert (m["PM2"]["counted"], m["PM2"]["met"], m["PM2"]["standing"]) == (2, 1, "below minimum")
    assert (m["CPM1"]["counted"], m["CPM1"]["met"]) == (7, 4)  # the five on-demand ones and the two payloads
    behind = client.get("/api/v1/service/performance/2026-11/PM2", headers=recorded["desk"]).json()
    assert [i["met"] for i in behind["items"]] == [False, True]
