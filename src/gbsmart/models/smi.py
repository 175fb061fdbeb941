"""Smart Metering Inventory tables, built for ~54 million devices (DOMAIN.md section 5).

Compact rows with integer keys: Device IDs (EUI-64) are stored as signed 64-bit integers with the
order-preserving offset of ``gbsmart.smi.rules.eui64_to_int``; Device Type, SMI Status and CSP Region
are small integer codes (``gbsmart.smi.rules.DEVICE_TYPE_CODE``, ``STATUS_CODE``, ``REGION_CODE``);
MPANs and MPRNs are integers. The hot tables (devices, history, registrations, events) carry no
ForeignKeys: docs/decisions/0005-smi-storage.md says why and which indexes exist, and which of them
a bulk load drops and creates again afterwards (``BULK_INDEXES``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, SmallInteger, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from gbsmart.core.db import Base, UTCDateTime

#: BIGINT everywhere, but exactly "INTEGER" on SQLite so that the primary key is the rowid itself
#: (no second B-tree for 54 million keys).
RowId = BigInteger().with_variant(Integer(), "sqlite")

#: smi_status code of Suspended (see gbsmart.smi.rules.STATUS_CODE); used in the partial index below.
SUSPENDED_CODE = 7


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
    )


class SmiDevice(Base):
    """One Device in the inventory: 54 million of these, so every column is a small integer or a date."""

    __tablename__ = "smi_devices"

    device_id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=False)
    device_type: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    device_model_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    smi_status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    status_date: Mapped[date] = mapped_column(Date, nullable=False)
    status_before_suspension: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    mpxn: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    chf_device_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    associated_meter_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    csp_region: Mapped[int] = mapped_column(SmallInteger, nullable=False)

    __table_args__ = (
        # the CPL rule: every device of a model (suspend) ...
        Index("ix_smi_devices_model", "device_model_id"),
        # ... and the Suspended devices of a model (restore); small except just after a removal
        Index(
            "ix_smi_devices_suspended_model",
            "device_model_id",
            sqlite_where=text(f"smi_status = {SUSPENDED_CODE}"),
            postgresql_where=text(f"smi_status = {SUSPENDED_CODE}"),
        ),
        Index("ix_smi_devices_mpxn", "mpxn"),
    )


class SmiStatusHistory(Base):
    """Append-only log of a device's SMI Status changes (also read by the look-up index to refresh itself)."""

    __tablename__ = "smi_status_history"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    device_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    from_status: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    to_status: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(String(300), nullable=False, default="")

    __table_args__ = (Index("ix_smi_status_history_device", "device_id", "id"),)


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

    __table_args__ = (Index("ix_smi_device_events_device", "device_id"),)


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
    "smi_devices": ("ix_smi_devices_model", "ix_smi_devices_suspended_model", "ix_smi_devices_mpxn"),
    "smi_registrations": ("ix_smi_registrations_mpxn", "ix_smi_registrations_current"),
}
