"""SMI use cases on SQLite and PostgreSQL: the CPL rule set-based, per-device changes, the look-up index."""

from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import func, select, text

from gbsmart.core.errors import Conflict, Invalid
from gbsmart.cpl.enums import EntryStatus
from gbsmart.models.smi import SmiDevice, SmiDeviceEvent, SmiDeviceModel, SmiRegistration, SmiStatusHistory
from gbsmart.smi import service
from gbsmart.smi.enums import DeviceType, SmiStatus
from gbsmart.smi.errors import DeviceNotFound, DeviceRefused, StatusChangeRefused
from gbsmart.smi.generate import catalogue_entries, generate_inventory
from gbsmart.smi.lookup import PreparedLookup, StatusIndex
from gbsmart.smi.registration import write_registration
from gbsmart.smi.rules import DEVICE_TYPE_CODE, STATUS_CODE, SUSPENDABLE_CODES, int_to_eui64
from gbsmart.smi.schemas import DeviceCreate

S = STATUS_CODE


def _key(m: SmiDeviceModel) -> tuple:
    return (m.manufacturer, m.model, m.hardware_version, m.firmware_version)


def _busiest_model(session, physical: str = "ESME") -> SmiDeviceModel:
    mid = session.scalar(select(SmiDevice.device_model_id).join(SmiDeviceModel, SmiDeviceModel.id ==
                                                                SmiDevice.device_model_id)
                         .where(SmiDeviceModel.physical_device_type == physical)
                         .group_by(SmiDevice.device_model_id).order_by(func.count().desc()).limit(1))
    return session.get(SmiDeviceModel, mid)


def _extract(without: set[tuple] = frozenset(), status: dict | None = None) -> list[dict]:
    out = []
    for e in catalogue_entries():
        k = (e["manufacturer"], e["model"], e["hardware_version"], e["firmware_version"])
        if k in without:
            continue
        out.append({**e, "status": (status or {}).get(k, e["status"])})
    return out


def _statuses(session, model_id: int) -> dict[int, tuple[int, int | None]]:
    return {d: (s, b) for d, s, b in session.execute(select(
        SmiDevice.device_id, SmiDevice.smi_status, SmiDevice.status_before_suspension)
        .where(SmiDevice.device_model_id == model_id))}


def test_generate_builds_a_plausible_inventory(session, inventory):
    assert inventory.devices == session.scalar(select(func.count()).select_from(SmiDevice)) == 3000
    types = dict(session.execute(select(SmiDevice.device_type, func.count()).group_by(SmiDevice.device_type)).all())
    assert types[DEVICE_TYPE_CODE[DeviceType.ESME]] == types[DEVICE_TYPE_CODE[DeviceType.CHF]]
    assert 0.3 < types[DEVICE_TYPE_CODE[DeviceType.GSME]] / types[DEVICE_TYPE_CODE[DeviceType.ESME]] < 0.7
    mpxns = select(SmiDevice.mpxn).where(SmiDevice.device_type == DEVICE_TYPE_CODE[DeviceType.GSME])
    assert session.scalar(select(func.count()).select_from(SmiRegistration)
                          .where(SmiRegistration.mpxn.in_(mpxns), SmiRegistration.valid_to.is_(None))) == \
        types[DEVICE_TYPE_CODE[DeviceType.GSME]]
    with pytest.raises(Conflict, match="already holds generated devices"):
        generate_inventory(service_ctx := None or _ctx_of(session), 10)  # noqa: F841


def _ctx_of(session):
    from datetime import UTC, datetime

    from gbsmart.config import Settings
    from gbsmart.core.clock import FixedClock
    from gbsmart.core.context import Actor, Ctx

    return Ctx(session=session, actor=Actor.system("t"), clock=FixedClock(datetime(2022, 7, 1, tzinfo=UTC)),
               settings=Settings())


def test_removing_a_model_suspends_its_devices_with_events_then_relisting_restores(ctx, session, inventory):
    model = _busiest_model(session)
    before = _statuses(session, model.id)
    live = {d for d, (s, _) in before.items() if s in SUSPENDABLE_CODES}
    assert live and len(live) < len(before) + 1

    assert service.upsert_device_models(ctx, _extract(without={_key(model)})) == {"added": 0, "updated": 1,
                                                                                  "withdrawn": 1}
    result = service.apply_cpl_statuses(ctx, extract_sequence=5, reason="CPL extract 5")
    session.commit()
    assert result.suspended == len(live) and result.restored == 0
    after = _statuses(session, model.id)
    for d, (s, b) in after.items():
        if d in live:
            assert s == S[SmiStatus.SUSPENDED] and b == before[d][0]
        else:
            assert (s, b) == before[d]  # end states untouched
    # other models untouched
    assert session.scalar(select(func.count()).select_from(SmiDevice).where(
        SmiDevice.smi_status == S[SmiStatus.SUSPENDED], SmiDevice.device_model_id != model.id)) == 0
    # one event per device for each User concerned: its MPxN's Supplier and Network Operator
    device = next(iter(live))
    mpxn = session.get(SmiDevice, device).mpxn
    reg = service.current_registration(session, mpxn)
    ev = session.execute(select(SmiDeviceEvent.event, SmiDeviceEvent.user_org_id, SmiDeviceEvent.extract_sequence)
                         .where(SmiDeviceEvent.device_id == device)).all()
    assert sorted(ev) == sorted([(1, reg.supplier_org_id, 5), (1, reg.network_operator_org_id, 5)])
    assert result.events == 2 * len(live)
    hist = session.execute(select(SmiStatusHistory.from_status, SmiStatusHistory.to_status)
                           .where(SmiStatusHistory.device_id == device)).all()
    assert hist == [(before[device][0], S[SmiStatus.SUSPENDED])]
    service.record_extract_application(ctx, 5, "ab" * 32, result)
    assert service.last_applied_sequence(session) == 5
    with pytest.raises(StatusChangeRefused, match="already been applied"):
        service.record_extract_application(ctx, 5, "ab" * 32, result)

    # applying the same extract again changes nothing
    again = service.apply_cpl_statuses(ctx, extract_sequence=6, reason="CPL extract 6")
    assert (again.suspended, again.restored, again.events) == (0, 0, 0)

    # re-listed: every suspended device returns to the status it had
    assert service.upsert_device_models(ctx, _extract())["updated"] == 1
    restored = service.apply_cpl_statuses(ctx, extract_sequence=7, reason="CPL extract 7")
    session.commit()
    assert restored.restored == len(live) and restored.suspended == 0 and restored.events == 2 * len(live)
    assert _statuses(session, model.id) == before
    assert session.scalar(select(func.count()).select_from(SmiDeviceEvent).where(
        SmiDeviceEvent.device_id == device, SmiDeviceEvent.event == 2)) == 2


def test_expired_or_cancelled_models_suspend_like_removals(ctx, session, inventory):
    model = _busiest_model(session, "GSME")
    service.upsert_device_models(ctx, _extract(status={_key(model): EntryStatus.EXPIRED.value}))
    result = service.apply_cpl_statuses(ctx, extract_sequence=1, reason="x")
    assert result.suspended > 0
    assert session.get(SmiDeviceModel, model.id).status == "Expired"


def test_upsert_adds_new_models_and_refuses_bad_entries(ctx, session, inventory):
    new = {"manufacturer": "Newco", "model": "N1", "hardware_version": "1", "firmware_version": "1.0",
           "physical_device_type": "ESME", "status": "Active"}
    assert service.upsert_device_models(ctx, _extract() + [new]) == {"added": 1, "updated": 0, "withdrawn": 0}
    with pytest.raises(Invalid) as exc:
        service.upsert_device_models(ctx, [{**new, "status": "Listed"}, {**new, "model": ""}])
    fields = {d["field"] for d in exc.value.detail}
    assert {"models[0].status", "models[1].model"} <= fields


def test_a_failed_apply_rolls_back_completely(ctx, session, inventory):
    model = _busiest_model(session)
    service.upsert_device_models(ctx, _extract(without={_key(model)}))
    session.commit()
    before = _statuses(session, model.id)
    history = session.scalar(select(func.count()).select_from(SmiStatusHistory))
    session.execute(text("ALTER TABLE smi_device_events RENAME TO smi_device_events_away"))
    session.commit()
    try:
        with pytest.raises(Exception):  # noqa: B017,PT011 - the database's own error
            service.apply_cpl_statuses(ctx, extract_sequence=9, reason="fails half-way")
        session.rollback()
        assert _statuses(session, model.id) == before
        assert session.scalar(select(func.count()).select_from(SmiStatusHistory)) == history
    finally:
        session.rollback()
        session.execute(text("ALTER TABLE smi_device_events_away RENAME TO smi_device_events"))
        session.commit()
    result = service.apply_cpl_statuses(ctx, extract_sequence=9, reason="now it works")
    assert result.suspended == sum(1 for s, _ in before.values() if s in SUSPENDABLE_CODES)


def _new(device_id: str, **kw) -> DeviceCreate:
    base = {"device_id": device_id, "device_type": "ESME", "manufacturer": "Voltmeter Co", "model": "V1-SP",
            "hardware_version": "A", "firmware_version": "1.2", "smi_status": "InstalledNotCommissioned",
            "mpxn": "1400000000001"}
    return DeviceCreate(**{**base, **kw})


def test_add_and_commission_refused_for_unknown_or_non_active_models(ctx, session, inventory):
    with pytest.raises(DeviceRefused, match="device_model: a ESME must have a Device Model on the CPL"):
        service.add_device(ctx, _new("00-0D-6F-00-00-00-00-01", firmware_version="9.9"))
    ihd = service.add_device(ctx, DeviceCreate(device_id="00-0D-6F-00-00-00-00-02", device_type="IHD"))
    assert ihd.device_model_id is None
    d = service.add_device(ctx, _new("00-0D-6F-00-00-00-00-03"))
    assert service.history(session, d.device_id)[0].reason == "added to the SMI"
    model = session.get(SmiDeviceModel, d.device_model_id)
    model.status = "Cancelled"
    session.flush()
    with pytest.raises(DeviceRefused, match="only if its Device Model is Active on the CPL; it is Cancelled"):
        service.commission(ctx, "00-0D-6F-00-00-00-00-03")
    model.status = "Active"
    session.flush()
    assert service.commission(ctx, "00-0d-6f-00-00-00-00-03").smi_status == S[SmiStatus.COMMISSIONED]
    with pytest.raises(StatusChangeRefused, match="allowed from Commissioned: Decommissioned, Recovery"):
        service.commission(ctx, "00-0D-6F-00-00-00-00-03")
    with pytest.raises(DeviceNotFound):
        service.get_device(session, "00-0D-6F-00-00-00-00-99")
    assert service.decommission(ctx, "00-0D-6F-00-00-00-00-03").smi_status == S[SmiStatus.DECOMMISSIONED]


def test_firmware_update_restores_a_suspended_device(ctx, session, inventory):
    old = session.scalar(select(SmiDeviceModel).where(SmiDeviceModel.model == "V1-SP",
                                                      SmiDeviceModel.firmware_version == "1.2"))
    reg_org = session.scalar(select(SmiRegistration.supplier_org_id).limit(1))
    write_registration(ctx, mpxn=1400000000001, fuel="E", supplier_org_id=reg_org,
                             network_operator_org_id=reg_org, valid_from=date(2020, 1, 1))
    d = service.add_device(ctx, _new("00-0D-6F-00-00-00-01-00", smi_status="Commissioned"))
    service.upsert_device_models(ctx, _extract(without={_key(old)}))
    service.apply_cpl_statuses(ctx, extract_sequence=3, reason="CPL extract 3")
    session.refresh(d)
    assert d.smi_status == S[SmiStatus.SUSPENDED]
    with pytest.raises(DeviceRefused, match="firmware_version: .* '8.8' is not on the SMI's copy of the CPL"):
        service.update_firmware(ctx, "00-0D-6F-00-00-00-01-00", "8.8")
    d = service.update_firmware(ctx, "00-0D-6F-00-00-00-01-00", "1.4")
    assert d.smi_status == S[SmiStatus.COMMISSIONED] and d.status_before_suspension is None
    assert session.get(SmiDeviceModel, d.device_model_id).firmware_version == "1.4"
    kinds = session.scalars(select(SmiDeviceEvent.event).where(SmiDeviceEvent.device_id == d.device_id)).all()
    assert sorted(kinds) == [1, 2]  # one Supplier = Network Operator here: one event each way
    # back to a withdrawn firmware: suspended again
    d = service.update_firmware(ctx, "00-0D-6F-00-00-00-01-00", "1.2")
    assert d.smi_status == S[SmiStatus.SUSPENDED] and d.status_before_suspension == S[SmiStatus.COMMISSIONED]


def test_registration_changes_close_the_previous_period(ctx, session, inventory):
    reg = session.scalars(select(SmiRegistration).limit(1)).one()
    other = reg.supplier_org_id + 1
    new = write_registration(ctx, mpxn=reg.mpxn, fuel=reg.fuel, supplier_org_id=other,
                                   network_operator_org_id=reg.network_operator_org_id, valid_from=date(2022, 8, 1))
    session.refresh(reg)
    assert reg.valid_to == date(2022, 8, 1) and service.current_registration(session, reg.mpxn).id == new.id
    with pytest.raises(Invalid, match="valid_from"):
        write_registration(ctx, mpxn=reg.mpxn, fuel=reg.fuel, supplier_org_id=other,
                                 network_operator_org_id=1, valid_from=date(2022, 7, 1))


def test_the_lookup_index_agrees_with_the_database_and_refreshes(ctx, session, inventory):
    index = StatusIndex.load(session)
    prepared = PreparedLookup(session)
    ids = random.Random(3).sample(index.ids.tolist(), 300)
    assert all(index.status(i) == prepared.status(i) for i in ids)
    assert index.status(int(index.ids[0]) - 1) is None and prepared.status(int(index.ids[0]) - 1) is None
    found, st, ty, ms, mpxn = index.status_many(index.ids[:50])
    assert found.all() and (mpxn > 0).all()
    assert sum(index.counts().values()) == 3000

    model = _busiest_model(session)
    service.upsert_device_models(ctx, _extract(without={_key(model)}))
    applied = service.apply_cpl_statuses(ctx, extract_sequence=4, reason="CPL extract 4")
    added = service.add_device(ctx, DeviceCreate(device_id="00-00-00-00-00-00-00-05", device_type="IHD"))
    session.commit()
    assert index.refresh(session) == applied.suspended + 1
    assert index.status(added.device_id)[0] is SmiStatus.PENDING
    suspended = session.scalars(select(SmiDevice.device_id).where(
        SmiDevice.smi_status == S[SmiStatus.SUSPENDED])).all()
    for i in suspended[:50] + ids:
        assert index.status(i) == prepared.status(i), int_to_eui64(i)
    assert index.status(suspended[0])[2] is EntryStatus.WITHDRAWN
    assert index.refresh(session) == 0


def test_counts_filters_and_dates_see_suspensions_and_restorations(ctx, session, inventory, clock):
    """The SMI Status is the lifecycle status unless a suspension is open: counts, filters and dates agree."""
    model = _busiest_model(session)
    live = {d for d, (s, _) in _statuses(session, model.id).items() if s in SUSPENDABLE_CODES}
    before = {(st, t): n for st, t, n in service.counts(session)}
    service.upsert_device_models(ctx, _extract(without={_key(model)}))
    service.apply_cpl_statuses(ctx, extract_sequence=5, reason="CPL extract 5")
    session.commit()
    after = {(st, t): n for st, t, n in service.counts(session)}
    assert sum(n for (st, _), n in after.items() if st is SmiStatus.SUSPENDED) == len(live)
    assert sum(after.values()) == sum(before.values())
    page = service.list_devices(session, service.DeviceFilters(status=SmiStatus.SUSPENDED), None, limit=5000)
    assert {d.device_id for d in page.items} == live
    commissioned = service.list_devices(session, service.DeviceFilters(status=SmiStatus.COMMISSIONED), None, 5000)
    assert not live & {d.device_id for d in commissioned.items}
    one = session.get(SmiDevice, next(iter(live)))
    assert one.status_date == clock.today() and one.suspended

    clock.advance(days=3)
    service.upsert_device_models(ctx, catalogue_entries())
    result = service.apply_cpl_statuses(ctx, extract_sequence=6, reason="CPL extract 6")
    session.commit()
    assert result.restored == len(live) and result.suspended == 0
    assert {(st, t): n for st, t, n in service.counts(session)} == before
    one = session.get(SmiDevice, one.device_id)
    assert not one.suspended and one.smi_status == one.lifecycle_status
    assert one.status_date == clock.today()  # the day it was restored
