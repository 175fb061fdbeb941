"""Use cases of the Central Products List: submit, validate, approve, remove, revoke, run the lifecycle, list and
extract. Takes a Ctx; never commits. Every change is audited and written to the entry's timeline.

Sources: SEC F2 and the CPL Requirements as summarised in seed 004; seed 000 section 3.5; DOMAIN.md section 4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session, contains_eager

from gbsmart.core.audit import record_change, snapshot
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.core.pagination import Page, decode_cursor, encode_cursor
from gbsmart.cpl import rules, signatures
from gbsmart.cpl.enums import CertificateKind, EntryStatus, NoticeKind, SubmissionKind, SubmissionStatus
from gbsmart.cpl.errors import EntryNotActive, SubmissionRefused
from gbsmart.cpl.schemas import CertificateIn, RemovalCreate, SubmissionCreate
from gbsmart.models.cpl import (
    Certificate,
    CplEntry,
    CplEntryEvent,
    DeviceModel,
    ExpiryNotice,
    GbcsVersion,
    ScheduledRemoval,
    Submission,
    TechnicalSpecification,
    ValidationFailure,
)
from gbsmart.models.parties import Organisation, Person
from gbsmart.parties.enums import OrganisationKind
from gbsmart.parties.service import find_organisation, no_such_organisation

CA = "code_administrator"
ADMIN_ROLES = (CA, "system")
SUPPLIERS = ("large_supplier", "small_supplier")
ENTRY_AUDITED = ("status", "status_since", "cpa_expiry", "release_notes", "image_creator", "image_hash", "signed",
                 "mapping_evidence", "smets1", "submitter_name")
SUBMISSION_AUDITED = ("kind", "status", "manufacturer", "model", "hardware_version", "firmware_version",
                      "physical_device_type", "submitter_name", "entry_id", "signed")
SPEC = re.compile(r"^\s*(SMETS1|SMETS2|CHTS)\s*v?\s*([0-9][\w.\-]*)\s*$", re.IGNORECASE)


def _require_admin(ctx: Ctx, what: str) -> None:
    if not ctx.actor.has_role(*ADMIN_ROLES):
        raise Forbidden(f"Only the Code Administrator (SECAS) may {what}.")


# ---------------------------------------------------------------- look-ups


def get_entry(session: Session, entry_id: int) -> CplEntry:
    entry = session.get(CplEntry, entry_id)
    if entry is None:
        raise NotFound(f"No CPL entry {entry_id}; see GET /api/v1/cpl/entries.")
    return entry


def get_submission(session: Session, submission_id: int) -> Submission:
    sub = session.get(Submission, submission_id)
    if sub is None:
        raise NotFound(f"No CPL submission {submission_id}.")
    return sub


def parse_spec(label: str | None) -> tuple[str, str] | None:
    """('SMETS2', '4.1') from 'SMETS2 v4.1' (or 'smets2 4.1'); None if it is not a SMETS or CHTS version."""
    m = SPEC.match(label or "")
    return (m.group(1).upper(), m.group(2)) if m else None


def gbcs_key(version: str | None) -> str:
    return re.sub(r"^(gbcs\s*)?v\s*", "", (version or "").strip(), flags=re.IGNORECASE)


def find_spec(session: Session, label: str | None) -> TechnicalSpecification | None:
    parsed = parse_spec(label)
    if parsed is None:
        return None
    return session.scalar(select(TechnicalSpecification).where(TechnicalSpecification.name == parsed[0],
                                                               TechnicalSpecification.version == parsed[1]))


def find_gbcs(session: Session, version: str | None) -> GbcsVersion | None:
    key = gbcs_key(version)
    return session.scalar(select(GbcsVersion).where(GbcsVersion.version == key)) if key else None


def find_certificate(session: Session, kind: str, number: str) -> Certificate | None:
    return session.scalar(select(Certificate).where(Certificate.kind == kind, Certificate.number == number.strip()))


def find_entry(session: Session, manufacturer: str, model: str, hardware: str, firmware: str) -> CplEntry | None:
    return session.scalar(select(CplEntry).join(CplEntry.device_model).where(
        DeviceModel.manufacturer == manufacturer, DeviceModel.model == model,
        DeviceModel.hardware_version == hardware, DeviceModel.firmware_version == firmware))


def certificate_facts(cert: Certificate) -> rules.CertificateFacts:
    return rules.CertificateFacts(
        kind=CertificateKind(cert.kind), number=cert.number, issued_on=cert.issued_on,
        expiry_date=cert.expiry_date, conditional=cert.conditional, conditional_date=cert.conditional_date,
        revoked_on=cert.revoked_at.date() if cert.revoked_at else None, firmware_version=cert.firmware_version)


# ---------------------------------------------------------------- the extract (cpl.extracts signs it)


def extract_entries(session: Session) -> list[dict]:
    """Every CPL entry as the extract carries it, ordered by (manufacturer, model, hardware_version, firmware_version)."""  # noqa: E501
    # each also carries "minute_reference": the Panel minute of its applied removal, or None (for the DCC's check)
    rows = session.execute(
        select(DeviceModel, CplEntry, TechnicalSpecification, GbcsVersion)
        .join(CplEntry, CplEntry.device_model_id == DeviceModel.id)
        .join(TechnicalSpecification, CplEntry.technical_specification_id == TechnicalSpecification.id)
        .outerjoin(GbcsVersion, CplEntry.gbcs_version_id == GbcsVersion.id)
        .order_by(DeviceModel.manufacturer, DeviceModel.model, DeviceModel.hardware_version,
                  DeviceModel.firmware_version)
    ).all()
    rows = sorted(rows, key=lambda r: (r[0].manufacturer, r[0].model, r[0].hardware_version, r[0].firmware_version))
    minutes = dict(session.execute(select(ScheduledRemoval.entry_id, ScheduledRemoval.minute_reference)
                                   .where(ScheduledRemoval.applied_at.is_not(None)).order_by(ScheduledRemoval.id)).all())
    return [
        {"manufacturer": dm.manufacturer, "model": dm.model, "hardware_version": dm.hardware_version,
         "firmware_version": dm.firmware_version, "physical_device_type": dm.physical_device_type,
         "status": EntryStatus(e.status).value, "technical_specification": spec.label,
         "gbcs_version": gbcs.version if gbcs else None,
         "cpa_expiry": e.cpa_expiry.isoformat() if e.cpa_expiry else None, "smets1": bool(e.smets1),
         "minute_reference": minutes.get(e.id)}
        for dm, e, spec, gbcs in rows
    ]


# ---------------------------------------------------------------- timeline and status


def add_event(ctx: Ctx, entry: CplEntry, action: str, text: str, *, to_status: str | None = None,
              from_status: str | None = None, reference: str | None = None) -> CplEntryEvent:
    event = CplEntryEvent(seq=len(entry.events) + 1, at=ctx.clock.now(), happened_on=ctx.clock.today(),
                          action=action, from_status=from_status, to_status=to_status, actor_name=ctx.actor.name,
                          text=text, reference=reference)
    entry.events.append(event)
    entry.updated_at = ctx.clock.now()
    return event


def set_status(ctx: Ctx, entry: CplEntry, status: EntryStatus, action: str, text: str,
               reference: str | None = None) -> None:
    before = snapshot(entry, *ENTRY_AUDITED)
    old = entry.status
    entry.status, entry.status_since = status.value, ctx.clock.today()
    add_event(ctx, entry, action, text, from_status=old, to_status=status.value, reference=reference)
    record_change(ctx, f"cpl.entry.{action}", "cpl_entry", entry.id, before, snapshot(entry, *ENTRY_AUDITED))


# ---------------------------------------------------------------- submissions


def _submitter_org(ctx: Ctx, data: SubmissionCreate) -> Organisation | None:
    if data.submitter_organisation:
        if not ctx.actor.has_role(*ADMIN_ROLES):
            raise Forbidden("Only the Code Administrator may submit on behalf of another organisation.")
        org = find_organisation(ctx.session, data.submitter_organisation)
        if org is None:
            raise Invalid(no_such_organisation(data.submitter_organisation),
                          detail=[{"field": "submitter_organisation", "message": "not a known organisation"}])
        return org
    return ctx.session.get(Organisation, ctx.actor.organisation_id) if ctx.actor.organisation_id else None


def submit(ctx: Ctx, data: SubmissionCreate) -> Submission:
    """Anyone signed in may submit (seed 004); the submission is validated at once: validated or refused.

    A signature and the signer's certificates are kept beside the submission's content (``data``), which is what
    they cover (``cpl/signatures.py``)."""
    org = _submitter_org(ctx, data)
    signature = signatures.decode_signature(data.signature)
    sub = Submission(
        kind=data.kind.value, status=SubmissionStatus.SUBMITTED.value, manufacturer=data.manufacturer,
        model=data.model, hardware_version=data.hardware_version, firmware_version=data.firmware_version,
        physical_device_type=data.physical_device_type.upper(), signed=signature is not None, signature=signature,
        signer_certificates=data.signer_certificates or None,
        data=data.model_dump(mode="json", exclude={"signature", "signer_certificates"}),
        submitter_org_id=org.id if org else None, submitter_name=org.name if org else ctx.actor.name,
        submitted_by_id=ctx.actor.person_id, submitted_at=ctx.clock.now())
    ctx.session.add(sub)
    ctx.session.flush()
    record_change(ctx, "cpl.submission.submit", "cpl_submission", sub.id, None, snapshot(sub, *SUBMISSION_AUDITED))
    validate(ctx, sub)
    return sub


def submission_facts(session: Session, data: SubmissionCreate, org: Organisation | None, signed: bool,
                     person_roles: frozenset[str] = frozenset(),
                     signature_check: rules.SignatureFacts | None = None) -> rules.SubmissionFacts:
    """What the rules need, with certificates SECAS already holds standing in for the submitted details."""
    spec, gbcs = find_spec(session, data.technical_specification), find_gbcs(session, data.gbcs_version)
    certs = []
    for c in data.certificates:
        known = find_certificate(session, c.kind.value, c.number) if c.number else None
        certs.append(certificate_facts(known) if known else rules.CertificateFacts(
            kind=c.kind, number=c.number, issued_on=c.issued_on, expiry_date=c.expiry_date,
            conditional=c.conditional, conditional_date=c.conditional_date, firmware_version=c.firmware_version))
    confirming = find_organisation(session, data.supplier_confirmation.supplier) if data.supplier_confirmation \
        else None
    dm = (data.manufacturer, data.model, data.hardware_version)
    base = session.scalar(select(func.count()).select_from(CplEntry).join(CplEntry.device_model).where(
        DeviceModel.manufacturer == dm[0], DeviceModel.model == dm[1], DeviceModel.hardware_version == dm[2],
        DeviceModel.firmware_version != data.firmware_version))
    return rules.SubmissionFacts(
        kind=data.kind, manufacturer=data.manufacturer, model=data.model, hardware_version=data.hardware_version,
        firmware_version=data.firmware_version, physical_device_type=data.physical_device_type.upper(),
        release_notes=data.release_notes, technical_specification=data.technical_specification or None,
        technical_specification_known=spec is not None,
        technical_specification_end_date=spec.end_date if spec else None,
        gbcs_version=gbcs_key(data.gbcs_version) or None, gbcs_known=gbcs is not None,
        gbcs_end_date=gbcs.end_date if gbcs else None, smets1=data.smets1, certificates=tuple(certs),
        cpa_expiry=data.cpa_expiry, image_creator=data.image_creator, image_hash=data.image_hash, signed=signed,
        signature_check=signature_check, mapping_evidence=data.mapping_evidence,
        submitter_is_dcc="dcc" in person_roles or bool(org and org.kind == OrganisationKind.DCC),
        submitter_is_supplier=bool(org and org.party_category in SUPPLIERS),
        supplier_confirmation=data.supplier_confirmation.supplier if data.supplier_confirmation else None,
        supplier_confirmation_is_supplier=bool(confirming and confirming.party_category in SUPPLIERS),
        already_listed=find_entry(session, *dm, data.firmware_version) is not None, base_entry_exists=bool(base))


def validate(ctx: Ctx, sub: Submission) -> list[rules.Failure]:
    """Judge ``sub`` against the CPL rules today; record the failures and set validated or refused."""
    if sub.status == SubmissionStatus.APPROVED:
        raise Conflict(f"Submission {sub.id} is already approved.")
    before = snapshot(sub, *SUBMISSION_AUDITED)
    data = SubmissionCreate.model_validate(sub.data)
    org = ctx.session.get(Organisation, sub.submitter_org_id) if sub.submitter_org_id else None
    person = ctx.session.get(Person, sub.submitted_by_id) if sub.submitted_by_id else None
    roles = frozenset(person.roles) if person else frozenset()
    # the signature is judged as of the submission's receipt, on approval too (cpl/signatures.py)
    check = signatures.check_signature(data, sub.signature, sub.signer_certificates, settings=ctx.settings,
                                       at=sub.submitted_at,
                                       submitter_names=(org.name, org.short_name or "") if org else ())
    failures = rules.validate_submission(submission_facts(ctx.session, data, org, sub.signed, roles, check),
                                         ctx.clock.today())
    sub.failures.clear()
    sub.failures.extend(ValidationFailure(field=f.field, rule=f.rule, message=str(f)) for f in failures)
    sub.status = (SubmissionStatus.REFUSED if failures else SubmissionStatus.VALIDATED).value
    sub.validated_at = ctx.clock.now()
    record_change(ctx, "cpl.submission.validate", "cpl_submission", sub.id, before,
                  {**snapshot(sub, *SUBMISSION_AUDITED), "failures": [f.as_dict() for f in failures]})
    return failures


def refusal(sub: Submission) -> SubmissionRefused:
    """The 422 for a refused submission: one detail per failure (field, rule, message)."""
    n = len(sub.failures)
    return SubmissionRefused(
        f"CPL submission {sub.id} was refused: {n} rule{'s' if n != 1 else ''} not met. The refusal is kept with its "
        "reasons; correct them and submit again.",
        detail=[{"field": f.field, "rule": f.rule, "message": f.message} for f in sub.failures],
        submission_id=sub.id)


def refusal_to_report(sub: Submission) -> SubmissionRefused | None:
    """What a door reports after ``submit`` or ``approve``: the refusal (422) if ``sub`` was refused, else None.

    A refused submission is kept, with its reasons, for the record (docs/decisions/0015-refused-cpl-submissions.md):
    ``submit`` and ``approve`` have written it, and the door reports this refusal *without raising it through its
    transaction*, so the boundary commits the refusal as it commits any other outcome. No door commits or rolls
    back by hand.
    """
    return refusal(sub) if sub.status == SubmissionStatus.REFUSED else None


def _certificate(ctx: Ctx, c: CertificateIn) -> Certificate:
    found = find_certificate(ctx.session, c.kind.value, c.number)
    if found:
        return found
    cert = Certificate(kind=c.kind.value, number=c.number.strip(), issued_on=c.issued_on,
                       firmware_version=c.firmware_version, expiry_date=c.expiry_date, conditional=c.conditional,
                       conditional_date=c.conditional_date)
    ctx.session.add(cert)
    ctx.session.flush()
    record_change(ctx, "cpl.certificate.create", "cpl_certificate", cert.id, None,
                  snapshot(cert, "kind", "number", "issued_on", "expiry_date", "conditional", "conditional_date"))
    return cert


@dataclass
class NewEntry:
    """What an entry is made of, from an approved submission or a row of the CPL sheet."""

    data: SubmissionCreate
    spec: TechnicalSpecification
    gbcs: GbcsVersion | None
    status: EntryStatus
    status_since: date
    submitter_org: Organisation | None
    submitter_name: str
    signature: bytes | None = None
    signer_certificates: str | None = None
    signed: bool = False
    certificates: list[Certificate] = field(default_factory=list)


def add_entry(ctx: Ctx, new: NewEntry, action: str, text: str) -> CplEntry:
    """Create the Device Model and its entry, link the certificates, open the timeline, audit."""
    d = new.data
    dm = DeviceModel(manufacturer=d.manufacturer, model=d.model, hardware_version=d.hardware_version,
                     firmware_version=d.firmware_version, physical_device_type=d.physical_device_type.upper())
    certs = new.certificates or [_certificate(ctx, c) for c in d.certificates]
    cpa = next((c for c in certs if c.kind == CertificateKind.CPA), None)
    now = ctx.clock.now()
    entry = CplEntry(device_model=dm, release_notes=d.release_notes, technical_specification=new.spec,
                     gbcs_version=new.gbcs, cpa_expiry=d.cpa_expiry or (cpa.expiry_date if cpa else None),
                     image_creator=d.image_creator or None, image_hash=d.image_hash or None, signed=new.signed,
                     signature=new.signature, signer_certificates=new.signer_certificates,
                     mapping_evidence=d.mapping_evidence or None, smets1=d.smets1,
                     status=new.status.value, status_since=new.status_since,
                     submitter_org_id=new.submitter_org.id if new.submitter_org else None,
                     submitter_name=new.submitter_name, created_at=now, updated_at=now, certificates=certs)
    ctx.session.add(entry)
    ctx.session.flush()
    add_event(ctx, entry, action, text, to_status=new.status.value)
    record_change(ctx, f"cpl.entry.{action}", "cpl_entry", entry.id, None,
                  {**snapshot(entry, *ENTRY_AUDITED), "device_model": dm.label,
                   "certificates": [f"{c.kind}:{c.number}" for c in certs]})
    return entry


def approve(ctx: Ctx, submission_id: int) -> Submission:
    """SECAS approves a validated submission on the Panel's behalf: the Device Model goes on the CPL, Active.

    The rules are applied again on the day of approval; a submission no longer valid is refused instead."""
    if not ctx.actor.has_role(*ADMIN_ROLES):
        raise Forbidden("Only the Code Administrator (SECAS) approves CPL submissions.")
    sub = get_submission(ctx.session, submission_id)
    if sub.status != SubmissionStatus.VALIDATED:
        raise Conflict(f"Submission {sub.id} is {SubmissionStatus(sub.status).label}; only a validated submission "
                       "can be approved (re-validate a refused one after correcting it).",
                       detail={"status": sub.status, "allowed": ["validated"]})
    if validate(ctx, sub):
        return sub
    data = SubmissionCreate.model_validate(sub.data)
    org = ctx.session.get(Organisation, sub.submitter_org_id) if sub.submitter_org_id else None
    kind = SubmissionKind(sub.kind)
    spec = find_spec(ctx.session, data.technical_specification)
    assert spec is not None  # validate() refuses a specification SECAS has not recorded; an entry needs one
    entry = add_entry(ctx, NewEntry(
        data=data, spec=spec,
        gbcs=find_gbcs(ctx.session, data.gbcs_version), status=EntryStatus.ACTIVE, status_since=ctx.clock.today(),
        submitter_org=org, submitter_name=sub.submitter_name, signature=sub.signature,
        signer_certificates=sub.signer_certificates, signed=sub.signed),
        "approve", f"{kind.label} submitted by {sub.submitter_name} (submission {sub.id}) approved by SECAS on "
                   "behalf of the Panel; listed Active.")
    before = snapshot(sub, *SUBMISSION_AUDITED)
    sub.status, sub.entry_id = SubmissionStatus.APPROVED.value, entry.id
    sub.decided_at, sub.decided_by = ctx.clock.now(), ctx.actor.name
    record_change(ctx, "cpl.submission.approve", "cpl_submission", sub.id, before, snapshot(sub, *SUBMISSION_AUDITED))
    return sub


def list_submissions(session: Session, status: str | None = None, limit: int = 200) -> list[Submission]:
    stmt = select(Submission).order_by(Submission.submitted_at.desc(), Submission.id.desc()).limit(limit)
    return list(session.scalars(stmt.where(Submission.status == status) if status else stmt))


# ---------------------------------------------------------------- removal and certificates


def remove_entry(ctx: Ctx, entry: CplEntry | int, minute_reference: str, reason: str,
                 effective_on: date | None = None, grace_until: date | None = None, *,
                 status: EntryStatus = EntryStatus.WITHDRAWN) -> ScheduledRemoval:
    """Remove an entry as the Panel decided, citing its minute; with a grace period it stays Active until the
    period has passed (seed 000: L+G GSME removed on a date with three more months for Suppliers)."""
    _require_admin(ctx, "remove a CPL entry")
    entry = entry if isinstance(entry, CplEntry) else get_entry(ctx.session, entry)
    if entry.status != EntryStatus.ACTIVE:
        raise EntryNotActive(f"Entry {entry.id} is {entry.status}; only an Active entry can be removed.",
                             detail={"status": entry.status, "allowed": [EntryStatus.ACTIVE.value]})
    if status is EntryStatus.ACTIVE:
        raise Invalid("A removal leaves the entry Withdrawn, Expired or Cancelled.",
                      detail=[{"field": "status", "message": "Withdrawn, Expired or Cancelled"}])
    effective_on = effective_on or ctx.clock.today()
    failures = rules.removal_failures(minute_reference, reason, effective_on, grace_until)
    if failures:
        raise Invalid("The removal cannot be recorded: " + "; ".join(map(str, failures)),
                      detail=[f.as_dict() for f in failures])
    if any(r.applied_at is None for r in entry.removals):
        raise Conflict(f"Entry {entry.id} already has a removal scheduled.")
    removal = ScheduledRemoval(
        minute_reference=minute_reference.strip(), reason=reason.strip(), to_status=status.value,
        effective_on=effective_on, grace_until=grace_until,
        takes_effect_on=rules.removal_takes_effect_on(effective_on, grace_until), decided_by=ctx.actor.name,
        created_at=ctx.clock.now())
    entry.removals.append(removal)
    ctx.session.flush()
    grace = f"; Suppliers have until {grace_until:%d %b %Y}" if grace_until else ""
    add_event(ctx, entry, "removal_scheduled", f"Removal decided ({reason.strip()}): {status.value} from "
                                               f"{removal.takes_effect_on:%d %b %Y}{grace}.",
              reference=removal.minute_reference)
    record_change(ctx, "cpl.entry.schedule_removal", "cpl_entry", entry.id, None, snapshot(
        removal, "minute_reference", "reason", "to_status", "effective_on", "grace_until", "takes_effect_on"))
    if removal.takes_effect_on <= ctx.clock.today():
        _apply_removal(ctx, removal)
    return removal


def remove(ctx: Ctx, entry_id: int, data: RemovalCreate) -> ScheduledRemoval:
    return remove_entry(ctx, entry_id, data.minute_reference, data.reason, data.effective_on, data.grace_until,
                        status=data.status)


def _apply_removal(ctx: Ctx, removal: ScheduledRemoval) -> None:
    removal.applied_at = ctx.clock.now()
    entry = removal.entry
    if entry.status == EntryStatus.ACTIVE:
        set_status(ctx, entry, EntryStatus(removal.to_status), "remove",
                   f"Removed from the CPL: {removal.reason}", reference=removal.minute_reference)


def revoke_certificate(ctx: Ctx, kind: str, number: str, reason: str, revoked_on: date | None = None) -> Certificate:
    """Record a certificate's revocation; its entries then await the Panel's removal decision."""
    _require_admin(ctx, "record a certificate revocation")
    cert = find_certificate(ctx.session, kind, number)
    if cert is None:
        raise NotFound(f"No {kind} certificate {number}.")
    if cert.revoked_at is not None:
        raise Conflict(f"Certificate {number} was already revoked on {cert.revoked_at:%d %b %Y}.")
    before = snapshot(cert, "revoked_at", "revocation_reason")
    cert.revoked_at = datetime.combine(revoked_on, time(), UTC) if revoked_on else ctx.clock.now()
    cert.revocation_reason = reason
    record_change(ctx, "cpl.certificate.revoke", "cpl_certificate", cert.id, before,
                  snapshot(cert, "revoked_at", "revocation_reason"))
    for entry in cert.entries:
        add_event(ctx, entry, "certificate_revoked", f"{CertificateKind(cert.kind).label} certificate {number} "
                                                     f"revoked: {reason}. Awaiting the Panel's removal decision.")
    return cert


def versions(session: Session) -> tuple[list[TechnicalSpecification], list[GbcsVersion]]:
    """Every technical specification and GBCS version SECAS has recorded, in version order."""
    specs = session.scalars(select(TechnicalSpecification).order_by(TechnicalSpecification.name,
                                                                    TechnicalSpecification.version))
    return list(specs), list(session.scalars(select(GbcsVersion).order_by(GbcsVersion.version)))


def open_versions(session: Session, on: date) -> tuple[list[str], list[str]]:
    """The technical specifications (labels) and GBCS versions a submission may name on ``on``: not end-dated."""
    specs, gbcs = versions(session)
    return ([s.label for s in specs if not s.end_date or s.end_date >= on],
            [g.version for g in gbcs if not g.end_date or g.end_date >= on])


def set_version(ctx: Ctx, label: str, end_date: date | None = None) -> TechnicalSpecification | GbcsVersion:
    """Record a technical specification ('SMETS2 v4.2', 'CHTS v1.2') or GBCS ('GBCS v1.1') version, or change
    its end date; entries on an end-dated version are flagged for action (seed 004)."""
    _require_admin(ctx, "record technical specification and GBCS versions")
    is_gbcs = label.strip().lower().startswith("gbcs")
    found = find_gbcs(ctx.session, label) if is_gbcs else find_spec(ctx.session, label)
    if found is None:
        parsed = None if is_gbcs else parse_spec(label)
        if not (is_gbcs and gbcs_key(label)) and parsed is None:
            raise Invalid(f"{label!r} is not a version: write e.g. 'SMETS2 v4.2', 'CHTS v1.2' or 'GBCS v1.1'.",
                          detail=[{"field": "version", "message": "SMETS1, SMETS2, CHTS or GBCS, then a version"}])
        if is_gbcs:
            found = GbcsVersion(version=gbcs_key(label))
        else:
            assert parsed is not None  # refused just above otherwise
            found = TechnicalSpecification(name=parsed[0], version=parsed[1])
        ctx.session.add(found)
    elif found.end_date == end_date:
        return found
    before = {"end_date": found.end_date} if found.id else None
    found.end_date = end_date
    ctx.session.flush()
    kind = "cpl_gbcs_version" if is_gbcs else "cpl_technical_specification"
    record_change(ctx, "cpl.version.set", kind, found.id, before, {"version": found.label, "end_date": end_date})
    return found


# ---------------------------------------------------------------- the lifecycle job


@dataclass
class LifecycleReport:
    ran_on: date
    notices: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    awaiting_removal: list[str] = field(default_factory=list)
    end_dated: list[str] = field(default_factory=list)


def _active(session: Session) -> list[CplEntry]:
    return list(session.scalars(select(CplEntry).where(CplEntry.status == EntryStatus.ACTIVE.value)
                                .order_by(CplEntry.id)))


def run_lifecycle(ctx: Ctx) -> LifecycleReport:
    """Send due CPA expiry notices (12 and 6 months), expire lapsed CPAs, apply removals whose time has come,
    list entries awaiting a Panel removal decision and those on end-dated versions. Run it daily."""
    _require_admin(ctx, "run the CPL lifecycle")
    today = ctx.clock.today()
    report = LifecycleReport(ran_on=today)
    for entry in _active(ctx.session):
        if entry.cpa_expiry is None:
            continue
        sent = {NoticeKind(n.kind) for n in entry.notices if n.cpa_expiry == entry.cpa_expiry}
        for kind in rules.notices_due(entry.cpa_expiry, today, sent):
            entry.notices.append(ExpiryNotice(kind=kind.value, cpa_expiry=entry.cpa_expiry, sent_on=today,
                                              due_on=rules.notice_due_on(entry.cpa_expiry, kind),
                                              recipient=entry.submitter_name))
            add_event(ctx, entry, "notice", f"{kind.label} sent to {entry.submitter_name}: the CPA certificate "
                                            f"expires on {entry.cpa_expiry:%d %b %Y}.")
            record_change(ctx, "cpl.entry.notice", "cpl_entry", entry.id, None,
                          {"kind": kind.value, "cpa_expiry": entry.cpa_expiry, "recipient": entry.submitter_name})
            report.notices.append(f"{entry.device_model.label}: {kind.label}")
        if rules.cpa_expired(entry.cpa_expiry, today):
            set_status(ctx, entry, EntryStatus.EXPIRED, "expire",
                       f"The CPA certificate expired on {entry.cpa_expiry:%d %b %Y}.")
            report.expired.append(entry.device_model.label)
    due = ctx.session.scalars(select(ScheduledRemoval).where(ScheduledRemoval.applied_at.is_(None),
                                                             ScheduledRemoval.takes_effect_on <= today)
                              .order_by(ScheduledRemoval.id)).all()
    for removal in due:
        _apply_removal(ctx, removal)
        report.removed.append(removal.entry.device_model.label)
    report.awaiting_removal = [f"{e.device_model.label}: {'; '.join(p)}" for e, p in awaiting_removal(ctx.session,
                                                                                                     today)]
    report.end_dated = [f"{e.device_model.label}: {'; '.join(f)}" for e, f in end_dated_entries(ctx.session, today)]
    changed = {k: len(v) for k, v in vars(report).items() if isinstance(v, list)}
    if any(changed.get(k) for k in ("notices", "expired", "removed")):  # a run that changes nothing logs nothing
        record_change(ctx, "cpl.lifecycle.run", "cpl_lifecycle", today.isoformat(), None, changed)
    return report


def awaiting_removal(session: Session, on: date) -> list[tuple[CplEntry, list[str]]]:
    """Active entries with a revoked or lapsed certificate and no removal scheduled: for the Panel to decide."""
    out = []
    for entry in _active(session):
        problems = rules.removal_problems([certificate_facts(c) for c in entry.certificates], on)
        if problems and not any(r.applied_at is None for r in entry.removals):
            out.append((entry, problems))
    return out


def version_flags(entry: CplEntry, on: date) -> list[str]:
    """Why an entry needs action because its technical specification or GBCS version is end-dated (seed 004)."""
    flags = []
    for label, end in ((entry.technical_specification.label, entry.technical_specification.end_date),
                       (entry.gbcs_version.label if entry.gbcs_version else None,
                        entry.gbcs_version.end_date if entry.gbcs_version else None)):
        if label and end:
            flags.append(f"{label} {'was end-dated on' if end <= on else 'is end-dated from'} {end:%d %b %Y}")
    return flags


def end_dated_entries(session: Session, on: date) -> list[tuple[CplEntry, list[str]]]:
    """Active entries on an end-dated technical specification or GBCS version."""
    stmt = (select(CplEntry).join(CplEntry.technical_specification).outerjoin(CplEntry.gbcs_version)
            .where(CplEntry.status == EntryStatus.ACTIVE.value,
                   or_(TechnicalSpecification.end_date.is_not(None), GbcsVersion.end_date.is_not(None)))
            .order_by(CplEntry.id))
    return [(e, version_flags(e, on)) for e in session.scalars(stmt).unique()]


def entry_flags(entry: CplEntry, on: date) -> list[str]:
    flags = version_flags(entry, on) if entry.status == EntryStatus.ACTIVE else []
    if entry.status == EntryStatus.ACTIVE and not any(r.applied_at is None for r in entry.removals):
        problems = rules.removal_problems([certificate_facts(c) for c in entry.certificates], on)
        flags += [f"Awaiting the Panel's removal decision: {p}" for p in problems]
    flags += [f"Removal scheduled ({r.minute_reference}): {r.to_status} from {r.takes_effect_on:%d %b %Y}"
              for r in entry.removals if r.applied_at is None]
    return flags


# ---------------------------------------------------------------- lists


@dataclass
class EntryFilters:
    q: str | None = None
    type: str | None = None
    manufacturer: str | None = None
    status: str | None = None


KEY = (DeviceModel.manufacturer, DeviceModel.model, DeviceModel.hardware_version, DeviceModel.firmware_version)


def list_entries(session: Session, f: EntryFilters, cursor: str | None = None, limit: int = 50) -> Page[CplEntry]:
    """Entries in Device Model order, paged by key."""
    limit = max(1, min(limit, 500))
    stmt = select(CplEntry).join(CplEntry.device_model).options(contains_eager(CplEntry.device_model))
    if f.q:
        like = f"%{f.q.strip().lower()}%"
        stmt = stmt.where(or_(*(func.lower(c).like(like) for c in KEY), func.lower(CplEntry.release_notes).like(like)))
    if f.type:
        stmt = stmt.where(DeviceModel.physical_device_type == f.type)
    if f.manufacturer:
        stmt = stmt.where(func.lower(DeviceModel.manufacturer) == f.manufacturer.strip().lower())
    if f.status:
        stmt = stmt.where(CplEntry.status == f.status)
    after = decode_cursor(cursor)
    if after:
        if len(after) != 4:
            raise Invalid("The page cursor is not one gbsmart issued; start again from the first page.")
        stmt = stmt.where(tuple_(*KEY) > tuple_(*(str(v) for v in after)))
    rows = session.scalars(stmt.order_by(*KEY).limit(limit + 1)).unique().all()
    nxt = None
    if len(rows) > limit:
        dm = rows[limit - 1].device_model
        nxt = encode_cursor([dm.manufacturer, dm.model, dm.hardware_version, dm.firmware_version])
    return Page(items=list(rows[:limit]), next_cursor=nxt)


def expiring(session: Session, today: date, within_days: int) -> list[CplEntry]:
    """Active entries whose CPA certificate expires within ``within_days`` of ``today``, soonest first."""
    return list(session.scalars(select(CplEntry).where(
        CplEntry.status == EntryStatus.ACTIVE.value, CplEntry.cpa_expiry.is_not(None),
        CplEntry.cpa_expiry >= today, CplEntry.cpa_expiry <= today + timedelta(days=within_days))
        .order_by(CplEntry.cpa_expiry, CplEntry.id)))


def manufacturers(session: Session) -> list[str]:
    return list(session.scalars(select(DeviceModel.manufacturer).distinct().order_by(DeviceModel.manufacturer)))
