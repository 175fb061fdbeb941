"""The message path as the portal and the API show it: who sees which messages, search and keyset pages, the
TRT outcome of each message and the TRT summary (its SQL checked against the pure rule), the portal pages, and
loading certificates through the API. On both databases (the ``client``/``session`` fixtures)."""

from __future__ import annotations

import random
import re
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from gbsmart.core.context import Actor, Ctx
from gbsmart.gateway import messages
from gbsmart.gateway.enums import MessageState, TrtClass, TrtOutcome
from gbsmart.gateway.journal import JournalEntry, trt_for
from gbsmart.gateway.matrix import WebService, request_matrix
from gbsmart.gateway.rules import trt_outcome
from gbsmart.gateway.store import load_keystore
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, DccUserRole
from tests.conftest import TEST_PASSWORD

SUPPLIER, SUPPLIER_2, OTHER = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-01-00-01", "90-B3-D5-1F-30-09-00-00"
DEVICE, DEVICE_2 = "00-DB-12-34-56-78-90-A0", "00-DB-12-34-56-78-90-A1"
E4 = "The User is not the registered Supplier of MPAN 1100000000001 on 2020-01-28: ask the registered Supplier."


def _users(session, world):
    supplier = world.org("Supplier Energy", category="large_supplier")
    other = world.org("Other Energy", category="small_supplier")
    for org, eui in ((supplier, SUPPLIER), (supplier, SUPPLIER_2), (other, OTHER)):
        session.add(DccUser(organisation_id=org.id, eui64=eui, role_rows=[DccUserRole(role="IS")]))
    session.commit()
    return supplier, other


def _message(session, settings, *, originator=SUPPLIER, target=DEVICE, counter, srv="4.1.1", cv=1,
             service=WebService.SEND_COMMAND, state=MessageState.ACKNOWLEDGED, code="I99", explanation="",
             received_at, answered_after=0.05, completed_after=None, execution_at=None) -> GatewayMessage:
    """A row as the gateway's journal writes it: its TRT class and due time from ``journal.trt_for``."""
    trt_class, due_at = trt_for(settings, request_matrix()[srv], service, received_at, execution_at=execution_at)
    entry = JournalEntry(
        request_id=f"{originator}:{target}:{counter}", originator=originator, target=target, counter=counter, srv=srv,
        command_variant=cv, service=service.value, state=state.value, code=code, explanation=explanation,
        received_at=received_at, answered_at=received_at + timedelta(seconds=answered_after),
        trt_class=trt_class.value, due_at=due_at,
        completed_at=received_at + timedelta(seconds=completed_after) if completed_after is not None else None)
    row = GatewayMessage(**asdict(entry))
    session.add(row)
    return row


def _sample(session, settings, now):
    """Messages of both organisations: met, missed and pending TRTs, a refusal with its explanation."""
    t = now - timedelta(hours=1)
    rows = {
        "met": _message(session, settings, counter=1, received_at=t, state=MessageState.COMPLETED, code="I0",
                        completed_after=5),
        "missed": _message(session, settings, counter=2, received_at=t + timedelta(minutes=1),
                           state=MessageState.COMPLETED, code="I0", completed_after=31),
        "late": _message(session, settings, counter=3, received_at=t + timedelta(minutes=2)),  # no response: missed
        "pending": _message(session, settings, counter=4, received_at=now - timedelta(seconds=10), target=DEVICE_2),
        "refused": _message(session, settings, counter=5, received_at=t + timedelta(minutes=3),
                            state=MessageState.REFUSED, code="E4", explanation=E4),
        "inventory": _message(session, settings, originator=SUPPLIER_2, target="90-B3-D5-1F-30-00-00-02", counter=6,
                              srv="8.2", cv=8, service=WebService.NON_DEVICE, state=MessageState.ANSWERED, code="I0",
                              received_at=t + timedelta(minutes=4)),
        "other": _message(session, settings, originator=OTHER, counter=1, received_at=t + timedelta(minutes=5)),
    }
    session.commit()
    return rows


def _ctx(session, settings, clock, *roles, org=None) -> Ctx:
    return Ctx(session=session, actor=Actor(person_id=1, username="x", name="x", roles=frozenset(roles),
                                            organisation_id=org.id if org else None), clock=clock, settings=settings)


def test_each_organisation_sees_its_own_user_ids_messages_and_operators_see_all(client, world, session, settings,
                                                                                  clock):
    supplier, other = _users(session, world)
    rows = _sample(session, settings, clock.now())
    mine = world.user("supplier.user", "party_user", org=supplier)
    theirs = world.user("other.user", "party_user", org=other)
    dcc = world.user("dcc.operator", "dcc", org=world.org("Smart DCC", kind="dcc"))
    nobody = world.user("loner", "party_user")

    assert client.get("/api/v1/gateway/messages").status_code == 401
    ids = lambda h: [m["request_id"] for m in client.get("/api/v1/gateway/messages", headers=h).json()["items"]]  # noqa: E731
    assert set(ids(mine)) == {r.request_id for k, r in rows.items() if k != "other"}
    assert ids(theirs) == [rows["other"].request_id]
    assert len(ids(dcc)) == len(rows)
    assert ids(nobody) == []
    # newest first
    assert ids(mine)[0] == rows["pending"].request_id

    # one message: another organisation's is not found, as one that does not exist (decision 0012)
    r = client.get(f"/api/v1/gateway/messages/{rows['refused'].id}", headers=mine)
    assert r.status_code == 200 and r.json()["explanation"] == E4 and r.json()["code"] == "E4"
    assert client.get(f"/api/v1/gateway/messages/{rows['refused'].id}", headers=theirs).status_code == 404
    assert client.get("/api/v1/gateway/messages/99999", headers=dcc).status_code == 404
    assert client.get("/api/v1/gateway/messages/0", headers=dcc).status_code == 422
    # an operator may narrow to one User ID; a party cannot widen past its own by naming another's
    r = client.get("/api/v1/gateway/messages", params={"originator": OTHER}, headers=mine)
    assert r.json()["items"] == []


def test_search_by_request_id_device_srv_code_state_and_time(client, world, session, settings, clock):
    supplier, _ = _users(session, world)
    rows = _sample(session, settings, clock.now())
    h = world.user("dcc.operator", "dcc", org=world.org("Smart DCC", kind="dcc"))

    def found(**params) -> set[str]:
        r = client.get("/api/v1/gateway/messages", params=params, headers=h)
        assert r.status_code == 200, r.text
        return {m["request_id"] for m in r.json()["items"]}

    want = lambda *keys: {rows[k].request_id for k in keys}  # noqa: E731
    assert found(request_id=rows["missed"].request_id.lower()) == want("missed")
    assert found(device=DEVICE_2.replace("-", "").lower()) == want("pending")
    assert found(srv="8.2") == want("inventory")
    assert found(code="e4") == want("refused")
    assert found(state="refused") == want("refused")
    assert found(trt_class="non_device") == want("inventory")
    start = (clock.now() - timedelta(hours=1) + timedelta(minutes=1)).isoformat()
    end = (clock.now() - timedelta(hours=1) + timedelta(minutes=3)).isoformat()
    assert found(received_from=start, received_to=end) == want("missed", "late")
    assert found(originator=SUPPLIER_2, code="I0") == want("inventory")

    r = client.get("/api/v1/gateway/messages", params={"device": "not-a-device"}, headers=h)
    assert r.status_code == 422 and r.json()["error"].startswith("device:")
    r = client.get("/api/v1/gateway/messages", params={"request_id": "12345"}, headers=h)
    assert r.status_code == 422 and "whole RequestID" in r.json()["error"]
    r = client.get("/api/v1/gateway/messages", params={"state": "lost"}, headers=h)
    assert r.status_code == 422


def test_keyset_pages_walk_every_message_once_newest_first(client, world, session, settings, clock):
    _users(session, world)
    start = clock.now() - timedelta(days=1)
    for i in range(23):  # some in the same instant, so the id breaks the tie
        _message(session, settings, counter=100 + i, received_at=start + timedelta(seconds=i // 3))
    session.commit()
    h = world.user("dcc.operator", "dcc", org=world.org("Smart DCC", kind="dcc"))
    seen, cursor = [], None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/gateway/messages", params=params, headers=h).json()
        seen += [(m["received_at"], m["id"]) for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 23 and len(set(seen)) == 23
    assert seen == sorted(seen, reverse=True)
    r = client.get("/api/v1/gateway/messages", params={"cursor": "bm90LW91cnM"}, headers=h)
    assert r.status_code == 422 and "cursor" in r.json()["error"]


def test_each_message_stands_met_missed_or_pending_against_its_trt(client, world, session, settings, clock):
    supplier, _ = _users(session, world)
    rows = _sample(session, settings, clock.now())
    h = world.user("supplier.user", "party_user", org=supplier)
    outcome = {m["request_id"]: m["trt_outcome"] for m in
               client.get("/api/v1/gateway/messages", headers=h).json()["items"]}
    assert outcome[rows["met"].request_id] == "met"           # device response 5 s after receipt, TRT 30 s
    assert outcome[rows["missed"].request_id] == "missed"     # 31 s
    assert outcome[rows["late"].request_id] == "missed"       # none yet, an hour on
    assert outcome[rows["pending"].request_id] == "pending"   # none yet, 10 s on
    assert outcome[rows["refused"].request_id] == "met"       # the E4 answer is the response, at once
    assert outcome[rows["inventory"].request_id] == "met"     # non-device: the synchronous answer
    assert rows["inventory"].trt_class == TrtClass.NON_DEVICE.value

    summary = {r["trt_class"]: r for r in client.get("/api/v1/gateway/trt", headers=h).json()}
    on_demand = summary["on_demand"]
    assert (on_demand["messages"], on_demand["met"], on_demand["missed"], on_demand["pending"]) == (5, 2, 2, 1)
    assert on_demand["within_percent"] == 50.0 and on_demand["trt_seconds"] == settings.trt_on_demand_seconds
    assert summary["non_device"]["within_percent"] == 100.0
    # the summary follows the same filters
    only = client.get("/api/v1/gateway/trt", params={"code": "E4"}, headers=h).json()
    assert [(r["trt_class"], r["messages"], r["met"]) for r in only] == [("on_demand", 1, 1)]


def test_the_summarys_sql_agrees_with_the_rule_on_random_messages(session, world, settings, clock):
    """``messages.trt_summary`` restates ``rules.trt_outcome`` in SQL: over many random rows they must agree."""
    supplier, _ = _users(session, world)
    rng = random.Random(10)
    now = clock.now()
    srvs = [("4.1.1", 1, WebService.SEND_COMMAND), ("8.2", 8, WebService.NON_DEVICE),
            ("6.15.1", 4, WebService.TRANSFORM)]
    for i in range(300):
        srv, cv, service = rng.choice(srvs)
        state = rng.choice(list(MessageState))
        completed = rng.choice([None, rng.uniform(0, 70)])
        future = rng.random() < 0.2 and service is WebService.SEND_COMMAND
        _message(session, settings, counter=1000 + i, srv=srv, cv=cv, service=service, state=state,
                 received_at=now - timedelta(seconds=rng.uniform(0, 120)), answered_after=rng.uniform(0, 70),
                 completed_after=completed,
                 execution_at=now + timedelta(seconds=rng.uniform(-60, 60)) if future else None)
    session.commit()
    ctx = _ctx(session, settings, clock, "dcc")
    expected: dict[str, dict[TrtOutcome, int]] = {}
    for m in session.scalars(select(GatewayMessage)):
        o = trt_outcome(m.trt_class, m.state, m.answered_at, m.completed_at, m.due_at, now)
        expected.setdefault(m.trt_class, {}).setdefault(o, 0)
        expected[m.trt_class][o] += 1
    got = {r.trt_class.value: {TrtOutcome.MET: r.met, TrtOutcome.MISSED: r.missed, TrtOutcome.PENDING: r.pending}
           for r in messages.trt_summary(ctx)}
    assert {k: {o: n for o, n in v.items() if n} for k, v in got.items()} == expected
    assert len(expected) == 4  # every class occurred, and every outcome somewhere
    assert {o for v in expected.values() for o in v} == {TrtOutcome.MET, TrtOutcome.MISSED, TrtOutcome.PENDING}


def _login(client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token,
                                "next": "/messages"})


def test_portal_list_detail_and_trt_summary(client, world, session, settings, clock):
    supplier, other = _users(session, world)
    rows = _sample(session, settings, clock.now())
    world.person("supplier.user", "party_user", org=supplier)
    assert client.get("/messages", follow_redirects=False).status_code in (303, 401)
    _login(client, "supplier.user")
    page = client.get("/messages")
    assert page.status_code == 200
    assert rows["refused"].request_id in page.text and rows["other"].request_id not in page.text
    assert 'data-trt-class="on_demand"' in page.text and "50.0%" in page.text
    assert "DCC messages" in page.text  # the nav entry
    narrowed = client.get("/messages", params={"code": "E4"})
    assert rows["refused"].request_id in narrowed.text and rows["met"].request_id not in narrowed.text
    bad = client.get("/messages", params={"device": "nonsense"})
    assert bad.status_code == 422 and 'id="search-error"' in bad.text and "device:" in bad.text

    detail = client.get(f"/messages/{rows['refused'].id}")
    assert detail.status_code == 200 and "Why it was refused" in detail.text and E4 in detail.text
    missed = client.get(f"/messages/{rows['missed'].id}")
    assert "TRT missed" in missed.text and "answered in 31.000 s" in missed.text
    assert client.get(f"/messages/{rows['other'].id}").status_code == 404


# ---------------------------------------------------------------- certificates through the API


def _certificate(user_id: str, *, key=None, serial: int = 0x7001) -> bytes:
    key = key or ec.generate_private_key(ec.SECP256R1())
    ca = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gbsmart test CA")])
    subject = x509.Name([x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER,
                                            b"\x00" + bytes.fromhex(user_id.replace("-", "")),
                                            _type=_ASN1Type.BitString)])
    now = datetime.now(UTC)
    signer = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca).public_key(key.public_key())
            .serial_number(serial).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(signer, hashes.SHA256()))
    return cert.public_bytes(Encoding.PEM)


def test_an_organisation_loads_its_own_user_ids_certificate_and_no_one_elses(client, world, session, settings):
    supplier, other = _users(session, world)
    mine = world.user("supplier.user", "party_user", org=supplier)
    theirs = world.user("other.user", "party_user", org=other)
    dcc = world.user("dcc.operator", "dcc", org=world.org("Smart DCC", kind="dcc"))
    pem = _certificate(SUPPLIER)
    url = f"/api/v1/gateway/users/{SUPPLIER}/certificates"
    pem_type = {"content-type": "application/x-pem-file"}

    assert client.post(url, content=pem, headers=pem_type).status_code == 401
    r = client.post(url, content=pem, headers={**theirs, **pem_type})
    assert r.status_code == 404 and "your organisation" in r.json()["error"]
    assert load_keystore(settings).for_user(SUPPLIER) == ()

    r = client.post(url.replace(SUPPLIER, SUPPLIER.replace("-", "").lower()), content=pem, headers={**mine, **pem_type})
    assert r.status_code == 201, r.text
    assert r.json()[0]["user_id"] == SUPPLIER and r.json()[0]["serial"] == str(0x7001)
    assert [e.serial for e in load_keystore(settings).for_user(SUPPLIER)] == [0x7001]  # where the gateway reads it
    audit = session.scalar(select(ChangeRecord).where(ChangeRecord.action == "gateway.certificate_added"))
    assert audit is not None and audit.object_id == SUPPLIER and audit.actor_name == "supplier.user"
    assert [c["serial"] for c in client.get(url, headers=mine).json()] == [str(0x7001)]
    assert client.get(url, headers=theirs).status_code == 404

    # the same checks as `gbsmart gateway add-certificate`: another User's certificate, another key type, junk
    r = client.post(url, content=_certificate(SUPPLIER_2, serial=0x7002), headers={**mine, **pem_type})
    assert r.status_code == 422 and SUPPLIER_2 in r.json()["error"]
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r = client.post(url, content=_certificate(SUPPLIER, key=rsa_key, serial=0x7003), headers={**mine, **pem_type})
    assert r.status_code == 422 and "P-256" in r.json()["error"]
    r = client.post(url, content=b"not a certificate", headers={**mine, **pem_type})
    assert r.status_code == 422 and "PEM or DER" in r.json()["error"]
    assert client.post(url, content=b"", headers=mine).status_code == 422
    assert client.post(url, content=b"x" * 70_000, headers={**mine, **pem_type}).status_code == 413
    # a clash with a saved certificate's issuer and serial
    r = client.post(url.replace(SUPPLIER, SUPPLIER_2), content=_certificate(SUPPLIER_2), headers={**mine, **pem_type})
    assert r.status_code == 422 and "another certificate" in r.json()["error"]

    # the DCC may load one for any User; an unknown User ID is not found
    r = client.post(f"/api/v1/gateway/users/{OTHER}/certificates", content=_certificate(OTHER, serial=0x7004),
                    headers={**dcc, **pem_type})
    assert r.status_code == 201
    assert client.post("/api/v1/gateway/users/90-B3-D5-1F-30-0F-0F-0F/certificates", content=pem,
                       headers={**dcc, **pem_type}).status_code == 404
    assert client.post("/api/v1/gateway/users/nonsense/certificates", content=pem,
                       headers={**dcc, **pem_type}).status_code == 422
