"""Major incident reports (issue 13 point 3): time to restore and the categorisation history read from the incident,
issued by the DCC, commented on by reviewers, re-issued answering them, and printed as a PDF by headless Chromium."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def desk(world):
    return world.user("dora", "dcc", org=world.org("DCC", "dcc"))


def test_a_major_incident_report_is_issued_reviewed_reissued_and_printed(client, desk, world, clock, settings):
    body = {"title": "Service Requests failing in CSP Central and South", "type": "service_request_failure",
            "answers": {"srv": "all"}}
    ref = client.post("/api/v1/incidents", json={**body, "category": 2}, headers=desk).json()["reference"]
    clock.advance(minutes=25)
    client.post(f"/api/v1/incidents/{ref}/category", json={"category": 1, "reason": "every User affected"},
                headers=desk)
    clock.advance(hours=2, minutes=39)
    client.post(f"/api/v1/incidents/{ref}/status", json={"status": "resolved", "note": "broker node replaced"},
                headers=desk)
    report = client.get(f"/api/v1/incidents/{ref}/report", headers=desk).json()
    assert report["major"] and report["time_to_restore"] == "3 h 4 min" and report["issues"] == []
    assert [(c["before"], c["after"]) for c in report["categorisation"]] == [(None, 2), (2, 1)]

    secas = world.user("cara", "code_administrator")
    nothing = client.post(f"/api/v1/incidents/{ref}/report/comments", json={"text": "too early"}, headers=secas)
    assert nothing.status_code == 409
    first = {"summary": "Service Requests were refused for 3 hours.", "services": "Service Requests\nAlerts",
             "users": "All Users in CSP Central and South", "root_cause": "A message broker node failed.",
             "remediation": "Replace the node\nAdd monitoring of the broker's queue depth"}
    assert client.post(f"/api/v1/incidents/{ref}/report", json=first, headers=secas).status_code == 403
    issued = client.post(f"/api/v1/incidents/{ref}/report", json=first, headers=desk)
    assert issued.status_code == 201 and issued.json()["issues"][0]["version"] == 1
    client.post(f"/api/v1/incidents/{ref}/report/comments", json={"text": "Say when monitoring will be in place."},
                headers=secas)
    unanswered = client.post(f"/api/v1/incidents/{ref}/report", json=first, headers=desk)
    assert unanswered.status_code == 422 and unanswered.json()["detail"][0]["field"] == "response_to_comments"
    second = client.post(f"/api/v1/incidents/{ref}/report", json={
        **first, "response_to_comments": "Monitoring goes live on 14 December."}, headers=desk).json()
    assert [i["version"] for i in second["issues"]] == [1, 2]
    assert second["issues"][0]["comments"][0]["text"] == "Say when monitoring will be in place."
    assert second["issues"][1]["response_to_comments"] == "Monitoring goes live on 14 December."

    minor = client.post("/api/v1/incidents", json={**body, "category": 4}, headers=desk).json()["reference"]
    refused = client.post(f"/api/v1/incidents/{minor}/report", json=first, headers=desk)
    assert refused.status_code == 409 and "not a major incident" in refused.json()["error"]
    other = world.user("olive", "party_user", org=world.org("Other Energy", "sec_party"))
    assert client.get(f"/api/v1/incidents/{ref}/report", headers=other).status_code == 404

    if shutil.which(settings.chromium_path) is None and shutil.which("chromium") is None:
        pytest.skip("no Chromium to print the PDF (scripts/test installs it)")
    pdf = client.get(f"/api/v1/incidents/{ref}/report/pdf", headers=desk)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == \
        "application/pdf"
    assert f'{ref}-v2.pdf' in pdf.headers["content-disposition"]


def test_the_report_page_shows_the_issues_and_takes_a_comment(client, desk, world, clock):
    from tests.web.test_auth import _csrf, login

    body = {"title": "Alerts late", "type": "other", "category": 1}
    ref = client.post("/api/v1/incidents", json=body, headers=desk).json()["reference"]
    client.post(f"/api/v1/incidents/{ref}/report", json={"summary": "Alerts were late for an hour."}, headers=desk)
    world.person("cora", "code_administrator")
    assert login(client, "cora").status_code == 303
    page = client.get(f"/incidents/{ref}/report")
    assert page.status_code == 200 and "Alerts were late for an hour." in page.text and 'id="issue-1"' in page.text
    assert 'id="issue-form"' not in page.text  # only the DCC issues
    posted = client.post(f"/incidents/{ref}/report/comment", data={"text": "Which Users?",
                                                                   "csrf_token": _csrf(page.text)},
                         follow_redirects=True)
    assert posted.status_code == 200 and "Which Users?" in posted.text
    empty = client.post(f"/incidents/{ref}/report/comment", data={"text": "", "csrf_token": _csrf(page.text)})
    assert empty.status_code == 422 and 'id="err-text"' in empty.text
