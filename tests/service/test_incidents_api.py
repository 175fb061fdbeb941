"""Incidents through the API, as Users and the DCC use them: raise with the type's questions, time left to SLA
with the clock moved (never slept), the clock stopped while the incident waits for its User, the views (less than
24 hours to breach, breached), who sees and who may do what, and the timeline."""

from __future__ import annotations

import pytest

from gbsmart.models.parties import DccUser

SUPPLIER_ID, OTHER_ID = "90-B3-D5-1F-30-01-00-0A", "90-B3-D5-1F-30-01-00-0B"


@pytest.fixture
def people(world, session):
    supplier = world.org("Bright Energy", "sec_party", "large_supplier")
    other = world.org("Other Energy", "sec_party", "large_supplier")
    dcc = world.org("DCC", "dcc")
    session.add_all([DccUser(organisation_id=supplier.id, eui64=SUPPLIER_ID),
                     DccUser(organisation_id=other.id, eui64=OTHER_ID)])
    session.commit()
    return {"supplier": world.user("sam", "party_user", org=supplier),
            "other": world.user("olive", "party_user", org=other),
            "desk": world.user("dora", "dcc", org=dcc),
            "secas": world.user("cara", "code_administrator"),
            "nobody": world.user("nora", "panel_member")}


CH = {"title": "Dual band hub needed at flat 3", "type": "wrong_ch_variant", "category": 1,
      "answers": {"device_id": "00-db-12-34-56-78-90-a2", "installed_variant": "single band",
                  "needed_variant": "dual band"}, "user_id": SUPPLIER_ID, "csp_region": "north"}


def _raise(client, who, **more):
    answer = client.post("/api/v1/incidents", json={**CH, **more}, headers=who)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_user_raises_an_incident_and_watches_its_time_left(client, people, clock):
    got = client.post("/api/v1/incidents", json=CH, headers=people["supplier"])
    assert got.status_code == 201, got.text
    i = got.json()
    assert got.headers["location"] == f"/api/v1/incidents/{i['reference']}" and i["reference"].startswith("INC")
    assert (i["status"], i["assignee"], i["category_name"], i["target"]) == ("open", "DCC Service Desk", "Critical",
                                                                             "4 hours")
    assert i["answers"] == {"device_id": "00-DB-12-34-56-78-90-A2", "installed_variant": "single band",
                            "needed_variant": "dual band"} and i["csp_region"] == "North"
    assert i["sla_left_seconds"] == 4 * 3600 and i["sla_left"] == "4 h 00 min left" and i["sla_running"]
    assert i["organisation"] == "Bright Energy" and [e["kind"] for e in i["events"]] == ["raised"]
    clock.advance(hours=3, minutes=30)
    later = client.get(f"/api/v1/incidents/{i['reference']}", headers=people["supplier"]).json()
    assert later["sla_left"] == "0 h 30 min left"
    soon = client.get("/api/v1/incidents", params={"view": "due_24h"}, headers=people["supplier"]).json()
    assert [x["reference"] for x in soon] == [i["reference"]]
    clock.advance(hours=1)
    breached = client.get("/api/v1/incidents", params={"view": "breached"}, headers=people["desk"]).json()
    assert [x["reference"] for x in breached] == [i["reference"]]
    assert breached[0]["sla_left"] == "breached by 0 h 30 min"
    assert client.get("/api/v1/incidents", params={"view": "due_24h"}, headers=people["desk"]).json() == []


def test_bad_input_names_the_field(client, people):
    def refused(body):
        answer = client.post("/api/v1/incidents", json=body, headers=people["supplier"])
        assert answer.status_code == 422, answer.text
        return answer.json()

    no_category = refused({k: v for k, v in CH.items() if k != "category"})
    assert "category" in str(no_category["detail"])
    assert "must be one of 1, 2, 3, 4, 5" in refused({**CH, "category": 7})["error"]
    wrong = refused({**CH, "answers": {"device_id": "hub", "installed_variant": "mesh"}})
    assert {d["field"] for d in wrong["detail"]} == {"answers.device_id", "answers.needed_variant"}
    assert "not one of your organisation's" in refused({**CH, "user_id": OTHER_ID})["error"]
    assert "North, Central or South" in refused({**CH, "csp_region": "East"})["error"]
    assert "is not an incident type" in refused({**CH, "type": "gremlins"})["error"]


def test_who_sees_an_incident_and_who_may_work_on_it(client, people):
    i = _raise(client, people["supplier"])
    ref = i["reference"]
    assert client.get(f"/api/v1/incidents/{ref}", headers=people["other"]).status_code == 404  # not "forbidden"
    assert client.get("/api/v1/incidents", headers=people["other"]).json() == []
    for who in ("desk", "secas"):
        assert [x["reference"] for x in client.get("/api/v1/incidents", headers=people[who]).json()] == [ref]
    refused = client.post(f"/api/v1/incidents/{ref}/assign", json={"kind": "service_provider", "to": "CSP North"},
                          headers=people["supplier"])
    assert refused.status_code == 403 and "service desk" in refused.json()["error"]
    assert client.post(f"/api/v1/incidents/{ref}/status", json={"status": "resolved", "note": "done"},
                       headers=people["supplier"]).status_code == 403
    assert client.post("/api/v1/incidents", json={**CH, "user_id": None}, headers=people["nobody"]).status_code == 403
    assert client.get("/api/v1/incidents").status_code == 401


def test_handed_back_to_the_user_the_clock_stops_until_the_user_answers(client, people, clock):
    ref = _raise(client, people["supplier"], category=2)["reference"]
    clock.advance(hours=1)
    sp = client.post(f"/api/v1/incidents/{ref}/assign", json={"kind": "service_provider", "to": "CSP North"},
                     headers=people["desk"]).json()
    assert (sp["status"], sp["assignee"], sp["sla_left"]) == ("in_progress", "CSP North", "7 h 00 min left")
    back = client.post(f"/api/v1/incidents/{ref}/assign", json={"kind": "user", "note": "Which flat is it?"},
                       headers=people["desk"]).json()
    assert (back["status"], back["assignee"], back["sla_running"]) == ("awaiting_user", "Bright Energy", False)
    clock.advance(hours=20)  # the User takes 20 hours to answer: none of it counts (test tokens last a day)
    waiting = client.get(f"/api/v1/incidents/{ref}", headers=people["supplier"]).json()
    assert waiting["sla_left"] == "clock stopped, 7 h 00 min left" and waiting["due_at"] is None
    answered = client.post(f"/api/v1/incidents/{ref}/status", json={"status": "in_progress", "note": "Flat 3"},
                           headers=people["supplier"]).json()
    assert (answered["status"], answered["assignee"], answered["sla_running"]) == ("in_progress",
                                                                                    "DCC Service Desk", True)
    clock.advance(hours=2)
    assert client.get(f"/api/v1/incidents/{ref}", headers=people["desk"]).json()["sla_left"] == "5 h 00 min left"
    unresolved = client.post(f"/api/v1/incidents/{ref}/status", json={"status": "resolved"}, headers=people["desk"])
    assert unresolved.status_code == 422 and unresolved.json()["detail"][0]["field"] == "note"
    done = client.post(f"/api/v1/incidents/{ref}/status", json={"status": "resolved", "note": "Hub exchanged"},
                       headers=people["desk"]).json()
    assert done["status"] == "resolved" and done["sla_left"] == "met" and done["resolution"] == "Hub exchanged"
    closed = client.post(f"/api/v1/incidents/{ref}/status", json={"status": "closed"},
                         headers=people["supplier"]).json()
    assert closed["status"] == "closed"
    late_note = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "thanks"}, headers=people["supplier"])
    assert late_note.status_code == 409
    wrong_move = client.post(f"/api/v1/incidents/{ref}/status", json={"status": "open"}, headers=people["desk"])
    assert wrong_move.status_code == 409 and "it cannot become open" in wrong_move.json()["error"]
    events = client.get(f"/api/v1/incidents/{ref}", headers=people["desk"]).json()["events"]
    assert [(e["kind"], e["after"]) for e in events] == [
        ("raised", "2"), ("assigned", "CSP North"), ("status", "in_progress"), ("assigned", "Bright Energy"),
        ("status", "awaiting_user"), ("status", "in_progress"), ("assigned", "DCC Service Desk"),
        ("status", "resolved"), ("status", "closed")]


def test_a_category_change_sets_a_new_target_and_is_kept_in_the_timeline(client, people, clock):
    ref = _raise(client, people["supplier"], category=4)["reference"]  # 3 working days
    first = client.get(f"/api/v1/incidents/{ref}", headers=people["desk"]).json()
    assert first["target"] == "3 working days"
    refused = client.post(f"/api/v1/incidents/{ref}/category", json={"category": 1, "reason": ""},
                          headers=people["desk"])
    assert refused.status_code == 422
    major = client.post(f"/api/v1/incidents/{ref}/category", json={"category": 1, "reason": "whole estate affected"},
                        headers=people["desk"]).json()
    assert major["category"] == 1 and major["target"] == "4 hours" and major["sla_left_seconds"] == 4 * 3600
    assert major["events"][-1]["kind"] == "category" and (major["events"][-1]["before"],
                                                           major["events"][-1]["after"]) == ("4", "1")
    listed = client.get("/api/v1/incidents", params={"sort": "category"}, headers=people["desk"]).json()
    assert listed[0]["reference"] == ref
    types = client.get("/api/v1/incidents/types", headers=people["supplier"]).json()
    assert [c["target"] for c in types["categories"]] == ["4 hours", "8 hours", "24 hours", "3 working days",
                                                          "5 working days"]
    assert any(t["key"] == "wrong_ch_variant" and t["premises"] for t in types["types"])
