"""The portal's alert figures (``alerts.queries``) from rows as the engines write them: volumes by code, CSP region
and time bucket (the SQL bucketing checked against Python's), deadline compliance, throttling, each User's backlog,
delivery rate and expired messages, power outages, and who sees what."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from gbsmart.alerts import queries
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Invalid
from tests.alerts import rows
from tests.alerts.rows import DISTRIBUTOR, OTHER_SUPPLIER, SUPPLIER


def _as(ctx: Ctx, *roles: str, org=None) -> Ctx:  # noqa: ANN001
    actor = Actor(person_id=None, username="reader", name="Reader", roles=frozenset(roles),
                  organisation_id=org.id if org else None)
    return Ctx(session=ctx.session, actor=actor, clock=ctx.clock, settings=ctx.settings)


@pytest.fixture
def orgs(session, world):
    return rows.users(session, world)


def test_volumes_count_by_bucket_code_and_region_as_python_does(ctx, session, clock) -> None:
    now = clock.now()
    w = queries.window(now, "6h")
    assert w.end - w.bucket <= now < w.end and len(w.buckets) == 12
    rng = random.Random(11)
    expected: dict[tuple[int, str], int] = {}
    by_region: dict[tuple[str, str], int] = {}
    for _ in range(400):
        at = w.start + timedelta(seconds=rng.uniform(-3600, (w.end - w.start).total_seconds() + 3600))
        code, region = rng.choice(["8F3E", "8F12", "8F35"]), rng.choice(["North", "Central", "South", None])
        rows.alert(session, at, code=code, region=region)
        if w.start <= at < w.end:
            b = int((at - w.start).total_seconds() // w.bucket.total_seconds())
            expected[(b, code)] = expected.get((b, code), 0) + 1
            key = (code, region or queries.UNKNOWN_REGION)
            by_region[key] = by_region.get(key, 0) + 1
    rows.alert(session, w.start, code="8F12")          # the first instant is in
    rows.alert(session, w.end, code="8F12")            # the end is out
    expected[(0, "8F12")] = expected.get((0, "8F12"), 0) + 1
    by_region[("8F12", "Central")] = by_region.get(("8F12", "Central"), 0) + 1
    session.commit()

    v = queries.volumes(ctx, w)
    got = {(i, c): n for i, b in enumerate(v.by_bucket) for c, n in b.items()}
    assert got == expected
    assert {(c, r): n for c, per in v.by_code_region.items() for r, n in per.items()} == by_region
    assert v.total == sum(expected.values()) == v.by_outcome["routed"]
    assert v.codes[0] == max(v.by_code_region, key=lambda c: sum(v.by_code_region[c].values()))
    north = queries.volumes(ctx, w, region="North")
    assert north.total == sum(n for (c, r), n in by_region.items() if r == "North")
    unknown = queries.volumes(ctx, w, region="unknown", code="8f35")
    assert unknown.total == by_region.get(("8F35", "unknown"), 0)


def test_ranges_are_bounded_and_named(clock) -> None:
    with pytest.raises(Invalid) as err:
        queries.window(clock.now(), "1y")
    assert err.value.detail[0]["field"] == "range"
    w = queries.window(clock.now(), "7d")
    with pytest.raises(Invalid):
        queries._check(queries.Window(w.start - timedelta(days=30), w.end, w.bucket))


def test_deadline_compliance_counts_within_late_and_pending(ctx, session, clock, orgs) -> None:
    now = clock.now()
    w = queries.window(now, "24h")
    hour_ago = now - timedelta(hours=1)
    rows.outage(session, hour_ago, ad1_after=-20)                         # within
    rows.outage(session, hour_ago, ad1_after=0)                           # within: at the deadline is in time
    rows.outage(session, hour_ago, ad1_after=7)                           # late
    rows.outage(session, hour_ago, ad1_after=None)                        # undelivered past its deadline: late
    rows.outage(session, now - timedelta(minutes=1), state="lost")        # inside the wait: pending
    rows.outage(session, hour_ago, state="restored_early", restored_after=60)   # nothing due
    rows.outage(session, hour_ago, state="restored", ad1_after=-30, restored_after=600, restoration_after=-10)
    rows.outage(session, hour_ago, state="restored", ad1_after=-30, restored_after=600, restoration_after=30)
    rows.outage(session, hour_ago - timedelta(days=2), ad1_after=99)      # outside the range
    rows.outage(session, hour_ago, distributor=OTHER_SUPPLIER, ad1_after=50)   # another User's
    rows.breach(session, now - timedelta(minutes=50))
    rows.breach(session, now - timedelta(minutes=40))
    rows.breach(session, now - timedelta(minutes=30), cause="queued behind 10,000 responses")
    rows.breach(session, now - timedelta(minutes=30), user_id=OTHER_SUPPLIER, cause="someone else's")
    session.commit()

    d = queries.deadlines(_as(ctx, "dcc"), w)
    assert (d.ad1.within, d.ad1.late, d.ad1.pending) == (4, 3, 1)
    assert d.ad1.within_percent == round(100 * 4 / 7, 2)
    assert (d.restoration.within, d.restoration.late, d.restoration.pending) == (1, 1, 0)
    assert d.outages == {"reported": 5, "lost": 1, "restored_early": 1, "restored": 2}
    assert d.breach_count == 4 and d.breach_causes[0] == ("the Network Operator's endpoint answered 503", 2)

    _, network, _ = orgs
    mine = queries.deadlines(_as(ctx, "party_user", org=network), w)
    assert (mine.ad1.within, mine.ad1.late, mine.ad1.pending) == (4, 2, 1)
    assert mine.breach_count == 3 and {b.user_id for b in mine.breaches} == {DISTRIBUTOR}
    nobody = queries.deadlines(_as(ctx, "party_user"), w)
    assert nobody.ad1.due == 0 and nobody.breaches == []


def test_throttling_state_and_who_sees_the_devices(ctx, session, clock, orgs) -> None:
    now = clock.now()
    w = queries.window(now, "1h")
    rows.throttle(session, now - timedelta(minutes=10), n=40)
    rows.throttle(session, now - timedelta(minutes=10), device="00-DB-00-00-00-00-00-01", n=5)
    rows.throttle(session, now - timedelta(minutes=20), code="8F12", n=7, emitted_at=now - timedelta(minutes=5))
    rows.throttle(session, now - timedelta(hours=5), code="8F12", n=100, emitted_at=now - timedelta(hours=4))
    session.commit()
    t = queries.throttling(_as(ctx, "dcc"), w)
    assert (t.open_summaries, t.open_alerts, t.emitted_summaries, t.emitted_alerts) == (2, 45, 1, 7)
    assert t.top_codes == [("8F3E", 45), ("8F12", 7)]
    assert t.top_devices is not None and t.top_devices[0] == (rows.METER, "8F3E", 40)
    supplier, _, _ = orgs
    hidden = queries.throttling(_as(ctx, "party_user", org=supplier), w)
    assert hidden.top_devices is None and hidden.top_codes == t.top_codes


def test_backlog_delivery_rate_and_expired_per_user(ctx, session, clock, orgs) -> None:
    now = clock.now()
    w = queries.window(now, "24h")
    oldest = now - timedelta(hours=3)
    for i in range(3):
        rows.message(session, SUPPLIER, oldest + timedelta(minutes=i), priority="alert")
    rows.message(session, SUPPLIER, now - timedelta(minutes=1), priority="on_demand", kind="response", code="I0")
    rows.message(session, SUPPLIER, now - timedelta(minutes=1), priority="nonsense_class")
    rows.message(session, DISTRIBUTOR, now - timedelta(seconds=50), priority="power_outage", kind="dcc_alert",
                 code="AD1")
    for s in (10, 30, 59, 61, 1800, 3599, 3601):
        rows.message(session, SUPPLIER, now - timedelta(hours=2), delivered_at=now - timedelta(seconds=s))
    rows.message(session, SUPPLIER, now - timedelta(days=3), expired_at=now - timedelta(hours=2),
                 reported_at=now - timedelta(hours=2), last_error="connection refused")
    rows.message(session, SUPPLIER, now - timedelta(days=3), expired_at=now - timedelta(hours=1),
                 last_error="HTTP 503")
    rows.message(session, OTHER_SUPPLIER, now - timedelta(days=3), expired_at=now - timedelta(hours=1))
    rows.message(session, SUPPLIER, now - timedelta(days=9), expired_at=now - timedelta(days=2))  # outside
    session.commit()

    b = queries.backlog(_as(ctx, "code_administrator"), w)
    assert b.classes == ["power_outage", "on_demand", "alert", "nonsense_class"]
    by_user = {u.user_id: u for u in b.users}
    s = by_user[SUPPLIER]
    assert s.waiting == {"alert": 3, "on_demand": 1, "nonsense_class": 1} and s.waiting_total == 5
    assert s.oldest_waiting_at == oldest
    assert (s.delivered_last_minute, s.delivered_last_hour) == (3, 6)
    assert (s.expired, s.expired_unreported) == (2, 1)
    assert by_user[DISTRIBUTOR].waiting == {"power_outage": 1}
    assert by_user[OTHER_SUPPLIER].expired == 1
    assert b.users[0].user_id == SUPPLIER                     # most waiting first

    supplier, _, _ = orgs
    mine = _as(ctx, "party_user", org=supplier)
    assert [u.user_id for u in queries.backlog(mine, w).users] == [SUPPLIER]
    expired = queries.expired_messages(mine, w)
    assert [m.last_error for m in expired] == ["HTTP 503", "connection refused"]
    assert queries.expired_messages(ctx, w) == []             # a system actor is no operator: sees none (as messages)
    assert queries.backlog(_as(ctx, "party_user"), w).users == []


def test_outages_are_paged_newest_first_and_scoped(ctx, session, clock, orgs) -> None:
    now = clock.now()
    made = [rows.outage(session, now - timedelta(minutes=i), ad1_after=-5) for i in range(7)]
    rows.outage(session, now, distributor=OTHER_SUPPLIER)
    rows.outage(session, now, state="restored_early", restored_after=30)
    session.commit()
    _, network, _ = orgs
    mine = _as(ctx, "party_user", org=network)
    first = queries.outages(mine, limit=4)
    second = queries.outages(mine, cursor=first.next_cursor, limit=4)
    seen = [p.id for p in first.items + second.items]
    assert len(seen) == len(set(seen)) == 8 and second.next_cursor is None
    assert made[-1].id == seen[-1]
    assert [p.state for p in queries.outages(_as(ctx, "dcc"), state="restored_early").items] == ["restored_early"]
    with pytest.raises(Invalid):
        queries.outages(mine, state="gone")
    with pytest.raises(Invalid):
        queries.outages(mine, cursor="not-a-cursor")
