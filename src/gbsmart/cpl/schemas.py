"""API shapes for the Central Products List."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from gbsmart.core.types import Line, Text
from gbsmart.cpl.enums import CertificateKind, EntryStatus, SubmissionKind

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CertificateIn(BaseModel):
    """An Assurance Certificate named by a submission; a known (kind, number) keeps the details SECAS holds."""

    model_config = _STRICT

    kind: CertificateKind
    number: Line = Field(max_length=80)
    issued_on: date | None = None
    firmware_version: Line | None = Field(default=None, max_length=50,
                                         description="The firmware version the certificate was issued for.")
    expiry_date: date | None = Field(default=None, description="CPA only: the expiry (from 2022, renewal) date.")
    conditional: bool = False
    conditional_date: date | None = Field(default=None, description="CPA only: revoked after this date unless "
                                                                    "the conditions are met.")


class SupplierConfirmation(BaseModel):
    model_config = _STRICT

    supplier: Line = Field(max_length=200, description="The Supplier confirming the firmware update.")
    confirmed_by: Line = Field(default="", max_length=200)
    reference: Line = Field(default="", max_length=300, description="e.g. the confirming email or letter.")


class SubmissionCreate(BaseModel):
    """A CPL submission, as the 'New Entry' tab of the SEC's workbook carries it (fields (a)-(h))."""

    model_config = _STRICT

    kind: SubmissionKind = SubmissionKind.NEW_ENTRY
    manufacturer: Line = Field(default="", max_length=100, description="(a)")
    model: Line = Field(default="", max_length=100, description="(a)")
    hardware_version: Line = Field(default="", max_length=50, description="(b)")
    firmware_version: Line = Field(default="", max_length=50, description="(c)")
    physical_device_type: Line = Field(default="", max_length=20, examples=["ESME_SINGLE"])
    release_notes: Text = Field(default="", max_length=20000, description="(d) Manufacturer Release Notes")
    technical_specification: Line = Field(default="", max_length=40, examples=["SMETS2 v4.1"], description="(e)")
    gbcs_version: Line | None = Field(default=None, max_length=20, examples=["2.0"], description="(e)")
    smets1: bool = False
    certificates: list[CertificateIn] = Field(default_factory=list, max_length=10, description="(f)")
    cpa_expiry: date | None = Field(default=None, description="(g); default the CPA certificate's date")
    image_creator: Line | None = Field(default=None, max_length=200, description="(h)(i)")
    image_hash: Line | None = Field(default=None, max_length=128, description="(h)(ii) SHA-256, hex")
    signature: Text | None = Field(default=None, max_length=100000,
                                  description="Base64 DER ECDSA P-256/SHA-256 signature over the submission's "
                                              "canonical content (docs/cpl-extracts.md, 'Signed submissions'); "
                                              "required with a Manufacturer Image.")
    signer_certificates: Text | None = Field(default=None, max_length=50000,
                                            description="PEM: the signing organisation's certificate, then any "
                                                        "intermediate CA certificates; required with a signature.")
    mapping_evidence: Text | None = Field(default=None, max_length=20000)
    supplier_confirmation: SupplierConfirmation | None = None
    submitter_organisation: Line | None = Field(default=None, description="Code Administrator only: submit on "
                                                                          "behalf of this organisation.")


class FailureRead(BaseModel):
    field: str
    rule: str
    message: str


class SubmissionRead(BaseModel):
    id: int
    kind: str
    status: str
    status_label: str
    device_model: str
    physical_device_type: str
    submitter: str
    submitted_at: datetime
    validated_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    entry_id: int | None
    signed: bool
    signer: str | None = Field(description="The signer's certificate (common name and organisation), if signed.")
    failures: list[FailureRead]


class CertificateRead(BaseModel):
    kind: str
    number: str
    issued_on: date | None
    firmware_version: str | None
    expiry_date: date | None
    expiry_label: str
    conditional: bool
    conditional_date: date | None
    revoked_at: datetime | None
    revocation_reason: str | None
    valid_today: bool
    problem: str | None


class EntrySummary(BaseModel):
    id: int
    manufacturer: str
    model: str
    hardware_version: str
    firmware_version: str
    physical_device_type: str
    physical_device_type_label: str
    status: str
    status_since: date
    technical_specification: str
    gbcs_version: str | None
    cpa_expiry: date | None
    smets1: bool
    submitter: str


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    happened_on: date
    action: str
    from_status: str | None
    to_status: str | None
    actor_name: str
    text: str
    reference: str | None


class NoticeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    cpa_expiry: date
    due_on: date
    sent_on: date
    recipient: str


class RemovalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    minute_reference: str
    reason: str
    to_status: str
    effective_on: date
    grace_until: date | None
    takes_effect_on: date
    decided_by: str
    applied_at: datetime | None


class EntryRead(EntrySummary):
    release_notes: str
    image_creator: str | None
    image_hash: str | None
    signed: bool
    signer: str | None = Field(description="The signer's certificate; none for an entry recorded as signed before "
                                           "gbsmart checked signatures.")
    mapping_evidence: str | None
    certificates: list[CertificateRead]
    notices: list[NoticeRead]
    removals: list[RemovalRead]
    flags: list[str]
    timeline: list[EventRead]


class EntryPage(BaseModel):
    items: list[EntrySummary]
    next_cursor: str | None


class RemovalCreate(BaseModel):
    model_config = _STRICT

    minute_reference: Line = Field(default="", max_length=300, examples=["SSC_77_1402 item 3.5"])
    reason: Text = Field(default="", max_length=10000)
    effective_on: date | None = Field(default=None, description="Default today.")
    grace_until: date | None = Field(default=None, description="The entry stays Active until this date passes.")
    status: EntryStatus = Field(default=EntryStatus.WITHDRAWN, description="Withdrawn, Expired or Cancelled.")


class RevocationCreate(BaseModel):
    model_config = _STRICT

    reason: Text = Field(min_length=3, max_length=10000)
    revoked_on: date | None = None


class LifecycleRead(BaseModel):
    ran_on: date
    notices: list[str]
    expired: list[str]
    removed: list[str]
    awaiting_removal: list[str]
    end_dated: list[str]


class ImportRead(BaseModel):
    entries: int
    submissions: int
    versions: int
    submission_ids: list[int]


class VersionSet(BaseModel):
    model_config = _STRICT

    version: Line = Field(max_length=40, examples=["GBCS v1.1", "SMETS2 v4.2", "CHTS v1.2"])
    end_date: date | None = Field(default=None, description="Entries on an end-dated version need action.")


class VersionRead(BaseModel):
    version: str
    end_date: date | None
