"""A step's dates follow the proposal's own: nothing decided before it was raised, no past SEC Release for it;
and the Code Administrator adds the future releases that new proposals can target."""

from __future__ import annotations

from sqlalchemy import select

from gbsmart.models.audit import ChangeRecord
from tests.change.test_process_api import cast, ok, step  # noqa: F401  (cast is a fixture)


def _approved(client, h):
    """A Fast-Track proposal raised on 28 Jan 2020 (the test clock's today) and approved by the Panel."""
    ref = ok(client.post("/api/v1/proposals", headers=h["proposer"], json={
        "title": "Fix a typo in Section H", "problem_statement": "Section H14.3 cites the wrong appendix."}), 201)[
        "reference"]
    ok(step(client, h["secas"], ref, "ready_to_convert", route="report_phase"))
    mp = ok(step(client, h["panel"], ref, "convert"))["reference"]
    ok(step(client, h["panel"], mp, "set_path", path="fast_track"))
    ok(step(client, h["panel"], mp, "panel_approve"))
    return mp


def test_nothing_is_decided_before_the_proposal_was_raised(client, cast):  # noqa: F811
    mp = _approved(client, cast)
    r = step(client, cast["secas"], mp, "target_release", release="November 2020 Release", decided_on="2014-01-28")
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{"field": "decided_on",
                                   "message": "28 Jan 2014 is before the proposal was raised on 28 Jan 2020"}]
    ok(step(client, cast["secas"], mp, "target_release", release="November 2020 Release"))
    r = step(client, cast["secas"], mp, "implement", decided_on="2014-11-05")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "decided_on", r.text


def test_a_release_before_the_proposal_or_the_decision_is_refused(client, cast, session):  # noqa: F811
    from datetime import date

    from gbsmart.models.change import Release

    session.add(Release(name="February 2014 Release", release_date=date(2014, 2, 27), kind="scheduled"))
    session.commit()
    mp = _approved(client, cast)
    r = step(client, cast["secas"], mp, "target_release", release="February 2014 Release")
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == [{"field": "release", "message": "February 2014 Release (27 Feb 2014) was released "
                                                                  "before the proposal was raised on 28 Jan 2020"}]
    r = step(client, cast["secas"], mp, "target_release", release="November 2020 Release", decided_on="2020-12-01")
    assert r.status_code == 422 and "before this decision (01 Dec 2020)" in r.json()["detail"][0]["message"]
    r = step(client, cast["secas"], mp, "implement", release="February 2014 Release")
    assert r.status_code == 422 and {d["field"] for d in r.json()["detail"]} == {"decided_on", "release"}, r.text


def test_the_code_administrator_adds_a_future_release_and_a_proposal_targets_it(client, cast, session):  # noqa: F811
    h = cast
    body = {"name": "June 2021 Release", "release_date": "2021-06-24"}
    assert client.post("/api/v1/releases", headers=h["proposer"], json=body).status_code == 403
    past = client.post("/api/v1/releases", headers=h["secas"], json={**body, "release_date": "2020-01-27"})
    assert past.status_code == 422 and past.json()["detail"][0]["field"] == "release_date", past.text
    added = ok(client.post("/api/v1/releases", headers=h["secas"], json=body), 201)
    assert added["name"] == "June 2021 Release" and added["kind"] == "scheduled" and added["count"] == 0
    assert client.post("/api/v1/releases", headers=h["secas"], json=body).status_code == 409
    assert session.scalar(select(ChangeRecord.object_id).where(ChangeRecord.action == "release.add")) == \
        "June 2021 Release"
    mp = _approved(client, h)
    p = ok(step(client, h["secas"], mp, "target_release", release="June 2021 Release"))
    assert p["release"] == "June 2021 Release"
    p = ok(step(client, h["secas"], mp, "implement"))
    assert p["implementation_date"] == "2021-06-24"
