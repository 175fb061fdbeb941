"""The Operations Group's monthly report (issue 13 point 6): every figure from recorded rows (the journal, the
alerts' minute roll-up, incidents), marked AMBER on the page and on every printed page, and "not recorded" rather
than made-up figures for Communications Hub exceptions."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from gbsmart.models.alerts import AlertVolumeMinute
from tests.service.test_performance import recorded  # noqa: F401  (the fixture)

MINUTE = datetime(2026, 11, 12, 8, 30, tzinfo=UTC)


def test_the_monthly_report_is_computed_from_what_was_recorded(client, recorded, session, clock, settings):  # noqa: F811
    desk = recorded["desk"]
    session.add_all([AlertVolumeMinute(minute=MINUTE, code="8F3E", csp_region="North", outcome="routed", alerts=120),
                     AlertVolumeMinute(minute=MINUTE, code="8F3E", csp_region="South", outcome="throttled", alerts=30),
                     AlertVolumeMinute(minute=MINUTE, code="AD1", csp_region="North", outcome="routed", alerts=4),
                     AlertVolumeMinute(minute=datetime(2026, 10, 1, tzinfo=UTC), code="8F3E", csp_region="North",
                                       outcome="routed", alerts=999)])  # October: not this report's
    session.commit()
    clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    ref = client.post("/api/v1/incidents", json={"title": "Requests failing", "type": "other", "category": 1},
                      headers=desk).json()["reference"]
    clock.advance(hours=2)
    client.post(f"/api/v1/incidents/{ref}/status", json={"status": "resolved", "note": "fixed"}, headers=desk)
    client.post(f"/api/v1/incidents/{ref}/report", json={"summary": "Requests failed for 2 hours."}, headers=desk)
    clock.set(datetime(2026, 12, 3, 0, 0, tzinfo=UTC))

    r = client.get("/api/v1/service/report", headers=recorded["supplier"]).json()  # default: last month
    assert r["month"] == "2026-11" and r["marking"] == "AMBER"
    measures = {m["code"]: m for m in r["measures"]}
    assert (measures["CPM1"]["share"], measures["CPM1"]["standing"]) == (60.0, "below minimum")
    assert len(measures["CPM1"]["months"]) == 12 and measures["CPM1"]["months"][0]["month"] == "2025-12"
    assert measures["CPM4"]["standing"] == "target met" and measures["CPM6"]["standing"] == "no data"
    assert r["alerts"]["total"] == 154 and r["alerts"]["by_region"]["North"] == 124
    assert r["alerts"]["by_code"]["8F3E"] == {"North": 120, "South": 30}
    assert r["ch_exceptions"]["returns"] == 0 and r["ch_exceptions"]["return_share"] is None  # none: no 0%
    assert r["major_incidents"] == []  # the supplier does not see the DCC's own incident
    causes = r["cpm1_causes"]  # two misses, neither a firmware payload, on a device the SMI does not hold
    assert (causes["missed"], causes["firmware_missed"], causes["firmware_share"]) == (2, 0, 0.0)
    assert causes["by_region"]["unknown"]["cpm1_missed"] == 2 and causes["worst_region"] is None
    assert "PM2 is the main cause" not in causes["summary"] and "2 on-demand responses" in causes["summary"]
    everything = client.get("/api/v1/service/report", params={"month": "2026-11"}, headers=desk).json()
    assert [(m["reference"], m["time_to_restore"], m["report_version"]) for m in everything["major_incidents"]] == [
        (ref, "2 h 0 min", 1)]

    if shutil.which(settings.chromium_path) is None and shutil.which("chromium") is None:
        pytest.skip("no Chromium to print the PDF (scripts/test installs it)")
    pdf = client.get("/api/v1/service/report/pdf", params={"month": "2026-11"}, headers=desk)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "opsg-report-2026-11.pdf" in pdf.headers["content-disposition"]


def test_the_report_page_draws_a_chart_per_measure_and_marks_the_page(client, recorded, world):  # noqa: F811
    from tests.web.test_auth import login

    world.person("pat", "party_user", org=world.org("Bright Energy"))
    assert login(client, "pat").status_code == 303
    page = client.get("/service/report", params={"month": "2026-11"})
    assert page.status_code == 200
    assert 'id="report-marking"' in page.text and "AMBER" in page.text
    for code in ("CPM1", "CPM2", "CPM3", "CPM4", "CPM5", "CPM6"):
        assert f'id="chart-{code}"' in page.text
    assert 'class="point-red"' in page.text  # CPM1 at 60%: below its minimum
    assert 'id="no-ch-exceptions"' in page.text and 'id="no-alerts"' in page.text
    wrong = client.get("/service/report", params={"month": "November"})
    assert wrong.status_code == 422


def test_the_sub_committee_report_draft_pulls_in_the_operations_section(client, recorded, world):  # noqa: F811
    secas = world.user("cara", "code_administrator", org=world.org("SECAS", "secas"))
    drafted = client.post("/api/v1/papers/reports", json={"period_start": "2026-11-01", "period_end": "2026-11-30"},
                          headers=secas)
    assert drafted.status_code == 201, drafted.text
    body = drafted.json()["body"]
    assert "Technical Operations" in body and "Operations Group: service performance in November 2026" in body
    assert "| CPM1 On-demand Service Responses within their Target Response Time | 60.00% | 99% | 96% | " \
           "below minimum | 1 of 1 |" in body
    empty = client.post("/api/v1/papers/reports", json={"period_start": "2026-06-01", "period_end": "2026-06-30"},
                        headers=secas).json()["body"]
    assert "Technical Operations" not in empty  # nothing recorded for June: no section, no made-up figures
