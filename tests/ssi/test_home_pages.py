"""The home and the feature switches in the portal (TestClient): ``/`` is a DCC User's home once the feature is on for
it, the switch page is the DCC's, and every figure on the page is the service's."""

from __future__ import annotations

import re

from gbsmart.ssi import features
from tests.ssi.test_home import traffic  # noqa: F401  (a fixture)
from tests.web.test_auth import _csrf, login


def test_slash_is_the_dcc_users_home_once_the_feature_is_on_for_it(ctx, session, client, traffic):  # noqa: F811
    assert login(client, "sue").status_code == 303
    messages = client.get("/messages").text  # a Party's people: "Find a request", not the DCC's switches
    assert 'href="/ssi/audit">Find a request' in messages and 'href="/ssi/features"' not in messages
    before = client.get("/")
    assert before.status_code == 200 and 'id="ssi-home"' not in before.text  # still the governance dashboard
    assert client.get("/ssi").status_code == 404
    features.enable(ctx, "ssi_home", traffic["supplier"].organisation_id)
    session.commit()
    page = client.get("/")
    assert page.status_code == 200 and 'id="ssi-home"' in page.text
    assert re.search(r'id="requests-today">9<', page.text)
    assert re.search(r'id="quarantined-held">1<', page.text)
    assert "DNO certificate missing" in page.text and "Someone else" not in page.text
    assert "<strong>E4</strong>" in page.text  # refused by code, with its plain-English title beside it
    assert 'hx-get="/ssi/broadcasts" hx-trigger="every 60s"' in page.text
    assert "CSP North: delayed alerts" in client.get("/ssi/broadcasts").text
    assert client.get("/ssi?organisation=9999").status_code == 403


def test_the_dcc_switches_a_feature_on_for_one_party_in_the_portal(ctx, session, client, traffic, world):  # noqa: F811
    login(client, "sue")
    assert client.get("/ssi/features").status_code == 403
    client.post("/logout", data={"csrf_token": _csrf(client.get("/proposals").text)})
    login(client, "dana")
    messages = client.get("/messages").text  # the DCC's sub-navigation leads staff to the SSI's pages
    assert 'href="/ssi">Every User' in messages and 'href="/ssi/features"' in messages
    page = client.get("/ssi/features")
    assert page.status_code == 200 and "nobody yet" in page.text
    org = traffic["supplier"].organisation_id
    r = client.post("/ssi/features", data={"csrf_token": _csrf(page.text), "feature": "ssi_home", "party": str(org),
                                           "action": "enable"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ssi/features?done=changed"
    after = client.get("/ssi/features")
    assert "Supplier Energy" in after.text and re.search(r"On: ssi_home for Supplier Energy", after.text)
    bad = client.post("/ssi/features", data={"csrf_token": _csrf(after.text), "feature": "nonsense", "party": "all",
                                             "action": "enable"})
    assert bad.status_code == 422 and "There is no feature" in bad.text
    session.expire_all()
    assert features.is_enabled(ctx, "ssi_home")
    assert [s.parties for s in features.states(ctx) if s.feature.name == "ssi_home"] == [[(org, "Supplier Energy")]]
