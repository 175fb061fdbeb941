"""DCC Alerts from the SMI (DeviceSuspended / DeviceRestored) and the gateway (QuarantinedRequest) on the Northbound.

The SMI's own tests prove it records ``smi_device_events`` (one per User concerned) when a status goes to or from
Suspended; here those rows are written as the SMI writes them, and what the DCC Alert sources make of them is
checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gbsmart.alerts.dcc import DccAlertSources
from gbsmart.alerts.enums import OutboundKind
from gbsmart.core.clock import FixedClock, utc
from gbsmart.core.db import make_sessionmaker
from gbsmart.models.adt import DccAlert
from gbsmart.models.parties import DccUser, DccUserRole, Organisation
from gbsmart.models.smi import SmiDevice, SmiDeviceEvent, SmiRegistration
from gbsmart.smi.enums import DeviceEvent
from gbsmart.smi.rules import EVENT_CODE, eui64_to_int
from tests.alerts.northbound_double import RecordingNorthbound
from tests.gateway.aio import run_async

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SUPPLIER_USER, DNO_USER, GAS_USER, GT_USER = ("90-B3-D5-1F-30-01-00-01", "90-B3-D5-1F-30-01-00-02",
                                              "90-B3-D5-1F-30-01-00-03", "90-B3-D5-1F-30-01-00-04")
ESME, GSME = "00-DB-12-34-56-78-00-01", "00-DB-12-34-56-78-00-02"
MPAN, MPRN = 1900000000001, 1234567


@pytest.fixture
def sessions(engine):
    factory = make_sessionmaker(engine)
    with factory.begin() as s:
        orgs = [Organisation(name=n, kind="sec_party", created_at=T0) for n in ("Supplier", "DNO", "GasCo", "GT")]
        s.add_all(orgs)
        s.flush()
        for org, eui, role in zip(orgs, (SUPPLIER_USER, DNO_USER, GAS_USER, GT_USER), ("IS", "ED", "GS", "GT"),
                                  strict=True):
            user = DccUser(organisation_id=org.id, eui64=eui)
            user.role_rows.append(DccUserRole(role=role))
            s.add(user)
        # the supplier holds an ED User ID too: the event to it as Supplier must still go to its IS User ID
        extra = DccUser(organisation_id=orgs[0].id, eui64="90-B3-D5-1F-30-01-00-09")
        extra.role_rows.append(DccUserRole(role="ED"))
        s.add(extra)
        s.add_all([
            SmiDevice(device_id=eui64_to_int(ESME), device_type=1, lifecycle_status=3, lifecycle_date=T0.date(),
                      mpxn=MPAN, csp_region=1),
            SmiDevice(device_id=eui64_to_int(GSME), device_type=2, lifecycle_status=3, lifecycle_date=T0.date(),
                      mpxn=MPRN, csp_region=1),
            SmiRegistration(mpxn=MPAN, fuel="E", supplier_org_id=orgs[0].id, network_operator_org_id=orgs[1].id,
                            valid_from=T0.date()),
            SmiRegistration(mpxn=MPRN, fuel="G", supplier_org_id=orgs[2].id, network_operator_org_id=orgs[3].id,
                            valid_from=T0.date())])
    factory.orgs = {o.name: o.id for o in orgs}  # type: ignore[attr-defined]
    return factory


def events(sessions, device: str, event: DeviceEvent, *orgs: str, at: datetime = T0) -> None:
    """Rows as the SMI writes them when the device's status changes (smi.service._device_events)."""
    with sessions.begin() as s:
        for org in orgs:
            s.add(SmiDeviceEvent(event=EVENT_CODE[event], device_id=eui64_to_int(device),
                                 user_org_id=sessions.orgs[org], at=at, extract_sequence=None))


def run(sessions, settings, body, clock=None):
    clock = clock or FixedClock(T0 + timedelta(minutes=1))

    async def main():
        nb = RecordingNorthbound(sessions)
        sources = DccAlertSources(sessions, settings, clock, northbound=nb, batch=2)
        nb.on_delivered = sources.on_delivered
        await sources.start(background=False)
        try:
            return await body(sources, nb)
        finally:
            await sources.close()
    return run_async(main())


def test_suspension_and_restoration_go_to_the_supplier_and_the_network_operator_in_their_roles(sessions, settings):
    events(sessions, ESME, DeviceEvent.DEVICE_SUSPENDED, "Supplier", "DNO")
    events(sessions, GSME, DeviceEvent.DEVICE_SUSPENDED, "GasCo", "GT")
    events(sessions, ESME, DeviceEvent.DEVICE_RESTORED, "Supplier", "DNO", at=T0 + timedelta(seconds=30))

    async def body(sources, nb):
        assert await sources.run_due() == 6   # in batches of 2
        return nb.items
    items = run(sessions, settings, body)
    assert [(i.user_id, i.payload["device_status_change"]["change"]) for i in items] == [
        (SUPPLIER_USER, "DeviceSuspended"), (DNO_USER, "DeviceSuspended"), (GAS_USER, "DeviceSuspended"),
        (GT_USER, "DeviceSuspended"), (SUPPLIER_USER, "DeviceRestored"), (DNO_USER, "DeviceRestored")]
    first = items[0]
    assert (first.kind, first.code, first.priority) == (OutboundKind.DCC_ALERT, "N12", "alert")
    assert first.payload == {"code": "N12", "at": "2026-12-04T12:00:00Z", "device_id": ESME,
                             "device_status_change": {"device_id": ESME, "change": "DeviceSuspended"}}
    assert items[4].payload["at"] == "2026-12-04T12:00:30Z"
    assert len({i.message_id for i in items}) == 6


def test_a_restart_picks_up_only_what_was_not_yet_put(sessions, settings):
    events(sessions, ESME, DeviceEvent.DEVICE_SUSPENDED, "Supplier", "DNO")

    async def first(sources, nb):
        return await sources.run_due()
    assert run(sessions, settings, first) == 2
    events(sessions, ESME, DeviceEvent.DEVICE_RESTORED, "Supplier", "DNO")

    async def second(sources, nb):
        assert sources.mark > 0
        await sources.run_due()
        assert await sources.run_due() == 0    # nothing twice in one life either
        return nb.items
    items = run(sessions, settings, second)
    assert [i.payload["device_status_change"]["change"] for i in items] == ["DeviceRestored"] * 2


def test_events_older_than_the_backfill_are_not_sent(sessions, settings):
    events(sessions, ESME, DeviceEvent.DEVICE_SUSPENDED, "Supplier", at=T0 - timedelta(days=3))
    events(sessions, ESME, DeviceEvent.DEVICE_RESTORED, "Supplier", at=T0)

    async def body(sources, nb):
        await sources.run_due()
        return nb.items
    (item,) = run(sessions, settings, body)
    assert item.payload["device_status_change"]["change"] == "DeviceRestored"


def test_an_organisation_without_a_user_id_in_the_role_is_counted_not_sent(sessions, settings):
    with sessions.begin() as s:
        s.add(Organisation(name="Nobody", kind="sec_party", created_at=T0))
    with sessions() as s:
        sessions.orgs["Nobody"] = s.scalar(select(Organisation.id).where(Organisation.name == "Nobody"))
    events(sessions, ESME, DeviceEvent.DEVICE_SUSPENDED, "Nobody")

    async def body(sources, nb):
        await sources.run_due()
        return nb.items, sources.unaddressed
    assert run(sessions, settings, body) == ([], 1)


def test_quarantined_requests_are_put_and_marked_delivered_once_delivered(sessions, settings):
    with sessions.begin() as s:
        for n in (1, 2):
            s.add(DccAlert(kind="QuarantinedRequest", user_id=SUPPLIER_USER, request_id=f"R:{n}", raised_at=T0,
                           detail=f"ADUserThresholdBreach RequestID R:{n} QuarantineEventRef {40 + n}"))

    async def body(sources, nb):
        assert await sources.run_due() == 2
        assert await sources.run_due() == 0
        one, two = nb.items
        nb.deliver(one.message_id, T0 + timedelta(seconds=5))                  # the callback sees it
        nb.deliver(two.message_id, T0 + timedelta(seconds=6), callback=False)  # the check finds it
        await sources.run_due()
        return nb.items
    one, _ = run(sessions, settings, body)
    assert (one.kind, one.code, one.user_id) == (OutboundKind.DCC_ALERT, "N42", SUPPLIER_USER)
    assert one.payload["quarantined_request"] == {
        "kind": "QuarantinedRequest", "request_id": "R:1", "breach": "ADUserThresholdBreach",
        "quarantine_event_ref": 41, "detail": "ADUserThresholdBreach RequestID R:1 QuarantineEventRef 41"}
    with sessions() as s:
        delivered = [utc(a.delivered_at) for a in s.scalars(select(DccAlert).order_by(DccAlert.id))]
    assert delivered == [T0 + timedelta(seconds=5), T0 + timedelta(seconds=6)]
