"""Registration data on SQLite and PostgreSQL: who may record and read it, the Party and fuel rules, the dates,
the history kept, DCC User IDs, and what it decides (who may act on a device)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Forbidden, Invalid, NotFound
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.parties import DccUser, DccUserRole, Organisation
from gbsmart.models.smi import SmiRegistration
from gbsmart.smi import registration, service
from gbsmart.smi.enums import Fuel
from gbsmart.smi.schemas import DeviceCreate, RegistrationCreate

MPAN = "1200000123456"
MPRN = "7418529630"


@pytest.fixture
def parties(world) -> dict[str, Organisation]:
    return {
        "bg": world.org("British Gas", category="large_supplier"),
        "small": world.org("Tiny Energy Ltd", category="small_supplier"),
        "npg": world.org("Northern Powergrid", category="electricity_network"),
        "cadent": world.org("Cadent Gas", category="gas_network"),
        "maker": world.org("Meters R Us", category="other"),
        "dcc": world.org("Smart DCC", kind="dcc"),
    }


def as_(ctx: Ctx, *roles: str, org: Organisation | None = None) -> Ctx:
    actor = Actor(person_id=None, username="someone", name="Someone", roles=frozenset(roles),
                  organisation_id=org.id if org else None)
    return Ctx(session=ctx.session, actor=actor, clock=ctx.clock, settings=ctx.settings)


def reg(mpxn: str = MPAN, supplier: str | int = "British Gas", network: str | int = "Northern Powergrid",
        valid_from: date = date(2019, 1, 1), **kw) -> RegistrationCreate:
    return RegistrationCreate(mpxn=mpxn, supplier=supplier, network_operator=network, valid_from=valid_from, **kw)


def fields_of(exc: pytest.ExceptionInfo) -> dict[str, str]:
    return {d["field"]: d["message"] for d in exc.value.detail}


def test_the_dcc_records_a_registration_and_a_change_closes_the_previous_period(ctx, session, parties):
    dcc = as_(ctx, "dcc", org=parties["dcc"])
    first = registration.record_registration(dcc, reg())
    assert (first.mpxn, first.fuel, first.supplier_org_id, first.network_operator_org_id, first.valid_to) == \
        (int(MPAN), "E", parties["bg"].id, parties["npg"].id, None)
    # the Code Administrator changes the Supplier, naming Parties by id and by name in any case
    ca = as_(ctx, "code_administrator")
    registration.record_registration(ca, reg(supplier=parties["small"].id, network="northern POWERGRID",
                                             valid_from=date(2019, 6, 1)))
    registration.record_registration(ca, reg(supplier=str(parties["bg"].id), valid_from=date(2020, 1, 28)))
    session.commit()
    rows = registration.registration_history(session, int(MPAN))
    assert [(r.supplier_org_id, r.valid_from, r.valid_to) for r in rows] == [
        (parties["bg"].id, date(2019, 1, 1), date(2019, 6, 1)),
        (parties["small"].id, date(2019, 6, 1), date(2020, 1, 28)),
        (parties["bg"].id, date(2020, 1, 28), None)]
    assert service.current_registration(session, int(MPAN)).id == rows[-1].id
    h = registration.read_registrations(ca, MPAN)
    assert h.fuel is Fuel.ELECTRICITY and h.current.supplier.name == "British Gas"
    assert [r.supplier.name for r in h.history] == ["British Gas", "Tiny Energy Ltd", "British Gas"]
    assert [r.current for r in h.history] == [False, False, True]
    audit = session.scalars(select(ChangeRecord).where(ChangeRecord.action == "smi.registration.set")
                            .order_by(ChangeRecord.id)).all()
    assert len(audit) == 3 and audit[0].before is None
    assert audit[1].before["supplier"] == "British Gas" and audit[1].after["supplier"] == "Tiny Energy Ltd"
    assert audit[1].before["valid_to"] == "2019-06-01"


def test_a_gas_registration_needs_a_gas_network_party(ctx, parties):
    r = registration.record_registration(ctx, reg(MPRN, network="Cadent Gas", fuel="G"))
    assert r.fuel == "G"
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg("123456", network="Northern Powergrid"))
    assert fields_of(exc) == {"network_operator": "Northern Powergrid is an Electricity Network Party; the Network "
                                                  "Operator of an MPRN must be a Gas Network Party"}
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg(MPAN, network="Cadent Gas"))
    assert "the Network Operator of an MPAN must be an Electricity Network Party" in fields_of(exc)["network_operator"]


def test_the_fuel_must_match_the_mpxn_s_form(ctx, parties):
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg(MPAN, fuel="G"))
    assert fields_of(exc) == {"fuel": "fuel G is gas, but 1200000123456 is an MPAN core (13 digits: electricity); give "
                                      "fuel E or an MPRN (6 to 10 digits: gas)"}
    assert exc.value.message == f"The registration of MPxN {MPAN} was refused (1 problem: fuel)."


def test_wrong_categories_and_unknown_names_are_refused_naming_the_field(ctx, session, parties):
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg(supplier="Northern Powergrid", network="British Gas"))
    problems = fields_of(exc)
    assert problems["supplier"] == ("Northern Powergrid is an Electricity Network Party; the Supplier must be a Large "
                                    "Supplier or Small Supplier")
    assert problems["network_operator"].startswith("British Gas is a Large Supplier; the Network Operator of an MPAN")
    assert exc.value.status == 422
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg(supplier="Meters R Us", network="Smart DCC"))
    assert "Meters R Us is an Other SEC Party" in fields_of(exc)["supplier"]
    assert fields_of(exc)["network_operator"].startswith("Smart DCC is DCC, not a SEC Party with a Party Category")
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg(supplier="No Such Energy", network="99999999999999"))
    assert fields_of(exc) == {
        "supplier": "no organisation called 'No Such Energy' (give its name, short name or id)",
        "network_operator": "no organisation called '99999999999999' (give its name, short name or id)"}
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg("12345678901"))
    assert list(fields_of(exc)) == ["mpxn"] and "has 11 digits" in fields_of(exc)["mpxn"]
    assert session.scalar(select(SmiRegistration.id)) is None  # nothing was written


def test_dates_move_forward_and_never_into_the_future(ctx, session, parties):
    registration.record_registration(ctx, reg(valid_from=date(2019, 6, 1)))
    for day in (date(2019, 6, 1), date(2019, 5, 31)):
        with pytest.raises(Invalid) as exc:
            registration.record_registration(ctx, reg(supplier="Tiny Energy Ltd", valid_from=day))
        assert fields_of(exc) == {"valid_from": "must be after 01 Jun 2019, when the current registration began: "
                                                "registration data moves forward and keeps its history"}
    with pytest.raises(Invalid) as exc:  # the test clock says 28 Jan 2020
        registration.record_registration(ctx, reg(supplier="Tiny Energy Ltd", valid_from=date(2020, 1, 29)))
    assert fields_of(exc)["valid_from"].startswith("29 Jan 2020 is in the future (today is 28 Jan 2020)")
    rows = registration.registration_history(session, int(MPAN))
    assert [(r.supplier_org_id, r.valid_to) for r in rows] == [(parties["bg"].id, None)]  # unchanged


def test_only_the_dcc_and_the_code_administrator_record(ctx, parties):
    for who in (as_(ctx, "party_user", org=parties["small"]), as_(ctx, "party_user", org=parties["bg"]),
                as_(ctx, "authority"), as_(ctx, "panel_member")):
        with pytest.raises(Forbidden, match="Only the DCC or the Code Administrator may record registration data"):
            registration.record_registration(who, reg())
    registration.record_registration(as_(ctx, "dcc"), reg())


def test_a_party_reads_only_the_mpxns_it_serves_or_served(ctx, session, parties):
    registration.record_registration(ctx, reg(valid_from=date(2019, 1, 1)))
    registration.record_registration(ctx, reg(supplier="Tiny Energy Ltd", valid_from=date(2019, 9, 1)))
    registration.record_registration(ctx, reg(MPRN, supplier="Tiny Energy Ltd", network="Cadent Gas"))
    bg, small = as_(ctx, "party_user", org=parties["bg"]), as_(ctx, "party_user", org=parties["small"])
    npg, cadent = as_(ctx, "party_user", org=parties["npg"]), as_(ctx, "party_user", org=parties["cadent"])
    assert len(registration.read_registrations(bg, MPAN).history) == 2  # its former MPAN: the whole history
    assert registration.read_registrations(small, MPAN).current.supplier.name == "Tiny Energy Ltd"
    assert registration.read_registrations(npg, MPAN).current.network_operator.name == "Northern Powergrid"
    assert registration.read_registrations(cadent, MPRN).fuel is Fuel.GAS
    for who, mpxn in ((bg, MPRN), (npg, MPRN), (cadent, MPAN), (as_(ctx, "party_user"), MPAN),
                      (as_(ctx, "party_user", org=parties["maker"]), "1999999999999")):
        with pytest.raises(Forbidden, match="shown only to the DCC, the Code Administrator and the Parties"):
            registration.read_registrations(who, mpxn)
    with pytest.raises(NotFound, match="No registration data for MPxN 1999999999999"):
        registration.read_registrations(as_(ctx, "code_administrator"), "1999999999999")
    with pytest.raises(Invalid, match="mpxn: '12' has 2 digits"):
        registration.read_registrations(as_(ctx, "dcc"), "12")


def test_dcc_user_ids_must_be_the_party_s_with_a_role_for_the_fuel(ctx, session, parties):
    def user(org: Organisation, eui: str, *roles: str) -> None:
        session.add(DccUser(organisation_id=org.id, eui64=eui, role_rows=[DccUserRole(role=r) for r in roles]))
        session.flush()

    user(parties["bg"], "90-B3-D5-1F-30-01-00-01", "IS", "GS")
    user(parties["npg"], "90-B3-D5-1F-30-02-00-01", "ED")
    user(parties["small"], "90-B3-D5-1F-30-03-00-01", "GS")
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg(supplier_user_id="90-B3-D5-1F-30-03-00-01",
                                                  network_operator_user_id="90-B3-D5-1F-30-01-00-01"))
    assert fields_of(exc) == {
        "supplier_user_id": "DCC User ID 90-B3-D5-1F-30-03-00-01 is not held by British Gas, the Supplier",
        "network_operator_user_id": "DCC User ID 90-B3-D5-1F-30-01-00-01 is not held by Northern Powergrid, the "
                                    "Network Operator"}
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg(supplier="Tiny Energy Ltd", supplier_user_id="90b3d51f30030001"))
    assert fields_of(exc)["supplier_user_id"] == ("DCC User ID 90-B3-D5-1F-30-03-00-01 holds the User Roles GS; the "
                                                  "Supplier of this fuel needs IS or ES")
    with pytest.raises(Invalid) as exc:
        registration.record_registration(ctx, reg(supplier_user_id="nope", network_operator_user_id="90b3d51f3002ffff"))
    assert "is not a DCC User ID" in fields_of(exc)["supplier_user_id"]
    assert "no DCC User ID 90-B3-D5-1F-30-02-FF-FF" in fields_of(exc)["network_operator_user_id"]
    registration.record_registration(ctx, reg(supplier_user_id="90b3d51f30010001",
                                              network_operator_user_id="90-B3-D5-1F-30-02-00-01"))
    h = registration.read_registrations(ctx, MPAN)
    assert (h.current.supplier_user_id, h.current.network_operator_user_id) == ("90-B3-D5-1F-30-01-00-01",
                                                                                "90-B3-D5-1F-30-02-00-01")


def test_the_current_registration_decides_who_may_act_on_a_device(ctx, session, parties):
    device = service.add_device(ctx, DeviceCreate(device_id="00-0D-6F-00-00-00-AB-01", device_type="IHD",
                                                  smi_status="Commissioned", mpxn=MPAN))
    bg, small = as_(ctx, "party_user", org=parties["bg"]), as_(ctx, "party_user", org=parties["small"])
    assert not service.may_act_on(bg, device)  # no registration data yet: E4
    registration.record_registration(ctx, reg(valid_from=date(2019, 1, 1)))
    assert service.may_act_on(bg, device) and not service.may_act_on(small, device)
    registration.record_registration(ctx, reg(supplier="Tiny Energy Ltd", valid_from=date(2020, 1, 1)))
    assert service.may_act_on(small, device) and not service.may_act_on(bg, device)


@pytest.mark.parametrize("mpxn", ["12345678901", "123456789012", "0123456", "12345"])
def test_devices_carry_mpxns_of_the_same_forms(mpxn):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="mpxn"):
        DeviceCreate(device_id="00-0D-6F-00-00-00-AB-02", device_type="IHD", mpxn=mpxn)
    assert DeviceCreate(device_id="00-0D-6F-00-00-00-AB-02", device_type="IHD", mpxn=MPRN).mpxn == MPRN
