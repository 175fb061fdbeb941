"""What the SMI's doors (API, pages, CLI) show, read one way for all of them: a device in its API shapes, the
events of a device with the organisations they went to, the Device Models a device may be added with. Reads only."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.core.pagination import Page
from gbsmart.core.types import as_db_id
from gbsmart.cpl.enums import EntryStatus
from gbsmart.models.smi import SmiDevice, SmiDeviceEvent, SmiDeviceModel
from gbsmart.smi import service
from gbsmart.smi.registration import organisation_names
from gbsmart.smi.rules import DEVICE_TYPE_OF, REGION_OF, STATUS_OF, int_to_eui64
from gbsmart.smi.schemas import DeviceRead, DeviceSummary, HistoryRead, ModelRead


def device_summary(session: Session, d: SmiDevice) -> DeviceSummary:
    """A device as a row of a list."""
    m = service.model_of(session, d)
    return DeviceSummary(device_id=int_to_eui64(d.device_id), device_type=DEVICE_TYPE_OF[d.device_type],
                         smi_status=STATUS_OF[d.smi_status], status_date=d.status_date,
                         mpxn=str(d.mpxn) if d.mpxn is not None else None, csp_region=REGION_OF[d.csp_region],
                         model_status=m.status if m else None)


def device_read(session: Session, d: SmiDevice) -> DeviceRead:
    """A device with its Device Model and status history."""
    m = service.model_of(session, d)
    return DeviceRead(
        **device_summary(session, d).model_dump(),
        status_before_suspension=STATUS_OF[d.status_before_suspension] if d.status_before_suspension else None,
        device_model=ModelRead.model_validate(m, from_attributes=True) if m else None,
        chf_device_id=int_to_eui64(d.chf_device_id) if d.chf_device_id is not None else None,
        associated_meter_id=int_to_eui64(d.associated_meter_id) if d.associated_meter_id is not None else None,
        history=[HistoryRead(at=h.at, from_status=STATUS_OF[h.from_status] if h.from_status else None,
                             to_status=STATUS_OF[h.to_status], reason=h.reason)
                 for h in service.history(session, d.device_id)],
    )


def events_with_organisations(session: Session, device_id: str | None, cursor: str | None,
                              limit: int) -> tuple[Page[SmiDeviceEvent], dict[int, str]]:
    """A page of DeviceSuspended / DeviceRestored events and the names of the organisations they went to."""
    page = service.events(session, device_id, cursor, limit)
    return page, organisation_names(session, {e.user_org_id for e in page.items})


def active_models(session: Session) -> list[SmiDeviceModel]:
    """The Device Models a device may be added with: Active on the SMI's copy of the CPL, in model order."""
    return list(session.scalars(
        select(SmiDeviceModel).where(SmiDeviceModel.status == EntryStatus.ACTIVE.value)
        .order_by(SmiDeviceModel.manufacturer, SmiDeviceModel.model, SmiDeviceModel.hardware_version,
                  SmiDeviceModel.firmware_version)))


def model_by_id(session: Session, model_id: str | int) -> SmiDeviceModel | None:
    """A Device Model of the SMI's copy of the CPL by its id (as a form sends it), or None."""
    key = as_db_id(str(model_id).strip())
    return session.get(SmiDeviceModel, key) if key is not None else None
