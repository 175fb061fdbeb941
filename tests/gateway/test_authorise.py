"""Authorisation in DUIS order: every Response Code, the order between them, time-bounded registration, loading
from the database, and a Hypothesis property that any request gets a decision (never an exception)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import gbsmart.models.smi  # noqa: F401  (registers the tables)
from gbsmart.gateway.authorise import (
    AuthorisationIndex,
    DccUserEntry,
    Registration,
    RegistrationIndex,
    UserIndex,
    authorise,
    status_refusal,
)
from gbsmart.gateway.duis import DuisRequest, RequestId
from gbsmart.gateway.matrix import WebService, request_matrix
from gbsmart.models.parties import DccUser, DccUserRole
from gbsmart.smi import service as smi_service
from gbsmart.smi.enums import DeviceType, Fuel, SmiStatus
from gbsmart.smi.lookup import StatusIndex
from gbsmart.smi.registration import write_registration
from gbsmart.smi.rules import DEVICE_TYPE_CODE, STATUS_CODE, eui64_to_int
from gbsmart.smi.schemas import DeviceCreate

DCC = "90-B3-D5-1F-30-00-00-02"
SUPPLIER = "90-B3-D5-1F-30-01-00-00"  # organisation 1: IS and GS
NETWORK = "90-B3-D5-1F-30-02-00-00"  # organisation 2: ED and GT
OTHER_SUPPLIER = "90-B3-D5-1F-30-03-00-00"  # organisation 3: IS
ROLELESS = "90-B3-D5-1F-30-04-00-00"
ESME = "00-DB-12-34-56-78-90-A0"
GSME = "00-DB-12-34-56-78-90-A3"
NO_MPXN = "00-DB-12-34-56-78-90-A7"
MPAN, MPRN = 1234567890123, 7654321
AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def status_index(devices: list[tuple[str, SmiStatus, DeviceType, int | None]]) -> StatusIndex:
    """A StatusIndex holding ``devices``, filled the way ``StatusIndex.load`` fills it (no database)."""
    rows = sorted((eui64_to_int(d), s, t, m) for d, s, t, m in devices)
    index = StatusIndex()
    index.ids = np.array([r[0] for r in rows], dtype=np.int64)
    cols = (index.ids, np.array([STATUS_CODE[r[1]] for r in rows], dtype=np.uint8),
            np.array([DEVICE_TYPE_CODE[r[2]] for r in rows], dtype=np.uint8), np.zeros(len(rows), dtype=np.int32))
    index.packed = StatusIndex._pack(cols)
    index.mpxn = np.array([-1 if r[3] is None else r[3] for r in rows], dtype=np.int64)
    index._build_search()
    return index


def make_index(esme_status: SmiStatus = SmiStatus.COMMISSIONED) -> AuthorisationIndex:
    users = UserIndex({SUPPLIER: DccUserEntry(1, frozenset({"IS", "GS"})),
                       NETWORK: DccUserEntry(2, frozenset({"ED", "GT"})),
                       OTHER_SUPPLIER: DccUserEntry(3, frozenset({"IS"})),
                       ROLELESS: DccUserEntry(4, frozenset())})
    registrations = RegistrationIndex.from_rows([
        Registration(MPAN, Fuel.ELECTRICITY, 3, 2, date(2020, 1, 1), date(2026, 6, 1)),  # then organisation 3
        Registration(MPAN, Fuel.ELECTRICITY, 1, 2, date(2026, 6, 1), None),  # now organisation 1
        Registration(MPRN, Fuel.GAS, 1, 2, date(2021, 1, 1), None),
    ])
    devices = status_index([(ESME, esme_status, DeviceType.ESME, MPAN),
                            (GSME, SmiStatus.COMMISSIONED, DeviceType.GSME, MPRN),
                            (NO_MPXN, SmiStatus.COMMISSIONED, DeviceType.ESME, None)])
    return AuthorisationIndex(users, registrations, devices)


@pytest.fixture(scope="module")
def index() -> AuthorisationIndex:
    return make_index()


_ROOT = etree.Element("Request")


def req(originator: str = SUPPLIER, target: str = ESME, srv: str = "4.1.1", cv: int = 1) -> DuisRequest:
    sr = ".".join(srv.split(".")[:2])
    return DuisRequest(RequestId(originator, target, 1000), cv, sr, srv, "Body", "5.4", _ROOT)


S, T, D = WebService.SEND_COMMAND, WebService.TRANSFORM, WebService.NON_DEVICE


def test_a_registered_supplier_reading_its_meter_is_accepted(index):
    decision = authorise(index, req(), S, AT)
    assert decision.accepted and decision.code is None
    assert decision.variant is not None and decision.variant.srv == "4.1.1"
    assert authorise(index, req(NETWORK, ESME, "6.5"), S, AT).accepted  # the Network Operator, ED
    assert authorise(index, req(SUPPLIER, GSME), S, AT).accepted  # gas, GS
    assert authorise(index, req(NETWORK, GSME, "14.1"), S, AT).accepted  # gas Network Operator, GT
    assert authorise(index, req(SUPPLIER, DCC, "8.2", 8), D, AT).accepted  # non-device: no device checks


@pytest.mark.parametrize(("request_", "service", "code", "words"), [
    (req("90-B3-D5-1F-30-09-00-00"), S, "E1", "not a DCC User ID the DCC knows"),
    (req(ROLELESS), S, "E1", "holds no User Role"),
    (req(NETWORK, srv="7.2", cv=4), T, "E2", "may be sent only by the User Roles"),
    (req(srv="99.9"), S, "E2", "not a Service Request Variant"),
    (req(target="00-DB-12-34-56-78-90-FF"), S, "E19", "not in the Smart Metering Inventory"),
    (req(OTHER_SUPPLIER), S, "E4", "not the registered electricity Supplier"),
    (req(NETWORK, GSME, "6.5"), S, "E4", "not the registered gas Supplier"),  # ED (6.5's role) is not gas's
    (req(target=NO_MPXN), S, "E4", "has no MPAN or MPRN"),
    (req(cv=4), T, "E12", "is not critical"),
    (req(srv="7.2", cv=1), S, "E12", "is critical"),
    (req(srv="4.1.1", cv=8), S, "E12", "Command Variant 8 is for non-device"),
    (req(target=DCC, srv="8.2", cv=1), D, "E12", "Command Variant 8, not 1"),
    (req(), D, "E13", "goes to the Send Command service"),
    (req(srv="7.2", cv=4), S, "E13", "goes to the Transform service (/api/v1/serviceT)"),
    (req(srv="7.2", cv=5), T, "E13", "goes to the Send Command service"),
    (req(target=DCC, srv="8.2", cv=8), S, "E13", "goes to the Non-Device service"),
])
def test_each_refusal_has_its_duis_code_and_says_what_to_do(index, request_, service, code, words):
    decision = authorise(index, request_, service, AT)
    assert (decision.code, decision.accepted) == (code, False)
    assert words in decision.explanation, decision.explanation
    assert len(decision.explanation) > 40 and decision.explanation[0] not in " :,"


def test_a_request_wrong_in_two_ways_gets_the_earlier_code(index):
    # unknown User and wrong service: E1 before E13
    assert authorise(index, req("90-B3-D5-1F-30-09-00-00"), D, AT).code == "E1"
    # role not eligible and unknown device: E2 before E19
    assert authorise(index, req(NETWORK, "00-DB-12-34-56-78-90-FF", "7.2", 4), T, AT).code == "E2"
    # unknown device and wrong Command Variant: E19 before E12
    assert authorise(index, req(target="00-DB-12-34-56-78-90-FF", cv=4), T, AT).code == "E19"
    # not the Supplier and device Decommissioned: E4 before E5
    decommissioned = make_index(SmiStatus.DECOMMISSIONED)
    assert authorise(decommissioned, req(OTHER_SUPPLIER), S, AT).code == "E4"
    assert authorise(decommissioned, req(), S, AT).code == "E5"
    # SMI Status and wrong Command Variant: E5 before E12; Command Variant and service: E12 before E13
    assert authorise(decommissioned, req(cv=4), T, AT).code == "E5"
    assert authorise(index, req(cv=4), D, AT).code == "E12"


def test_registration_is_read_at_the_time_of_the_request(index):
    before, after = datetime(2026, 5, 31, 23, 0, tzinfo=UTC), datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    assert authorise(index, req(OTHER_SUPPLIER), S, before).accepted
    assert authorise(index, req(SUPPLIER), S, before).code == "E4"
    assert authorise(index, req(SUPPLIER), S, after).accepted
    assert authorise(index, req(OTHER_SUPPLIER), S, after).code == "E4"
    early = authorise(index, req(SUPPLIER), S, datetime(2019, 6, 1, tzinfo=UTC))
    assert early.code == "E4" and "No Supplier or Network Operator is registered for MPxN" in early.explanation


@pytest.mark.parametrize(("status", "srv", "cv", "service", "code"), [
    (SmiStatus.SUSPENDED, "4.1.1", 1, S, "E5"),
    (SmiStatus.SUSPENDED, "11.2", 1, S, None),
    (SmiStatus.SUSPENDED, "11.3", 4, T, None),
    (SmiStatus.RECOVERY, "4.1.1", 1, S, "E5"),
    (SmiStatus.RECOVERY, "6.15.1", 4, T, None),
    (SmiStatus.PENDING, "11.2", 1, S, "E5"),
    (SmiStatus.WHITELISTED, "4.1.1", 1, S, "E5"),
    (SmiStatus.WITHDRAWN, "11.2", 1, S, "E5"),
    (SmiStatus.DECOMMISSIONED, "11.2", 1, S, "E5"),
    (SmiStatus.INSTALLED_NOT_COMMISSIONED, "8.1.1", 4, T, None),
    (SmiStatus.RECOVERED, "4.1.1", 1, S, None),
])
def test_smi_status_rules(status, srv, cv, service, code):
    decision = authorise(make_index(status), req(srv=srv, cv=cv), service, AT)
    assert decision.code == code, decision.explanation
    if code:
        assert status.value in decision.explanation or "Recovery" in decision.explanation


def test_a_suspended_device_accepts_only_firmware_requests():
    allowed = {srv for srv, v in request_matrix().items() if not v.non_device
               and status_refusal(SmiStatus.SUSPENDED, srv) is None}
    assert allowed == {"11.2", "11.3"}  # 11.1 is a non-device request: it does not target the device
    assert status_refusal(SmiStatus.SUSPENDED, "11.1") is None


EUIS = st.sampled_from([SUPPLIER, NETWORK, OTHER_SUPPLIER, ROLELESS, DCC, ESME, GSME, NO_MPXN,
                        "00-00-00-00-00-00-00-00", "FF-FF-FF-FF-FF-FF-FF-FF"])
INDEXES = {status: make_index(status) for status in SmiStatus}
SRVS = st.one_of(st.sampled_from(sorted(request_matrix())), st.text(max_size=12))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(originator=EUIS, target=st.one_of(EUIS, st.text(max_size=30)), srv=SRVS, cv=st.integers(0, 99),
       service=st.sampled_from(list(WebService)),
       at=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       status=st.sampled_from(list(SmiStatus)))
def test_any_request_gets_a_decision_never_an_exception(originator, target, srv, cv, service, at, status):
    index = INDEXES[status]
    decision = authorise(index, DuisRequest(RequestId(originator, target, 1), cv, srv, srv, "B", "5.4", _ROOT),
                         service, at)
    assert decision.code in (None, "E1", "E2", "E19", "E4", "E5", "E12", "E13")
    assert decision.accepted == (decision.code is None)
    assert decision.accepted or decision.explanation


# ---------------------------------------------------------------- loaded from the database


def test_the_index_loads_users_registrations_and_devices_from_the_database_and_refreshes(ctx, session, world):
    supplier = world.org("Boxed Supplier", category="large_supplier")
    network = world.org("Boxed Network", category="electricity_network")
    other = world.org("Other Supplier", category="small_supplier")
    for eui, org, roles in ((SUPPLIER, supplier, ("IS", "GS")), (NETWORK, network, ("ED",)),
                            (OTHER_SUPPLIER, other, ("IS",))):
        session.add(DccUser(organisation_id=org.id, eui64=eui, role_rows=[DccUserRole(role=r) for r in roles]))
    smi_service.add_device(ctx, DeviceCreate(device_id=ESME, device_type=DeviceType.IHD, mpxn=str(MPAN),
                                             smi_status=SmiStatus.COMMISSIONED))
    write_registration(ctx, mpxn=MPAN, fuel=Fuel.ELECTRICITY, supplier_org_id=other.id,
                       network_operator_org_id=network.id, valid_from=date(2019, 1, 1))
    write_registration(ctx, mpxn=MPAN, fuel=Fuel.ELECTRICITY, supplier_org_id=supplier.id,
                       network_operator_org_id=network.id, valid_from=date(2020, 1, 1))
    session.commit()

    index = AuthorisationIndex.load(session)
    assert len(index.users) == 3 and index.users.get(SUPPLIER) == DccUserEntry(supplier.id, frozenset({"IS", "GS"}))
    assert len(index.registrations) == 2
    assert index.registrations.at(MPAN, date(2019, 6, 1)).supplier_org_id == other.id
    assert index.registrations.at(MPAN, date(2019, 6, 1)).valid_to == date(2020, 1, 1)
    assert index.registrations.at(MPAN, date(2025, 6, 1)).valid_to is None
    assert index.registrations.at(MPAN, date(2018, 6, 1)) is None
    assert authorise(index, req(SUPPLIER), S, AT).accepted
    assert authorise(index, req(OTHER_SUPPLIER), S, AT).code == "E4"
    assert authorise(index, req(OTHER_SUPPLIER), S, datetime(2019, 6, 1, tzinfo=UTC)).accepted
    assert authorise(index, req(target=GSME), S, AT).code == "E19"

    smi_service.add_device(ctx, DeviceCreate(device_id=GSME, device_type=DeviceType.IHD, mpxn=str(MPAN),
                                             smi_status=SmiStatus.COMMISSIONED))
    smi_service.decommission(ctx, ESME)
    session.commit()
    index.refresh(session)
    assert authorise(index, req(target=GSME), S, AT).accepted
    assert authorise(index, req(), S, AT).code == "E5"
