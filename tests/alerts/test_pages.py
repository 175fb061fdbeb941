"""The portal over alerts through HTTP: the dashboard, outages and broadcasts pages, the banner fragment every page
asks for, and /api/v1/alerts/summary, each signed in and scoped like the DCC messages (the DCC and SECAS see every
User's figures, a User organisation's people their own)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from gbsmart.models.alerts import ServiceBroadcast
from tests.alerts import rows
from tests.alerts.rows import DISTRIBUTOR, OTHER_SUPPLIER, SUPPLIER
from tests.web.test_auth import login


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _sample(session, clock) -> None:
    now = clock.now()
    for i in range(30):
        rows.alert(session, now - timedelta(minutes=2 * i), code="8F3E", region="Central")
    for i in range(6):
        rows.alert(session, now - timedelta(minutes=7 * i), code="8F12", region="North", outcome="throttled")
    rows.outage(session, now - timedelta(hours=1), ad1_after=-10)
    rows.outage(session, now - timedelta(hours=1), ad1_after=12)
    rows.breach(session, now - timedelta(minutes=55), cause="endpoint timed out after 30 s")
    rows.throttle(session, now - timedelta(minutes=30), n=25)
    for _ in range(4):
        rows.message(session, SUPPLIER, now - timedelta(minutes=20), priority="alert")
    rows.message(session, OTHER_SUPPLIER, now - timedelta(minutes=20), priority="bulk")
    rows.message(session, SUPPLIER, now - timedelta(days=3), expired_at=now - timedelta(hours=1),
                 last_error="HTTP 503 from the endpoint")
    rows.message(session, OTHER_SUPPLIER, now - timedelta(days=3), expired_at=now - timedelta(hours=1),
                 last_error="someone else's secret")
    session.commit()


def test_pages_and_the_banner_need_a_sign_in(client) -> None:
    for path in ("/alerts", "/alerts/outages", "/alerts/broadcasts"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), (path, r.status_code)
    # the banner of a page whose session ended: nothing shown, and htmx told to stop asking (286)
    r = client.get("/alerts/banner", follow_redirects=False)
    assert (r.status_code, r.text) == (286, "")
    assert client.get("/api/v1/alerts/summary").status_code == 401


def test_the_dcc_sees_every_users_figures_and_the_chart(client, world, session, clock) -> None:
    rows.users(session, world)
    _sample(session, clock)
    world.person("dcc.ops", "dcc")
    assert login(client, "dcc.ops").status_code == 303
    page = client.get("/alerts")
    assert page.status_code == 200
    html = page.text
    assert html.count('<rect class="vol"') == 4         # 24h in hours: 8F3E and 8F12, each in two hours
    assert client.get("/alerts?range=1h").text.count('<rect class="vol"') >= 12      # in 5 minutes
    assert 'data-code="8F3E"' in html and ">30<" in html.split('data-code="8F3E"')[1].split("</tr>")[0]
    users = html.split('id="users"')[1].split("</table>")[0]
    assert SUPPLIER in users and OTHER_SUPPLIER in users
    assert "someone else&#39;s secret" in html and "endpoint timed out after 30 s" in html
    assert 'id="throttle-devices"' in html
    ad1 = html.split('data-what="ad1"')[1].split("</tr>")[0]
    assert "50.0%" in ad1
    api = client.get("/api/v1/alerts/summary?range=6h").json()
    assert api["volumes"]["total"] == 36 and api["volumes"]["by_outcome"] == {"routed": 30, "throttled": 6}
    assert api["deadlines"]["ad1"] == {"what": "AD1 Power Outage Event", "due": 2, "within": 1, "late": 1,
                                       "pending": 0, "within_percent": 50.0}
    assert {u["user_id"] for u in api["users"]} == {SUPPLIER, OTHER_SUPPLIER}
    assert api["throttling"]["top_devices"] == [{"device_id": rows.METER, "code": "8F3E", "alerts": 25}]
    assert sum(sum(b["by_code"].values()) for b in api["volumes"]["buckets"]) == 36
    outages = client.get("/alerts/outages").text
    assert outages.count('data-state="reported"') == 2 and "LATE" in outages and "within deadline" in outages


def test_a_user_organisation_sees_its_own_users_only(client, world, session, clock) -> None:
    supplier, network, _ = rows.users(session, world)
    _sample(session, clock)
    world.person("supplier.user", "party_user", org=supplier)
    headers = world.user("network.user", "party_user", org=network)
    login(client, "supplier.user")
    html = client.get("/alerts").text
    users = html.split('id="users"')[1].split("</table>")[0]
    assert SUPPLIER in users and OTHER_SUPPLIER not in users
    assert "HTTP 503 from the endpoint" in html and "someone else" not in html
    assert 'id="throttle-devices"' not in html and "No deadline missed" in html
    mine = client.get("/api/v1/alerts/summary").json()
    assert mine["sees_every_user"] is False and mine["throttling"]["top_devices"] is None
    assert [u["user_id"] for u in mine["users"]] == [SUPPLIER] and mine["users"][0]["waiting"] == {"alert": 4}
    assert [m["user_id"] for m in mine["expired"]] == [SUPPLIER]
    assert mine["deadlines"]["ad1"]["due"] == 0 and mine["volumes"]["total"] == 36   # totals are no one's
    assert 'data-state="reported"' not in client.get("/alerts/outages").text
    network_view = client.get("/api/v1/alerts/summary", headers=headers).json()
    assert network_view["deadlines"]["ad1"]["due"] == 2 and network_view["deadlines"]["breach_count"] == 1
    assert client.get("/api/v1/alerts/outages", headers=headers).json()["items"][0]["distributor"] == DISTRIBUTOR


def test_a_bad_range_or_state_is_a_clear_422(client, world) -> None:
    world.person("dcc.ops", "dcc")
    login(client, "dcc.ops")
    r = client.get("/alerts?range=forever")
    assert r.status_code == 422 and "range: must be one of 1h, 6h, 24h, 7d" in r.text
    api = client.get("/api/v1/alerts/summary?range=forever")
    assert api.status_code == 422 and api.json()["detail"][0]["field"] == "range"
    assert client.get("/api/v1/alerts/outages?state=gone").status_code == 422


def test_broadcasts_published_in_the_portal_show_in_every_pages_banner(client, world, session, settings) -> None:
    world.person("dcc.ops", "dcc")
    login(client, "dcc.ops")
    page = client.get("/alerts/broadcasts")
    assert 'id="broadcast-form"' in page.text
    home = client.get("/")
    assert 'hx-get="/alerts/banner"' in home.text and 'hx-trigger="load, every 60s"' in home.text
    bad = client.post("/alerts/broadcasts", data={"csrf_token": _csrf(page.text), "title": "", "body": "x",
                                                  "severity": "loud"})
    assert bad.status_code == 422 and 'id="err-title"' in bad.text and 'id="err-severity"' in bad.text
    ok = client.post("/alerts/broadcasts", data={"csrf_token": _csrf(page.text), "title": "CSP South: outage",
                                                 "body": "Alerts from CSP South are delayed.",
                                                 "severity": "critical"}, follow_redirects=False)
    assert ok.status_code == 303
    banner = client.get("/alerts/banner")
    assert "CSP South: outage" in banner.text and 'role="alert"' in banner.text
    assert banner.headers["cache-control"] == "no-store"
    bid = session.scalar(select(func.max(ServiceBroadcast.id)))
    ended = client.post(f"/alerts/broadcasts/{bid}/end", data={"csrf_token": _csrf(page.text)},
                        follow_redirects=False)
    assert ended.status_code == 303 and "CSP South" not in client.get("/alerts/banner").text


def test_other_people_see_broadcasts_but_may_not_publish(client, world) -> None:
    world.person("supplier.user", "party_user")
    login(client, "supplier.user")
    page = client.get("/alerts/broadcasts")
    assert page.status_code == 200 and 'id="broadcast-form"' not in page.text
    r = client.post("/alerts/broadcasts", data={"csrf_token": _csrf(client.get("/").text), "title": "Mine",
                                                "body": "x"})
    assert r.status_code == 403 and "DCC or Code Administrator" in r.text
    no_token = client.post("/alerts/broadcasts", data={"title": "Mine", "body": "x"})
    assert no_token.status_code == 403


def test_the_users_own_people_mark_its_expired_messages_seen_and_no_one_else_may(client, world, session,
                                                                               clock) -> None:
    from gbsmart.models.alerts import NorthboundMessage

    supplier, network, _ = rows.users(session, world)
    _sample(session, clock)
    dcc = world.user("dcc.api", "dcc")
    network_people = world.user("network.user", "party_user", org=network)
    refused = client.post("/api/v1/alerts/expired/acknowledge", json={"user_id": SUPPLIER}, headers=dcc)
    assert refused.status_code == 403 and "Only people of the organisation" in refused.text
    assert client.post("/api/v1/alerts/expired/acknowledge", json={"user_id": SUPPLIER},
                       headers=network_people).status_code == 403
    bad = client.post("/api/v1/alerts/expired/acknowledge", json={"user_id": "nobody"}, headers=network_people)
    assert bad.status_code == 422 and "user_id" in bad.text

    world.person("supplier.user", "party_user", org=supplier)
    login(client, "supplier.user")
    html = client.get("/alerts").text
    assert f"Mark the expired messages of {SUPPLIER} as seen" in html and OTHER_SUPPLIER not in html
    assert html.split('id="expired"')[1].split("</table>")[0].count("not yet") == 1
    done = client.post("/alerts/expired/acknowledge", data={"user_id": SUPPLIER, "csrf_token": _csrf(html)},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/alerts?acknowledged=1#expired"
    after = client.get(done.headers["location"]).text
    assert "Marked 1 expired message as seen" in after and "Mark the expired messages of" not in after
    assert "not yet" not in after.split('id="expired"')[1].split("</table>")[0]
    mine = client.get("/api/v1/alerts/summary").json()
    assert mine["users"][0]["expired_unreported"] == 0 and mine["expired"][0]["expiry_reported_at"] is not None
    seen = dict(session.execute(select(NorthboundMessage.user_id, NorthboundMessage.expiry_reported_at)
                                .where(NorthboundMessage.expired_at.is_not(None))).all())
    assert seen[SUPPLIER] is not None and seen[OTHER_SUPPLIER] is None  # another User's stays unseen
