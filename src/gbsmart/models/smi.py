"""Smart Metering Inventory tables, built for ~54 million devices (DOMAIN.md section 5).

Compact rows with integer keys: Device IDs (EUI-64) are stored as signed 64-bit integers with the
order-preserving offset of ``gbsmart.smi.rules.eui64_to_int``; Device Type, SMI Status, CSP Region
and device event are small integer codes (``gbsmart.smi.enums.codes``: ``rules.DEVICE_TYPE_CODE``, ``STATUS_CODE``,
``REGION_CODE``, ``EVENT_CODE``), each column CHECKed to its enumeration's codes (decision 0018);
MPANs and MPRNs are integers. The hot tables (devices, history, registrations, events) carry no
ForeignKeys: docs/decisions/0005-smi-storage.md says why and which indexes exist, and which of them
a bulk load drops and creates again afterwards (``BULK_INDEXES``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Exists,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    case,
    exists,
    select,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from gbsmart.core.db import Base, UTCDateTime, code_check, enum_check
from gbsmart.cpl.enums import EntryStatus
from gbsmart.smi.enums import CspRegion, DeviceEvent, DeviceType, Fuel, SmiStatus, codes

DEVICE_TYPES = codes(DeviceType).values()
STATUSES = codes(SmiStatus).values()

#: BIGINT everywhere, but exactly "INTEGER" on SQLite so that the primary key is the rowid itself
#: (no second B-tree for 54 million keys).
RowId = BigInteger().with_variant(Integer(), "sqlite")

#: smi_status code of Suspended (see gbsmart.smi.rules.STATUS_CODE).
SUSPENDED_CODE = 7


class SmiSuspension(Base):
    """A device suspended by the CPL rule: its Device Model is not Active on the CPL (DOMAIN.md section 5).

    Kept beside ``smi_devices`` rather than in it, so that suspending millions of devices writes a narrow
    row per device (about 20 bytes) instead of rewriting nearly every page of the 54-million-row table
    (docs/decisions/0009-suspension-side-table.md). ``until`` is set when the device is restored; a row
    with ``until IS NULL`` means Suspended now. While suspended, the device's ``lifecycle_status`` is the
    status it had before suspension, and it returns to it when restored.
    """

    __tablename__ = "smi_suspensions"

    device_id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False)
    since: Mapped[date] = mapped_column(Date, nullable=False)
    until: Mapped[date | None] = mapped_column(Date, nullable=True)  # NULL: suspended now
    extract_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)  # NULL: a single device's change


class SmiDeviceModel(Base):
    """The DCC's view of one Device Model on the CPL, as last received in a signed extract."""

    __tablename__ = "smi_device_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manufacturer: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    hardware_version: Mapped[str] = mapped_column(String(50), nullable=False)
    firmware_version: Mapped[str] = mapped_column(String(50), nullable=False)
    physical_device_type: Mapped[str] = mapped_column(String(20), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)  # Active|Cancelled|Expired|Withdrawn
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint("manufacturer", "model", "hardware_version", "firmware_version"),
        Index("ix_smi_device_models_status", "status"),
        enum_check("status", EntryStatus),
    )


class SmiDevice(Base):
    """One Device in the inventory: 54 million of these, so every column is a small integer or a date.

    ``lifecycle_status`` / ``lifecycle_date`` are the SMI Status set by the device's own lifecycle; the CPL
    rule's suspension lives in ``smi_suspensions``. ``smi_status``, ``status_date`` and
    ``status_before_suspension`` combine the two (in Python and in SQL), and are what everyone reads.
    """

    __tablename__ = "smi_devices"

    device_id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False)
    device_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    device_model_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lifecycle_status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    lifecycle_date: Mapped[date] = mapped_column(Date, nullable=False)
    mpxn: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    chf_device_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    associated_meter_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    csp_region: Mapped[int] = mapped_column(SmallInteger, nullable=False)

    suspension: Mapped[SmiSuspension | None] = relationship(
        primaryjoin=lambda: SmiDevice.device_id == foreign(SmiSuspension.device_id), uselist=False, lazy="joined",
        viewonly=True)

    __table_args__ = (
        # the CPL rule: every device of a model
        Index("ix_smi_devices_model", "device_model_id"),
        Index("ix_smi_devices_mpxn", "mpxn"),
        code_check("device_type", DEVICE_TYPES),
        code_check("lifecycle_status", STATUSES),
        code_check("csp_region", codes(CspRegion).values()),
    )

    @property
    def suspended(self) -> bool:
        return self.suspension is not None and self.suspension.until is None

    @hybrid_property
    def smi_status(self) -> int:
        """The SMI Status code: Suspended while a suspension is open, else the lifecycle status."""
        return SUSPENDED_CODE if self.suspended else self.lifecycle_status

    @smi_status.inplace.expression
    @classmethod
    def _smi_status_expression(cls) -> ColumnElement[int]:
        return case((suspended_now(cls), SUSPENDED_CODE), else_=cls.lifecycle_status)

    @hybrid_property
    def status_before_suspension(self) -> int | None:
        return self.lifecycle_status if self.suspended else None

    @status_before_suspension.inplace.expression
    @classmethod
    def _status_before_suspension_expression(cls) -> ColumnElement[int | None]:
        return case((suspended_now(cls), cls.lifecycle_status), else_=None)

    @property
    def status_date(self) -> date:
        """When the current SMI Status applied: the suspension's start, its end if later, else the lifecycle's."""
        sus = self.suspension
        if sus is None:
            return self.lifecycle_date
        if sus.until is None:
            return sus.since
        return max(sus.until, self.lifecycle_date)


def suspended_now(device: type[SmiDevice]) -> Exists:
    return exists(select(SmiSuspension.device_id).where(SmiSuspension.device_id == device.device_id,
                                                        SmiSuspension.until.is_(None)))


class SmiStatusHistory(Base):
    """Append-only log of a device's SMI Status changes (also read by the look-up index to refresh itself)."""

    __tablename__ = "smi_status_history"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    device_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    from_status: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    to_status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")

    __table_args__ = (
        Index("ix_smi_status_history_device", "device_id", "id"),
        code_check("from_status", STATUSES),
        code_check("to_status", STATUSES),
    )


class SmiRegistration(Base):
    """Who serves an MPAN/MPRN over time: the Supplier of its fuel and its Network Operator."""

    __tablename__ = "smi_registrations"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    mpxn: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fuel: Mapped[str] = mapped_column(String(1), nullable=False)  # E (MPAN) or G (MPRN)
    supplier_org_id: Mapped[int] = mapped_column(Integer, nullable=False)
    supplier_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # dcc_users.id
    network_operator_org_id: Mapped[int] = mapped_column(Integer, nullable=False)
    network_operator_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)  # NULL: current

    __table_args__ = (
        Index("ix_smi_registrations_mpxn", "mpxn", "valid_from"),
        Index(
            "ix_smi_registrations_current",
            "mpxn",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
        enum_check("fuel", Fuel),
    )


class SmiDeviceEvent(Base):
    """A DeviceSuspended / DeviceRestored alert for one User (organisation) concerned by one device."""

    __tablename__ = "smi_device_events"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    event: Mapped[int] = mapped_column(SmallInteger, nullable=False)  # rules.EVENT_CODE
    device_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    user_org_id: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    extract_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("ix_smi_device_events_device", "device_id"),
        code_check("event", codes(DeviceEvent).values()),
    )


class SmiExtractApplication(Base):
    """A signed CPL extract applied to the SMI: its sequence, digest and what it changed."""

    __tablename__ = "smi_extract_applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True, nullable=False)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    suspended: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    restored: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    events: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    seconds: Mapped[float | None] = mapped_column(nullable=True)


#: Secondary indexes a bulk load drops first and creates again afterwards (table -> index names).
BULK_INDEXES: dict[str, tuple[str, ...]] = {
    "smi_devices": ("ix_smi_devices_model", "ix_smi_devices_mpxn"),
    "smi_registrations": ("ix_smi_registrations_mpxn", "ix_smi_registrations_current"),
}
