"""Anomaly Detection Thresholds: the counting rules (injectable time), the two signed files, and the service on both
databases (thresholds from a signed ADT file, quarantined requests released or deleted by a signed action file)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Forbidden
from gbsmart.gateway import adt_service
from gbsmart.gateway.adt import (
    AdtCounters,
    AdtFileError,
    DccLimit,
    Limit,
    Thresholds,
    parse_action_file,
    parse_adt_file,
    sign_file,
    window_start,
)
from gbsmart.gateway.enums import AdtBreach, MessageState, QuarantineStatus
from gbsmart.models.adt import AdtThreshold, QuarantinedRequest
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, DccUserRole
from tests.gateway.conftest import DEVICE, NETWORK_OPERATOR, SUPPLIER

T0 = datetime(2026, 3, 4, 23, 59, 0, tzinfo=UTC)


# ---------------------------------------------------------------- the counting rules


def test_over_the_warning_threshold_warns_once_per_window_and_over_quarantine_holds():
    limit = Limit(warning=2, quarantine=4, period_seconds=86400)
    counters = AdtCounters(Thresholds(users={(SUPPLIER, "4.1.1"): limit}))
    verdicts = [counters.check(SUPPLIER, "4.1.1", T0) for _ in range(6)]
    assert [v.count for v in verdicts] == [1, 2, 3, 4, 5, 6]
    assert [v.warn for v in verdicts] == [False, False, True, False, False, False]   # the 3rd is over 2: once
    assert [v.quarantine for v in verdicts] == [None] * 4 + [AdtBreach.USER] * 2     # the 5th is over 4
    assert verdicts[4].threshold == 4 and verdicts[4].period_start == datetime(2026, 3, 4, tzinfo=UTC)
    # another SRV and another User are counted apart
    assert counters.check(SUPPLIER, "4.1.2", T0).count == 1
    assert counters.check(NETWORK_OPERATOR, "4.1.1", T0).quarantine is None


def test_a_new_window_starts_the_count_again_at_midnight_utc():
    counters = AdtCounters(Thresholds(users={(SUPPLIER, "4.1.1"): Limit(None, 1, 86400)}))
    assert counters.check(SUPPLIER, "4.1.1", T0).quarantine is None
    assert counters.check(SUPPLIER, "4.1.1", T0 + timedelta(seconds=59)).quarantine is AdtBreach.USER
    next_day = counters.check(SUPPLIER, "4.1.1", T0 + timedelta(seconds=60))  # 00:00:00 the next day
    assert (next_day.count, next_day.quarantine) == (1, None)
    hourly = AdtCounters(Thresholds(period_seconds=3600, default_quarantine=0))
    assert hourly.check(SUPPLIER, "4.1.1", T0).period_start == datetime(2026, 3, 4, 23, tzinfo=UTC)
    assert window_start(T0, 3600) == int(datetime(2026, 3, 4, 23, tzinfo=UTC).timestamp())


def test_the_dcc_wide_threshold_counts_every_user():
    counters = AdtCounters(Thresholds(dcc={"4.1.1": DccLimit(quarantine=3, period_seconds=86400)}))
    users = [SUPPLIER, NETWORK_OPERATOR, SUPPLIER, NETWORK_OPERATOR]
    verdicts = [counters.check(u, "4.1.1", T0) for u in users]
    assert [v.quarantine for v in verdicts] == [None, None, None, AdtBreach.DCC]
    assert verdicts[3].count == 2 and verdicts[3].dcc_count == 4 and verdicts[3].threshold == 3
    assert counters.check(SUPPLIER, "4.1.2", T0).quarantine is None  # per variant


def test_defaults_apply_where_no_threshold_is_set_and_seeding_continues_a_window():
    counters = AdtCounters(Thresholds(default_warning=1, default_quarantine=10, dcc_default_quarantine=None))
    counters.seed(SUPPLIER, "4.1.1", T0, 10, warned=True)
    verdict = counters.check(SUPPLIER, "4.1.1", T0)
    assert (verdict.count, verdict.warn, verdict.quarantine) == (11, False, AdtBreach.USER)
    counters.replace(Thresholds(users={(SUPPLIER, "4.1.1"): Limit(None, None, 86400)}))  # the counts are kept
    assert counters.check(SUPPLIER, "4.1.1", T0).count == 12 and counters.count(SUPPLIER, "4.1.1", T0) == 12


def test_the_counts_of_other_processes_are_added_in_their_own_window_only():
    """Several gateway processes (jetstream engine) share ``own`` and take each other's through ``set_others``."""
    thresholds = Thresholds(users={(SUPPLIER, "4.1.1"): Limit(None, 4, 86400)},
                            dcc={"4.1.1": DccLimit(quarantine=6, period_seconds=86400)})
    one, two, three = AdtCounters(thresholds), AdtCounters(thresholds), AdtCounters(thresholds)
    for _ in range(3):
        one.check(SUPPLIER, "4.1.1", T0)
    two.check(NETWORK_OPERATOR, "4.1.1", T0)
    shared = one.own(T0)
    assert shared == {"u": [[SUPPLIER, "4.1.1", window_start(T0, 86400), 3]],
                      "d": [["4.1.1", window_start(T0, 86400), 3]]}
    three.set_others([shared, two.own(T0)])
    assert three.count(SUPPLIER, "4.1.1", T0) == 3
    first, second = three.check(SUPPLIER, "4.1.1", T0), three.check(SUPPLIER, "4.1.1", T0)
    assert (first.count, first.quarantine) == (4, None)
    assert (second.count, second.quarantine, second.dcc_count) == (5, AdtBreach.USER, 6)
    assert three.check(NETWORK_OPERATOR, "4.1.1", T0).quarantine is AdtBreach.DCC  # 3 + 1 + 3 of its own = 7 > 6
    # a share of an earlier window (the day before) adds nothing to today's, and an ended window is not shared
    three.set_others([{"u": [[SUPPLIER, "4.1.1", window_start(T0, 86400) - 86400, 50]], "d": []}])
    assert three.count(SUPPLIER, "4.1.1", T0) == 2
    assert one.own(T0 + timedelta(days=1)) == {"u": [], "d": []}


# ---------------------------------------------------------------- the files


ADT = (f"# thresholds for {SUPPLIER}\nuser_id,srv,warning,quarantine,period_seconds\n"
       f"{SUPPLIER},4.1.1,2,3,\n{SUPPLIER},6.15.1,,0,3600\n").encode()


def test_an_adt_file_parses_and_a_malformed_one_is_refused_field_by_field():
    rows = parse_adt_file(ADT)
    assert [(r.line, r.srv, r.warning, r.quarantine, r.period_seconds) for r in rows] == [
        (3, "4.1.1", 2, 3, None), (4, "6.15.1", None, 0, 3600)]
    bad = (f"user_id,srv,warning,quarantine\n90-B3-XX,4.1.1,1,2\n{SUPPLIER},9.9.9,1,2\n{SUPPLIER},4.1.1,5,2\n"
           f"{SUPPLIER},4.1.2,-1,x\n{SUPPLIER},4.1.2,1\n").encode()
    with pytest.raises(AdtFileError) as refused:
        parse_adt_file(bad)
    found = {(p["line"], p["field"]) for p in refused.value.detail}
    assert found == {(2, "user_id"), (3, "srv"), (4, "warning"), (5, "warning"), (5, "quarantine"), (6, "row")}
    assert "line 3, srv: '9.9.9' is not a Service Reference Variant" in refused.value.message
    for data, field in [(b"", "file"), (b"\xff\xfe", "file"), (b"user_id,srv\n", "header"),
                        (b"user_id,srv,warning,quarantine,colour\n", "header"),
                        (b"user_id,srv,warning,quarantine\n", "file"),
                        (f"user_id,srv,warning,quarantine\n{SUPPLIER},4.1.1,1,2\n{NETWORK_OPERATOR},4.1.1,1,2\n"
                         .encode(), "user_id")]:
        with pytest.raises(AdtFileError) as refused:
            parse_adt_file(data)
        assert refused.value.detail[0]["field"] == field, data


def test_an_action_file_parses_and_names_one_user_and_real_request_ids():
    rid = f"{SUPPLIER}:{DEVICE}:17"
    rows = parse_action_file(f"user_id,request_id,action\n{SUPPLIER},{rid},Release\n"
                             f"{SUPPLIER},{SUPPLIER}:{DEVICE}:18,delete\n".encode())
    assert [(r.request_id, r.action.value) for r in rows] == [(rid, "release"), (f"{SUPPLIER}:{DEVICE}:18", "delete")]
    with pytest.raises(AdtFileError) as refused:
        parse_action_file(f"user_id,request_id,action\n{SUPPLIER},{NETWORK_OPERATOR}:{DEVICE}:1,release\n"
                          f"{SUPPLIER},nonsense,keep\n{SUPPLIER},{rid},release\n{SUPPLIER},{rid},delete\n".encode())
    assert {(p["line"], p["field"]) for p in refused.value.detail} == {
        (2, "request_id"), (3, "request_id"), (3, "action"), (5, "request_id")}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(alphabet=st.sampled_from(list("user_id,srv,warning,quarantine\n#4.1 0-9AF")),
                                         max_size=300).map(str.encode))
def test_the_file_parsers_refuse_anything_with_an_adt_file_error_or_parse_it(data):
    for parse in (parse_adt_file, parse_action_file):
        try:
            rows = parse(data)
        except AdtFileError as exc:
            assert exc.problems and exc.message.startswith("the ")
        else:
            assert rows


# ---------------------------------------------------------------- the service, on both databases


def _cert(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(T0 - timedelta(days=1))
            .not_valid_after(T0 + timedelta(days=365)).sign(key, hashes.SHA256()))


@pytest.fixture
def parties(world, session):
    """The Supplier's and the Network Operator's organisations with their User IDs, an SRO and an ARO, a party
    user with a registered key who is neither, and the other organisation's SRO."""
    supplier, network = world.org("Supplier Ltd"), world.org("Network Ltd")
    session.add_all([DccUser(organisation_id=supplier.id, eui64=SUPPLIER, role_rows=[DccUserRole(role="IS")]),
                     DccUser(organisation_id=network.id, eui64=NETWORK_OPERATOR, role_rows=[DccUserRole(role="ED")])])
    session.commit()
    people = {"sro": world.person("sro", "party_user", "senior_responsible_officer", org=supplier),
              "aro": world.person("aro", "party_user", "authorised_responsible_officer", org=supplier),
              "clerk": world.person("clerk", "party_user", org=supplier),
              "other": world.person("other", "party_user", "senior_responsible_officer", org=network)}
    return supplier, network, people


def _dcc(ctx: Ctx) -> Ctx:
    return Ctx(session=ctx.session, actor=Actor.system("dcc-operator"), clock=ctx.clock, settings=ctx.settings)


def _as(ctx: Ctx, person, second_factor: bool = True) -> Ctx:
    """Acting as ``person``, signed in with a second factor unless ``second_factor`` is False (issue 15)."""
    return Ctx(session=ctx.session, actor=Actor.of(person, second_factor=second_factor), clock=ctx.clock,
               settings=ctx.settings)


def test_a_signed_adt_file_sets_the_users_thresholds_and_a_bad_signature_is_refused(ctx, parties, organisations,
                                                                                    keystore):
    _, _, people = parties
    sro = _as(ctx, people["sro"])
    key = organisations[SUPPLIER].key
    with pytest.raises(AdtFileError, match="does not verify"):      # tampered after signing
        adt_service.upload_adt_file(sro, ADT.replace(b",2,3,", b",2,9,"), sign_file(ADT, key), keystore)
    with pytest.raises(AdtFileError, match="does not verify"):      # another User's key
        adt_service.upload_adt_file(sro, ADT, sign_file(ADT, organisations[NETWORK_OPERATOR].key), keystore)
    with pytest.raises(AdtFileError, match="not base64"):
        adt_service.upload_adt_file(sro, ADT, "not a signature!", keystore)
    with pytest.raises(Forbidden, match="Senior or Authorised Responsible Officer"):
        adt_service.upload_adt_file(_as(ctx, people["clerk"]), ADT, sign_file(ADT, key), keystore)
    with pytest.raises(Forbidden, match="another organisation"):
        adt_service.upload_adt_file(_as(ctx, people["other"]), ADT, sign_file(ADT, key), keystore)
    assert ctx.session.scalars(select(AdtThreshold)).all() == []

    rows = adt_service.upload_adt_file(sro, ADT, sign_file(ADT, key), keystore)
    assert [(r.srv, r.warning, r.quarantine, r.period_seconds) for r in rows] == [
        ("4.1.1", 2, 3, 86400), ("6.15.1", None, 0, 3600)]
    loaded = adt_service.load_thresholds(ctx.session, ctx.settings)
    assert loaded.for_user(SUPPLIER, "4.1.1") == Limit(2, 3, 86400)
    assert loaded.for_user(SUPPLIER, "4.1.2") == Limit(None, None, 86400)
    assert [t.srv for t in adt_service.thresholds(_as(ctx, people["other"]))] == []  # not theirs to see
    adt_service.set_dcc_threshold(_dcc(ctx), "4.1.1", quarantine=1000)
    assert adt_service.load_thresholds(ctx.session, ctx.settings).for_dcc("4.1.1") == DccLimit(1000, 86400)
    with pytest.raises(Forbidden):
        adt_service.set_dcc_threshold(sro, "4.1.1", quarantine=1)


def _quarantine(session, counter: int, clock) -> QuarantinedRequest:
    rid = f"{SUPPLIER}:{DEVICE}:{counter}"
    q = QuarantinedRequest(request_id=rid, originator=SUPPLIER, counter=counter, srv="4.1.1", service="serviceS",
                           log_seq=counter, breach="user", threshold=3, count=4, status="held", body="<x/>",
                           received_at=clock.now())
    session.add_all([q, GatewayMessage(request_id=rid, originator=SUPPLIER, target=DEVICE, counter=counter,
                                       srv="4.1.1", command_variant=1, service="serviceS", state="quarantined",
                                       code="I99", explanation="quarantined", received_at=clock.now())])
    session.commit()
    return q


def _officer_key(ctx: Ctx, username: str) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    adt_service.add_officer_certificate(_dcc(ctx), username, _cert(key, username).public_bytes(Encoding.PEM))
    return key


def test_an_officers_signed_action_file_releases_and_deletes_and_others_are_refused(ctx, parties, clock):
    _, _, people = parties
    sro_key, clerk_key, other_key = (_officer_key(ctx, u) for u in ("sro", "clerk", "other"))
    stray = ec.generate_private_key(ec.SECP256R1())
    for counter in (17, 18):
        _quarantine(ctx.session, counter, clock)
    action = (f"user_id,request_id,action\n{SUPPLIER},{SUPPLIER}:{DEVICE}:17,release\n"
              f"{SUPPLIER},{SUPPLIER}:{DEVICE}:18,delete\n").encode()
    aro = _as(ctx, people["aro"])  # uploads; the SRO signed
    for key, data, why in [(stray, action, "does not verify"), (other_key, action, "does not verify"),
                           (clerk_key, action, "is not a Senior or Authorised Responsible Officer")]:
        with pytest.raises(AdtFileError, match=why):
            adt_service.apply_action_file(aro, data, sign_file(data, key))
    with pytest.raises(AdtFileError, match="does not verify"):  # tampered: release turned into delete
        adt_service.apply_action_file(aro, action.replace(b"release", b"delete"), sign_file(action, sro_key))
    with pytest.raises(Forbidden):
        adt_service.apply_action_file(_as(ctx, people["clerk"]), action, sign_file(action, sro_key))
    assert {q.status for q in adt_service.quarantined(aro)} == {"held"}

    outcome = adt_service.apply_action_file(aro, action, sign_file(action, sro_key))
    assert outcome.officer == "Sro (sro)" and len(outcome.released) == len(outcome.deleted) == 1
    states = {m.counter: m.state for m in ctx.session.scalars(select(GatewayMessage))}
    assert states == {17: MessageState.RELEASED.value, 18: MessageState.DELETED.value}
    assert [q.request_id for q in adt_service.pending_releases(ctx.session)] == [f"{SUPPLIER}:{DEVICE}:17"]
    assert {q.counter: q.status for q in adt_service.quarantined(aro)} == {
        17: QuarantineStatus.RELEASED.value, 18: QuarantineStatus.DELETED.value}
    with pytest.raises(AdtFileError, match="already released"):  # a file applies once
        adt_service.apply_action_file(aro, action, sign_file(action, sro_key))
    assert adt_service.quarantined(_as(ctx, people["other"])) == []  # another organisation sees none


def test_counters_are_rebuilt_from_the_journal_for_the_current_window(ctx, clock):
    for counter, at in [(1, clock.now()), (2, clock.now()), (3, clock.now() - timedelta(days=1))]:
        ctx.session.add(GatewayMessage(request_id=f"{SUPPLIER}:{DEVICE}:{counter}", originator=SUPPLIER, target=DEVICE,
                                       counter=counter, srv="4.1.1", command_variant=1, service="serviceS",
                                       state="acknowledged", code="I99", received_at=at))
    ctx.session.add(GatewayMessage(request_id=f"{SUPPLIER}:{DEVICE}:9", originator=SUPPLIER, target=DEVICE,
                                   counter=9, srv="4.1.1", command_variant=1, service="serviceS", state="refused",
                                   code="E4", received_at=clock.now()))
    ctx.session.commit()
    counters = AdtCounters(adt_service.load_thresholds(ctx.session, ctx.settings))
    adt_service.rebuild_counters(ctx.session, counters, clock.now())
    assert counters.count(SUPPLIER, "4.1.1", clock.now()) == 2  # yesterday's and the refused one do not count
