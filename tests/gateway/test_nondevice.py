"""Non-device requests acting on the SMI (both databases): 8.4, 8.14.x, 12.1, 12.2 through the SMI service, each
answer a valid DUIS Response; refusals with their DUIS code and the service's reason, changing nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import gbsmart.models.smi  # noqa: F401  (registers the tables)
from gbsmart.core.context import Ctx
from gbsmart.core.db import make_sessionmaker
from gbsmart.gateway import nondevice
from gbsmart.gateway.authorise import AuthorisationIndex
from gbsmart.gateway.demo import BOXED_MPAN, BOXED_MPRN, load_gateway_demo
from gbsmart.gateway.duis import DuisCodec
from gbsmart.gateway.matrix import request_matrix
from gbsmart.gateway.responses import response
from gbsmart.gateway.server import Gateway
from gbsmart.gateway.xml import SUG_NS, duis_schema
from gbsmart.models.parties import DccUser
from gbsmart.models.smi import SmiDeviceModel
from gbsmart.smi import service as smi_service
from gbsmart.smi.enums import SmiStatus
from gbsmart.smi.errors import DeviceNotFound
from gbsmart.smi.lookup import StatusIndex
from gbsmart.smi.rules import STATUS_OF, eui64_to_int
from tests.gateway.aio import run_async
from tests.gateway.conftest import request_xml

DCC = "90-B3-D5-1F-30-00-00-02"
SUPPLIER, NETWORK = "90-B3-D5-1F-30-01-00-00", "90-B3-D5-1F-30-02-00-00"
NEW_CHF = "00-DB-12-34-56-78-90-B2"
AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
_counter = iter(range(1, 10**6))


@pytest.fixture
def demo(ctx, session):
    load_gateway_demo(ctx)
    session.commit()
    return ctx


def _send(ctx: Ctx, srv: str, body: str, *, user: str = SUPPLIER) -> tuple[nondevice.NonDeviceAnswer, str]:
    """Run the SRV's handler as the gateway does; the answer, and the signed-to-be Response, schema-validated."""
    sr = srv if srv.count(".") == 1 else srv.rsplit(".", 1)[0]
    data = request_xml(request_id=f"{user}:{DCC}:{next(_counter)}", cv="8", sr=sr, srv=srv, body=body)
    request = DuisCodec(duis_schema()).parse(data)
    handler = nondevice.handler_for(srv)
    assert handler is not None
    dcc_user = ctx.session.scalar(select(DccUser).where(DccUser.eui64 == user))
    caller = nondevice.Caller(user, dcc_user.organisation_id, frozenset(r.role for r in dcc_user.role_rows))
    answer = nondevice.answer(handler, ctx.session, request, caller, ctx.clock, ctx.settings)
    root = response(request, answer.code, AT)
    if answer.payload is not None:
        root.find(f"{{{SUG_NS}}}Body/{{{SUG_NS}}}ResponseMessage").append(answer.payload)
    duis_schema().validate(root)  # raises SchemaInvalid: every answer is valid DUIS
    return answer, answer.explanation


def _status(ctx: Ctx, device_id: str) -> SmiStatus:
    ctx.session.expire_all()
    return STATUS_OF[smi_service.get_device(ctx.session, device_id).smi_status]


def _prenotify(device_id: str, device_type: str = "CHF", model: str = "BOXED-CH", firmware: str = "00000001") -> str:
    return (f"<sr:DevicePrenotification><sr:DeviceID>{device_id}</sr:DeviceID><sr:DeviceManufacturer>DCCB"
            f"</sr:DeviceManufacturer><sr:DeviceModel>{model}</sr:DeviceModel><sr:DeviceType>{device_type}"
            f"</sr:DeviceType><sr:FirmwareVersion>{firmware}</sr:FirmwareVersion></sr:DevicePrenotification>")


def _install(device_id: str, mpxn: int, *, sm_wan: bool = True) -> str:
    if sm_wan:
        return (f"<sr:CHFInstallSuccessSMWAN><sr:DeviceID>{device_id}</sr:DeviceID><sr:CHFInstallType>New CHF Install"
                f"</sr:CHFInstallType><sr:MPxN>{mpxn}</sr:MPxN><sr:AerialInstall>false</sr:AerialInstall>"
                "<sr:CHFLocation>Deep indoors</sr:CHFLocation></sr:CHFInstallSuccessSMWAN>")
    return (f"<sr:CHFInstallSuccessNoSMWAN><sr:DeviceID>{device_id}</sr:DeviceID><sr:CHFInstallType>CHF Install - no "
            f"SM WAN</sr:CHFInstallType><sr:MPxN>{mpxn}</sr:MPxN><sr:AerialInstall>false</sr:AerialInstall>"
            "<sr:CHFLocation>Deep indoors</sr:CHFLocation><sr:PremiseType>Terraced</sr:PremiseType>"
            "<sr:MetalObstructionCheck>false</sr:MetalObstructionCheck><sr:ConnectivityObstructionCheck>true"
            "</sr:ConnectivityObstructionCheck><sr:SharedObstructionCheck>false</sr:SharedObstructionCheck>"
            "</sr:CHFInstallSuccessNoSMWAN>")


def _update(device_id: str, change: str) -> str:
    return f"<sr:UpdateInventory><sr:DeviceID>{device_id}</sr:DeviceID>{change}</sr:UpdateInventory>"


def test_every_non_device_srv_either_has_a_handler_or_keeps_the_acknowledgement():
    non_device = {v.srv for v in request_matrix().values() if v.non_device}
    handled = set(nondevice.HANDLERS)
    assert handled <= non_device
    assert {"8.2", "8.4", "8.14.1", "8.14.2", "8.14.3", "8.14.4", "12.1", "12.2"} == handled
    assert nondevice.handler_for("8.3") is None  # answered with I99 as before


def test_pre_notification_adds_the_device_whitelisted_and_the_index_sees_it(demo):
    index = StatusIndex.load(demo.session)
    assert index.status(eui64_to_int(NEW_CHF)) is None
    answer, why = _send(demo, "12.2", _prenotify(NEW_CHF))
    assert answer.code == "I0" and "Whitelisted" in why and answer.changed == [eui64_to_int(NEW_CHF)]
    assert _status(demo, NEW_CHF) is SmiStatus.WHITELISTED
    history = [STATUS_OF[h.to_status] for h in smi_service.history(demo.session, eui64_to_int(NEW_CHF))]
    assert history == [SmiStatus.PENDING, SmiStatus.WHITELISTED]  # the lifecycle's own steps
    index.apply(StatusIndex.read_devices(demo.session, answer.changed))  # what the server does after the commit
    assert index.status(eui64_to_int(NEW_CHF))[0] is SmiStatus.WHITELISTED

    again, why = _send(demo, "12.2", _prenotify(NEW_CHF))
    assert again.code == "E5" and "already in the Smart Metering Inventory" in why


def test_a_pre_notified_ihd_needs_no_cpl_entry_to_be_whitelisted(demo):
    answer, why = _send(demo, "12.2", _prenotify("00-DB-12-34-56-78-90-B5", "IHD", model="ANY-IHD"))
    assert answer.code == "I0" and _status(demo, "00-DB-12-34-56-78-90-B5") is SmiStatus.WHITELISTED


def test_pre_notification_of_a_model_not_on_the_cpl_is_refused_and_adds_nothing(demo):
    answer, why = _send(demo, "12.2", _prenotify("00-DB-12-34-56-78-90-B3", "ESME", model="NOT-ON-CPL"))
    assert answer.code == "E5" and "CPL" in why and not answer.changed
    with pytest.raises(DeviceNotFound):
        smi_service.get_device(demo.session, "00-DB-12-34-56-78-90-B3")


def test_communications_hub_install_return_and_update_follow_the_smi_lifecycle(demo):
    assert _send(demo, "12.2", _prenotify(NEW_CHF))[0].code == "I0"
    # the Network Operator is not the MPAN's Supplier: E4, nothing changes
    refused, why = _send(demo, "8.14.1", _install(NEW_CHF, BOXED_MPAN), user=NETWORK)
    assert refused.code == "E4" and "registered Supplier" in why
    assert _status(demo, NEW_CHF) is SmiStatus.WHITELISTED
    # installed without SM WAN by the Supplier: Installed, not commissioned, at the MPAN
    answer, why = _send(demo, "8.14.2", _install(NEW_CHF, BOXED_MPAN, sm_wan=False))
    assert answer.code == "I0" and "InstalledNotCommissioned" in why
    device = smi_service.get_device(demo.session, NEW_CHF)
    assert (STATUS_OF[device.smi_status], device.mpxn) == (SmiStatus.INSTALLED_NOT_COMMISSIONED, BOXED_MPAN)
    # 8.4: a CH's status is set with UpdateDeviceStatusCH, not the ExceptCH element
    wrong, why = _send(demo, "8.4", _update(NEW_CHF, "<sr:UpdateDeviceStatusExceptCH>Pending"
                                                     "</sr:UpdateDeviceStatusExceptCH>"))
    assert wrong.code == "E5" and "UpdateDeviceStatusCH" in why
    done, _ = _send(demo, "8.4", _update(NEW_CHF, "<sr:UpdateDeviceStatusCH>Commissioned</sr:UpdateDeviceStatusCH>"))
    assert done.code == "I0" and _status(demo, NEW_CHF) is SmiStatus.COMMISSIONED
    # installed again on an already Commissioned hub: the lifecycle refuses it (E5)
    twice, why = _send(demo, "8.14.1", _install(NEW_CHF, BOXED_MPAN))
    assert twice.code == "E5" and "Commissioned" in why
    # returned after installation: Decommissioned
    fault = (f"<sr:CHFFaultReturn><sr:DeviceID>{NEW_CHF}</sr:DeviceID><sr:CHFFaultReturnType>Fault identified post "
             "installation</sr:CHFFaultReturnType><sr:OtherDeviceID>00-DB-12-34-56-78-90-A0</sr:OtherDeviceID>"
             "<sr:CHFConnectionMethod>Cradle</sr:CHFConnectionMethod><sr:CHFFaultReason>LED Fault</sr:CHFFaultReason>"
             "</sr:CHFFaultReturn>")
    returned, why = _send(demo, "8.14.3", fault)
    assert returned.code == "I0" and _status(demo, NEW_CHF) is SmiStatus.DECOMMISSIONED


def test_a_hub_returned_before_installation_is_withdrawn_and_install_with_sm_wan_commissions(demo):
    second = "00-DB-12-34-56-78-90-B4"
    for device_id in (NEW_CHF, second):
        assert _send(demo, "12.2", _prenotify(device_id))[0].code == "I0"
    # only the DCC may change a hub with no MPxN yet: the Supplier's return of an uninstalled hub is E4 ...
    no_fault = (f"<sr:CHFNoFaultReturn><sr:DeviceID>{second}</sr:DeviceID><sr:CHFNoFaultReturnType>No Fault Return "
                "(general)</sr:CHFNoFaultReturnType></sr:CHFNoFaultReturn>")
    assert _send(demo, "8.14.4", no_fault)[0].code == "E4"
    # ... so the DCC's own return path is the portal; here the hub installed with SM WAN is Commissioned at once
    answer, why = _send(demo, "8.14.1", _install(NEW_CHF, BOXED_MPRN))
    assert answer.code == "I0" and "Commissioned" in why
    history = [STATUS_OF[h.to_status] for h in smi_service.history(demo.session, eui64_to_int(NEW_CHF))]
    assert history[-2:] == [SmiStatus.INSTALLED_NOT_COMMISSIONED, SmiStatus.COMMISSIONED]
    returned, _ = _send(demo, "8.14.4", no_fault.replace(second, NEW_CHF))
    assert returned.code == "I0" and _status(demo, NEW_CHF) is SmiStatus.DECOMMISSIONED
    smi_service.install_communications_hub(demo, second, BOXED_MPAN, sm_wan=False)  # the DCC (system actor) may
    demo.session.commit()
    assert _status(demo, second) is SmiStatus.INSTALLED_NOT_COMMISSIONED


def test_update_inventory_refusals_name_what_is_wrong_and_change_nothing(demo):
    unknown, why = _send(demo, "8.4", _update("00-DB-12-34-56-78-90-FF", "<sr:DeleteDevice/>"))
    assert unknown.code == "E19" and "00-DB-12-34-56-78-90-FF" in why
    other, why = _send(demo, "8.4", _update("00-DB-12-34-56-78-90-A0", "<sr:DeleteDevice/>"), user=NETWORK)
    assert other.code == "E4" and "registered Supplier" in why
    # the RTDS 8.4 template deletes A0, which is Commissioned: the lifecycle allows Withdrawn only before use
    delete, why = _send(demo, "8.4", _update("00-DB-12-34-56-78-90-A0", "<!-- a comment --><sr:DeleteDevice/>"))
    assert delete.code == "E5" and "Commissioned to Withdrawn" in why
    assert _status(demo, "00-DB-12-34-56-78-90-A0") is SmiStatus.COMMISSIONED
    mpxn, why = _send(demo, "8.4", _update("00-DB-12-34-56-78-90-A0", "<sr:UpdateMPxN><sr:ImportMPxN>1100000000002"
                                                                     "</sr:ImportMPxN></sr:UpdateMPxN>"))
    assert mpxn.code == "E5" and "not supported" in why


def test_update_inventory_records_new_firmware_through_the_smi_service(demo):
    model = demo.session.scalar(select(SmiDeviceModel).where(SmiDeviceModel.model == "BOXED-ESME"))
    demo.session.add(SmiDeviceModel(manufacturer=model.manufacturer, model=model.model,
                                    hardware_version=model.hardware_version, firmware_version="00000002",
                                    physical_device_type="ESME", status="Active", updated_at=demo.clock.now()))
    demo.session.commit()
    answer, why = _send(demo, "8.4", _update("00-DB-12-34-56-78-90-A4", "<sr:UpdateDeviceDetails><sr:FirmwareVersion>"
                                                                        "00000002</sr:FirmwareVersion>"
                                                                        "</sr:UpdateDeviceDetails>"))
    assert answer.code == "I0" and "00000002" in why
    demo.session.expire_all()
    assert smi_service.model_of(demo.session, smi_service.get_device(demo.session, "00-DB-12-34-56-78-90-A4")
                                ).firmware_version == "00000002"
    unlisted, why = _send(demo, "8.4", _update("00-DB-12-34-56-78-90-A4", "<sr:UpdateDeviceDetails><sr:FirmwareVersion>"
                                                                          "0000000F</sr:FirmwareVersion>"
                                                                          "</sr:UpdateDeviceDetails>"))
    assert unlisted.code == "E5" and "not on the SMI's copy of the CPL" in why


def _wan(postcode: str) -> str:
    return (f"<sr:RequestWANMatrix><sr:PartialAddress><sr:PostCode>{postcode}</sr:PostCode><sr:AddressIdentifier>"
            "Threapwood Road</sr:AddressIdentifier></sr:PartialAddress></sr:RequestWANMatrix>")


def test_wan_matrix_answers_the_coverage_of_the_postcode_area(demo, tmp_path):
    answer, _ = _send(demo, "12.1", _wan("M22 0RR"))  # the RTDS template's postcode
    assert answer.code == "I0" and answer.payload is not None
    found = answer.payload.find(f"{{{SUG_NS}}}DSPWANMatrixResponse")
    assert found.findtext(f"{{{SUG_NS}}}CSPRegion") == "North"
    assert found.findtext(f"{{{SUG_NS}}}CoverageAvailability") == "true"
    assert answer.payload.findtext(f"{{{SUG_NS}}}Request/{{{SUG_NS}}}PartialAddress/{{{SUG_NS}}}PostCode") == "M22 0RR"
    south, _ = _send(demo, "12.1", _wan("EC1A 1BB"))
    assert south.payload.findtext(f".//{{{SUG_NS}}}CSPRegion") == "South"
    unknown, why = _send(demo, "12.1", _wan("QQ1 1AA"))
    assert unknown.code == "E19" and "QQ" in why
    uprn, why = _send(demo, "12.1", "<sr:RequestWANMatrix><sr:UPRN>123456789</sr:UPRN></sr:RequestWANMatrix>")
    assert uprn.code == "E19" and "UPRN" in why

    table = tmp_path / "coverage.json"
    table.write_text(json.dumps({"M": {"region": "4G North", "technology": "4G", "likelihood": "Low",
                                       "coverage": False, "anticipated": "2027-06-01"}}))
    demo.settings = demo.settings.model_copy(update={"gateway_wan_coverage_file": table})
    configured, _ = _send(demo, "12.1", _wan("M22 0RR"))
    found = configured.payload.find(f"{{{SUG_NS}}}DSPWANMatrixResponse")
    assert [found.findtext(f"{{{SUG_NS}}}{n}") for n in ("CSPRegion", "CoverageAvailability",
                                                         "AnticipatedCoverageDate", "ConnectivityLikelihood")] == [
        "4G North", "false", "2027-06-01", "Low"]
    assert _send(demo, "12.1", _wan("EC1A 1BB"))[0].code == "E19"  # the file replaces the built-in table


def test_the_gateway_puts_the_changed_devices_into_its_index_at_once(demo, engine):
    """``Gateway._non_device`` (the server's path): the handler in a worker thread, then the index updated, with no
    refresh: the next request's authorisation sees the pre-notified device."""
    gateway = Gateway(demo.settings, clock=demo.clock)
    gateway._sessions = make_sessionmaker(engine)
    with gateway._sessions() as session:
        gateway.index = AuthorisationIndex.load(session)
    mark = gateway.index.devices.history_mark
    data = request_xml(request_id=f"{SUPPLIER}:{DCC}:{next(_counter)}", cv="8", sr="12.2", srv="12.2",
                       body=_prenotify(NEW_CHF))
    request = DuisCodec(duis_schema()).parse(data)
    answer = run_async(gateway._non_device(nondevice.HANDLERS["12.2"], request, AT))
    assert answer.code == "I0"
    assert gateway.index.devices.status(eui64_to_int(NEW_CHF))[0] is SmiStatus.WHITELISTED
    assert gateway.index.devices.history_mark == mark  # not a refresh: only the changed device was read
    assert gateway.index.devices.status(eui64_to_int("00-DB-12-34-56-78-90-A0"))[0] is SmiStatus.COMMISSIONED


def test_a_malformed_coverage_file_is_answered_with_what_is_wrong_in_it(demo, tmp_path):
    table = tmp_path / "coverage.json"
    table.write_text(json.dumps({"M": {"region": "Middle", "technology": "Cellular"}}))
    demo.settings = demo.settings.model_copy(update={"gateway_wan_coverage_file": table})
    answer, why = _send(demo, "12.1", _wan("M22 0RR"))
    assert answer.code == "E5" and "'M'" in why and "region must be one of" in why
    table.write_text("{not json")
    answer, why = _send(demo, "12.1", _wan("M22 0RR"))
    assert answer.code == "E5" and "cannot be read as JSON" in why
