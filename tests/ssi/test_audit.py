"""The service audit trail (issue 15 point 4): one search across a User's requests, responses, alerts and incidents;
each filter; who sees what (in the SQL); keyset pages over more than a page with no duplicates or gaps; a bad cursor
is a 422 on its field; the CSV equals the pages; the codes in plain English beside every code; the API, the pages
and the CLI answer alike. On SQLite and PostgreSQL (the ``session``/``client`` fixtures)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from markupsafe import escape
from typer.testing import CliRunner

from gbsmart.core import codes
from gbsmart.core.cli_support import set_clock
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Invalid, NotFound
from gbsmart.core.pagination import encode_cursor
from gbsmart.models.alerts import NorthboundMessage
from gbsmart.models.delivery import GatewayResponse
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import Person
from gbsmart.models.smi import SmiDevice
from gbsmart.service import incidents
from gbsmart.service.schemas import IncidentCreate
from gbsmart.smi import rules as smi_rules
from gbsmart.smi.enums import CspRegion, DeviceType, SmiStatus
from gbsmart.ssi import audit, features
from gbsmart.ssi.enums import AuditKind
from tests.alerts.rows import OTHER_SUPPLIER, SUPPLIER, users

METER, HUB, GAS = "00-DB-12-34-56-78-90-B1", "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-C3"
MPAN, MPRN = "1100000000001", "1234567"
DCC_ID = "90-B3-D5-1F-30-00-00-02"
E4 = "The User is not the registered Supplier of MPRN 1234567 on 2020-01-28: ask the registered Supplier."


def _as(ctx: Ctx, person: Person | None) -> Ctx:
    actor = Actor.of(person) if person else Actor(person_id=None, username="x", name="x", roles=frozenset())
    return Ctx(session=ctx.session, actor=actor, clock=ctx.clock, settings=ctx.settings)


def _device(session, eui: str, kind: DeviceType, mpxn: str | None, chf: str | None = None) -> None:
    session.add(SmiDevice(device_id=smi_rules.eui64_to_int(eui), device_type=smi_rules.DEVICE_TYPE_CODE[kind],
                          lifecycle_status=smi_rules.STATUS_CODE[SmiStatus.COMMISSIONED],
                          lifecycle_date=date(2020, 1, 1),
                          mpxn=int(mpxn) if mpxn else None,
                          chf_device_id=smi_rules.eui64_to_int(chf) if chf else None,
                          csp_region=smi_rules.REGION_CODE[CspRegion.CENTRAL]))


_n = iter(range(1, 1_000_000))


def request(session, at, *, originator: str = SUPPLIER, target: str = METER, srv: str = "4.1.1", code: str = "I99",
            state: str = "acknowledged", explanation: str = "", service: str = "serviceS") -> GatewayMessage:
    n = next(_n)
    row = GatewayMessage(request_id=f"{originator}:{target}:{n}", originator=originator, target=target, counter=n,
                         srv=srv, command_variant=8 if service == "serviceD" else 1, service=service, state=state,
                         code=code, explanation=explanation, received_at=at, answered_at=at)
    session.add(row)
    session.flush()
    return row


def response(session, of: GatewayMessage, at, code: str = "I0") -> GatewayResponse:
    row = GatewayResponse(request_id=of.request_id, response_id=f"{of.target}:{of.originator}:{of.counter}",
                          originator=of.originator, counter=of.counter, log_seq=of.counter, code=code, body=b"<r/>",
                          completed_at=at)
    session.add(row)
    session.flush()
    return row


def alert(session, user_id: str, at, *, code: str = "8F3E", kind: str = "device_alert",
          payload: dict | None = None) -> NorthboundMessage:
    row = NorthboundMessage(message_id=f"A{next(_n):07d}-{user_id}", user_id=user_id, kind=kind, priority="alert",
                            code=code, payload=json.dumps(payload or {"device_id": METER, "code": code},
                                                          separators=(",", ":")),
                            created_at=at, expires_at=at + timedelta(days=2))
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def trail(ctx, session, world):
    """Supplier Energy (SUPPLIER) and Other Energy (OTHER_SUPPLIER) with a month's service; the clock is 10:00."""
    supplier, _network, other = users(session, world)
    _device(session, HUB, DeviceType.CHF, None)
    _device(session, METER, DeviceType.ESME, MPAN, chf=HUB)
    _device(session, GAS, DeviceType.GSME, MPRN)
    now = ctx.clock.now()
    rows: dict = {}
    rows["done"] = request(session, now - timedelta(hours=3), state="completed", code="I0")
    rows["response"] = response(session, rows["done"], now - timedelta(hours=3) + timedelta(seconds=5))
    rows["failed"] = request(session, now - timedelta(hours=2), target=HUB, srv="6.15.1", state="completed",
                             code="E20")
    rows["refused"] = request(session, now - timedelta(hours=4), target=GAS, state="refused", code="E4",
                              explanation=E4)
    rows["inventory"] = request(session, now - timedelta(hours=1), target=DCC_ID, srv="8.2", state="answered",
                                code="I0", service="serviceD")
    rows["old"] = request(session, now - timedelta(days=40))                      # outside the last 31 days
    rows["theirs"] = request(session, now - timedelta(minutes=30), originator=OTHER_SUPPLIER)
    rows["device_alert"] = alert(session, SUPPLIER, now - timedelta(minutes=90))
    quarantined = f"{SUPPLIER}:{METER}:4242"
    rows["quarantine_alert"] = alert(session, SUPPLIER, now - timedelta(minutes=50), code="N42", kind="dcc_alert",
                                     payload={"code": "N42", "quarantined_request": {"request_id": quarantined}})
    rows["their_alert"] = alert(session, OTHER_SUPPLIER, now - timedelta(minutes=40))
    session.add(NorthboundMessage(message_id="R-response", user_id=SUPPLIER, kind="response", priority="on_demand",
                                  code="I0", payload="{}", created_at=now, expires_at=now + timedelta(days=7)))
    session.commit()
    people = {"supplier": world.person("sue", "party_user", org=supplier),
              "other": world.person("olly", "party_user", org=other),
              "dcc": world.person("dana", "dcc", org=world.org("Smart DCC", kind="dcc")),
              "secas": world.person("sam", "code_administrator", org=world.org("SECAS", kind="secas")),
              "loner": world.person("loner", "party_user")}
    rows["incident"] = incidents.raise_incident(_as(ctx, people["supplier"]), IncidentCreate(
        title="DNO certificate missing", category=4, user_id=SUPPLIER, type="no_credentials_dno",
        answers={"mpxn": MPAN, "device_id": METER}))
    rows["their_incident"] = incidents.raise_incident(_as(ctx, people["other"]), IncidentCreate(
        title="Someone else's", category=3, user_id=OTHER_SUPPLIER, type="other"))
    session.commit()
    features.enable(ctx, audit.FEATURE, for_all=True)
    session.commit()
    return {"rows": rows, "people": people, "quarantined": quarantined}


def html(text: str) -> str:
    return str(escape(text))


def refs(ctx: Ctx, **given) -> list[str]:
    f = audit.make_filters(ctx.clock.now(), **given)
    return [r.reference for r in audit.search(ctx, f).items]


def test_one_list_newest_first_of_the_readers_own_requests_responses_alerts_and_incidents(ctx, trail):
    rows, people = trail["rows"], trail["people"]
    sue = _as(ctx, people["supplier"])
    page = audit.search(sue, audit.make_filters(ctx.clock.now()))
    assert [(r.kind, r.reference) for r in page.items] == [
        (AuditKind.INCIDENT, rows["incident"].reference),            # raised at 10:00
        (AuditKind.ALERT, rows["quarantine_alert"].message_id),      # 09:10
        (AuditKind.REQUEST, rows["inventory"].request_id),           # 09:00
        (AuditKind.ALERT, rows["device_alert"].message_id),          # 08:30
        (AuditKind.REQUEST, rows["failed"].request_id),              # 08:00
        (AuditKind.RESPONSE, rows["response"].response_id),          # 07:00:05
        (AuditKind.REQUEST, rows["done"].request_id),                # 07:00
        (AuditKind.REQUEST, rows["refused"].request_id),             # 06:00
    ]  # another organisation's rows, last month's request and the Service Response in the cache are not there
    times = [r.at for r in page.items]
    assert times == sorted(times, reverse=True)
    assert {r.reference for r in page.items} == {
        rows["incident"].reference, rows["inventory"].request_id, rows["quarantine_alert"].message_id,
        rows["device_alert"].message_id, rows["failed"].request_id, rows["response"].response_id,
        rows["done"].request_id, rows["refused"].request_id}
    assert page.next_cursor is None and page.note is None and page.summary == []
    # every code with its title and meaning from the one catalogue; each row links to the page that shows it
    by_ref = {r.reference: r for r in page.items}
    refused = by_ref[rows["refused"].request_id]
    assert (refused.code, refused.code_title, refused.state_title, refused.note) == \
        ("E4", "Not your device", "Refused", E4)
    assert refused.code_meaning == codes.explain("E4").meaning and refused.link == f"/messages/{rows['refused'].id}"
    failed = by_ref[rows["failed"].request_id]
    assert (failed.code_title, failed.device, failed.srv) == ("Device did not respond", HUB, "6.15.1")
    resp = by_ref[rows["response"].response_id]
    assert (resp.kind, resp.device, resp.srv, resp.code_title, resp.link) == \
        (AuditKind.RESPONSE, METER, "4.1.1", "Success", f"/messages/{rows['done'].id}")
    assert by_ref[rows["quarantine_alert"].message_id].code_title == "Request quarantined"
    assert by_ref[rows["device_alert"].message_id].code_title == "Unauthorised Communication Access attempted"
    inc = by_ref[rows["incident"].reference]
    assert (inc.code, inc.code_title, inc.device, inc.note, inc.link) == (
        "open", "Open", METER, "DNO certificate missing", f"/incidents/{rows['incident'].reference}")


def test_each_organisation_sees_its_own_user_ids_operators_everything_others_nothing(ctx, trail):
    rows, people = trail["rows"], trail["people"]
    olly = refs(_as(ctx, people["other"]))
    assert sorted(olly) == sorted([rows["theirs"].request_id, rows["their_alert"].message_id,
                                   rows["their_incident"].reference])
    everyone = refs(_as(ctx, people["dcc"]))
    assert len(everyone) == 8 + 3 and rows["old"].request_id not in everyone
    assert refs(ctx) == everyone  # the CLI's system actor, as the DCC
    assert refs(_as(ctx, people["secas"])) == everyone  # the Code Administrator too
    assert refs(_as(ctx, people["loner"])) == []  # no organisation: nothing
    # a Party cannot reach another's rows by naming them
    assert refs(_as(ctx, people["supplier"]), request_id=rows["theirs"].request_id) == []
    alert_id = rows["their_alert"].id
    with pytest.raises(NotFound):
        audit.alert(_as(ctx, people["supplier"]), alert_id)
    assert audit.alert(_as(ctx, people["other"]), alert_id)[0].reference == rows["their_alert"].message_id


def test_it_is_early_access_until_the_feature_is_on_for_the_organisation(ctx, session, trail):
    features.disable(ctx, audit.FEATURE, for_all=True)
    sue = _as(ctx, trail["people"]["supplier"])
    with pytest.raises(NotFound, match="not switched on for your organisation yet"):
        audit.search(sue, audit.make_filters(ctx.clock.now()))
    with pytest.raises(NotFound):
        audit.export_csv(sue, audit.make_filters(ctx.clock.now()))
    features.enable(ctx, audit.FEATURE, trail["people"]["supplier"].organisation_id)
    assert len(audit.search(sue, audit.make_filters(ctx.clock.now())).items) == 8


def test_each_filter(ctx, trail):
    rows = trail["rows"]
    sue = _as(ctx, trail["people"]["supplier"])
    done = rows["done"]
    # RequestID (any case, the IDs' hyphens optional): the request and its response
    assert refs(sue, request_id=done.request_id.lower()) == [rows["response"].response_id, done.request_id]
    assert refs(sue, request_id=trail["quarantined"]) == [rows["quarantine_alert"].message_id]
    # a device: its requests, responses, alerts and the incidents whose questions name it
    assert refs(sue, device=METER.replace("-", "").lower()) == [
        rows["incident"].reference, rows["device_alert"].message_id, rows["response"].response_id,
        done.request_id]
    assert refs(sue, device=HUB) == [rows["failed"].request_id]
    # an MPxN: the devices at it (and their Communications Hub) through the SMI, and incidents naming it
    assert refs(sue, mpxn=MPAN) == [rows["incident"].reference, rows["device_alert"].message_id,
                                    rows["failed"].request_id, rows["response"].response_id, done.request_id]
    assert refs(sue, mpxn=MPRN) == [rows["refused"].request_id]
    assert refs(sue, mpxn=MPAN, device=HUB) == [rows["failed"].request_id]
    assert refs(sue, mpxn="1999999999999") == []  # no device there
    # an SRV, a code (a DUIS Response Code, an alert code, an incident status), a kind
    assert refs(sue, srv="8.2") == [rows["inventory"].request_id]
    assert refs(sue, srv="4.1.1") == [rows["response"].response_id, done.request_id, rows["refused"].request_id]
    assert refs(sue, code="e4") == [rows["refused"].request_id]
    assert refs(sue, code="I0") == [rows["inventory"].request_id, rows["response"].response_id, done.request_id]
    assert refs(sue, code="8F3E") == [rows["device_alert"].message_id]
    assert refs(sue, code="open") == [rows["incident"].reference]
    assert refs(sue, kind="alert") == [rows["quarantine_alert"].message_id, rows["device_alert"].message_id]
    assert refs(sue, kind="incident", code="E4") == []
    # time: the last 31 days by default; a range
    now = ctx.clock.now()
    assert rows["old"].request_id in refs(sue, time_from=now - timedelta(days=41))
    assert refs(sue, time_from=now - timedelta(hours=3, minutes=1), time_to=now - timedelta(hours=2, minutes=59)) \
        == [rows["response"].response_id, done.request_id]
    assert refs(sue, time_to=now - timedelta(days=35)) == [rows["old"].request_id]  # 31 days before the end


@pytest.mark.parametrize("given, field", [
    ({"request_id": "not-a-request-id"}, "request_id"),
    ({"request_id": f"{SUPPLIER}:zz:1"}, "request_id"),
    ({"device": "00-DB"}, "device"),
    ({"mpxn": "0123"}, "mpxn"),
    ({"srv": "99.9"}, "srv"),
    ({"code": "E4; drop"}, "code"),
    ({"kind": "everything"}, "kind"),
])
def test_a_bad_filter_is_a_422_naming_its_field(ctx, given, field):
    with pytest.raises(Invalid) as caught:
        audit.make_filters(ctx.clock.now(), **given)
    assert caught.value.detail[0]["field"] == field


def _many(session, now, n_requests: int = 90, n_alerts: int = 35) -> None:
    """More than two pages: rows of different kinds at the same instants (ties), across the month."""
    for i in range(n_requests):
        at = now - timedelta(hours=i // 3)  # three requests an hour: equal times
        request(session, at, code="E4" if i % 4 == 0 else "I99", state="refused" if i % 4 == 0 else "acknowledged")
    for i in range(n_alerts):
        alert(session, SUPPLIER, now - timedelta(hours=i))  # the same instants as requests
    session.commit()


def test_keyset_pages_over_many_rows_with_no_duplicates_or_gaps_and_the_csv_equals_them(ctx, session, trail):
    _many(session, ctx.clock.now())
    sue = _as(ctx, trail["people"]["supplier"])
    f = audit.make_filters(ctx.clock.now())
    first = audit.search(sue, f)
    assert len(first.items) == 50 and first.next_cursor
    assert first.note and "More than 50 matches" in first.note and "CSV" in first.note  # said plainly, no counting
    summary = {s.kind: s for s in first.summary}
    assert summary[AuditKind.REQUEST].count == 90 + 4 and not summary[AuditKind.REQUEST].capped
    assert dict((c, n) for c, _, n in summary[AuditKind.REQUEST].codes)["E4"] == 23 + 1
    assert dict((c, t) for c, t, _ in summary[AuditKind.REQUEST].codes)["E4"] == "Not your device"
    seen, cursor, pages = [], None, 0
    while True:
        page = audit.search(sue, f, cursor)
        seen += page.items
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    keys = [r.key for r in seen]
    assert len(keys) == len(set(keys)) == 90 + 35 + 8  # no duplicates, nothing missed
    assert keys == sorted(keys, reverse=True) and pages == 3
    assert {r.reference for r in seen} == {r.reference for r in audit.export_rows(sue, f)}
    # the CSV walks the same order in its own batches: equal to the pages
    text = "".join(audit.export_csv(sue, f, batch=7))
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == list(audit.CSV_COLUMNS)
    assert table[1:] == [[str(v) for v in audit.csv_values(r)] for r in seen]
    # a small cap summarises at most that many of each kind, and says so
    capped = {s.kind: s for s in audit.summary(sue, f, cap=10)}
    assert capped[AuditKind.REQUEST].capped and capped[AuditKind.REQUEST].count_text == "10+"


def test_a_bad_cursor_is_a_422_on_the_cursor_field(ctx, trail):
    sue = _as(ctx, trail["people"]["supplier"])
    f = audit.make_filters(ctx.clock.now())
    for bad in ("nonsense!", encode_cursor(["2020-01-28T10:00:00+00:00", "everything", 1]),
                encode_cursor(["yesterday", "request", 1]), encode_cursor([1, 2])):
        with pytest.raises(Invalid) as caught:
            audit.search(sue, f, bad)
        assert caught.value.detail == [{"field": "cursor", "message": audit.CURSOR_NOT_OURS}]


def test_the_api_answers_as_the_service_with_a_streamed_csv(client, world, ctx, session, trail):
    _many(session, ctx.clock.now(), n_requests=60, n_alerts=0)
    h = world.token(trail["people"]["supplier"])
    done = trail["rows"]["done"]
    r = client.get("/api/v1/ssi/audit", params={"request_id": done.request_id}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["kind"] for i in body["items"]] == ["response", "request"] and body["next_cursor"] is None
    assert body["items"][1]["code_title"] == "Success" and body["items"][1]["link"] == f"/messages/{done.id}"
    first = client.get("/api/v1/ssi/audit", headers=h).json()
    assert len(first["items"]) == 50 and first["note"] and first["summary"]
    second = client.get("/api/v1/ssi/audit", params={"cursor": first["next_cursor"]}, headers=h).json()
    assert len(second["items"]) == 60 + 8 - 50 and second["next_cursor"] is None
    bad = client.get("/api/v1/ssi/audit", params={"cursor": "x!"}, headers=h)
    assert bad.status_code == 422 and bad.json()["detail"] == [{"field": "cursor", "message": audit.CURSOR_NOT_OURS}]
    assert client.get("/api/v1/ssi/audit", params={"device": "nope"}, headers=h).json()["detail"][0]["field"] == \
        "device"
    got = client.get("/api/v1/ssi/audit.csv", headers=h)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(got.text)))
    assert [x[2] for x in lines[1:]] == [i["reference"] for i in first["items"] + second["items"]]
    # the catalogue
    all_codes = client.get("/api/v1/ssi/codes", headers=h).json()
    assert {"duis_response", "message_state", "incident_status"} <= {c["kind"] for c in all_codes}
    e4 = client.get("/api/v1/ssi/codes/e4").json()
    assert e4 == [{"kind": "duis_response", "kind_label": "DUIS Response Code", "code": "E4",
                   "title": codes.explain("E4").title, "meaning": codes.explain("E4").meaning,
                   "action": codes.explain("E4").action}]
    assert client.get("/api/v1/ssi/codes/E999").status_code == 404
    assert client.get("/api/v1/ssi/codes", params={"kind": "x"}).status_code == 422
    # switched off for the organisation: a 404 saying so, before a byte of CSV
    features.disable(ctx, audit.FEATURE, for_all=True)
    session.commit()
    off = client.get("/api/v1/ssi/audit.csv", headers=h)
    assert off.status_code == 404 and "not switched on" in off.json()["error"]


def test_the_pages_show_the_rows_at_once_and_every_code_in_plain_english(client, world, trail):
    rows = trail["rows"]
    h = world.token(trail["people"]["supplier"])
    page = client.get("/ssi/audit", params={"request_id": rows["refused"].request_id}, headers=h)
    assert page.status_code == 200
    assert rows["refused"].request_id in page.text and "Not your device" in page.text
    assert html(codes.explain("E4").meaning) in page.text
    assert 'id="audit-note"' not in page.text and "Download CSV" in page.text
    bad = client.get("/ssi/audit", params={"mpxn": "12"}, headers=h)
    assert bad.status_code == 422 and 'id="err-mpxn"' in bad.text and "Nothing was searched" in bad.text
    # the gateway's message pages and the incidents show a code's or state's title and meaning too
    detail = client.get(f"/messages/{rows['refused'].id}", headers=h)
    assert "Not your device" in detail.text and "What to do" in detail.text
    listing = client.get("/messages", headers=h)
    assert "Not your device" in listing.text and "Device did not respond" in listing.text
    incident = client.get(f"/incidents/{rows['incident'].reference}", headers=h)
    assert html(codes.explain("open", "incident_status").meaning) in incident.text
    assert html(codes.explain("open", "incident_status").meaning) in client.get("/incidents", headers=h).text
    one = client.get(f"/ssi/audit/alerts/{rows['quarantine_alert'].id}", headers=h)
    assert one.status_code == 200 and "Request quarantined" in one.text
    assert "Request quarantined" in client.get("/ssi/codes", headers=h).text


def test_the_cli_prints_the_codes_and_the_trail_and_writes_the_csv(cli_env, ctx, session, trail):
    from gbsmart.cli import app

    set_clock(ctx.clock)
    _many(session, ctx.clock.now(), n_requests=55, n_alerts=0)
    runner = CliRunner()
    listed = runner.invoke(app, ["ssi", "codes"])
    assert listed.exit_code == 0 and "Not your device" in listed.output and "Waiting for you" in listed.output
    one = runner.invoke(app, ["ssi", "codes", "e20"])
    assert one.exit_code == 0 and "Device did not respond" in one.output and "What to do" in one.output
    assert runner.invoke(app, ["ssi", "codes", "E999"]).exit_code == 1
    done = trail["rows"]["done"]
    found = runner.invoke(app, ["ssi", "audit", "--request-id", done.request_id, "--as", "sue"])
    assert found.exit_code == 0, found.output
    assert done.request_id in found.output and "I0 · Success" in found.output
    full = runner.invoke(app, ["ssi", "audit", "--as", "sue"])
    assert "More than 50 matches" in full.output and "--cursor" in full.output
    out = cli_env / "trail.csv"
    wrote = runner.invoke(app, ["ssi", "audit", "--as", "sue", "--csv", str(out)])
    assert wrote.exit_code == 0, wrote.output
    lines = list(csv.reader(out.open(encoding="utf-8")))
    assert len(lines) == 1 + 55 + 8 and f"{55 + 8:,} rows" in wrote.output
    bad = runner.invoke(app, ["ssi", "audit", "--cursor", "zz!"])
    assert bad.exit_code == 1 and "cursor" in bad.output
