"""Anomaly Detection Thresholds as data, and the signed files that change them: one service for API, pages, CLI
and gateway.

- ``load_thresholds`` / ``rebuild_counters``: what the gateway reads at start and refresh (``gateway.adt``
  counts in memory; the counts of the current windows are rebuilt from the journal, so a restart forgets at
  most the rows the journal had not yet written).
- ``upload_adt_file``: a User's thresholds from an ADT file signed with one of that User's certificates in the
  gateway keystore. ``set_threshold`` / ``set_dcc_threshold``: the DCC's own settings (CLI).
- ``apply_action_file``: release or delete quarantined requests by a file signed by a Senior or Authorised
  Responsible Officer of the User's organisation (DP108), with a certificate registered for that person
  (``add_officer_certificate``). Released requests are marked and the gateway processes them at its next refresh
  (``pending_releases``); deleted ones are journalled DELETED.
- Who may see and do what: ``visible_user_ids`` (a party's own User IDs; all for the DCC and SECAS) and
  ``require_officer`` (the functions in ``officer_only_functions`` are for an SRO/ARO of the organisation signed in
  with a second factor, through every door: docs/ssi-access.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gbsmart.config import Settings
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Forbidden, Invalid, NotFound
from gbsmart.gateway.adt import (
    AdtCounters,
    AdtFileError,
    DccLimit,
    FieldProblem,
    Limit,
    Thresholds,
    decode_signature,
    parse_action_file,
    parse_adt_file,
    verify_detached,
    window_datetime,
    window_start,
)
from gbsmart.gateway.enums import MessageState, QuarantineAction, QuarantineStatus
from gbsmart.gateway.keystore import Keystore, eui64
from gbsmart.gateway.matrix import request_matrix
from gbsmart.models.adt import (
    AdtDccThreshold,
    AdtThreshold,
    AdtWarning,
    DccAlert,
    QuarantinedRequest,
    ResponsibleOfficerCertificate,
)
from gbsmart.models.audit import ChangeRecord
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, Person
from gbsmart.parties.enums import Role

OFFICER_ROLES = (Role.SENIOR_RESPONSIBLE_OFFICER.value, Role.AUTHORISED_RESPONSIBLE_OFFICER.value)
_SEE_ALL = ("system", Role.DCC.value, Role.CODE_ADMINISTRATOR.value)


# ---------------------------------------------------------------- the gateway's view


def load_thresholds(session: Session, settings: Settings) -> Thresholds:
    """The thresholds in force: the tables, and the settings' defaults for the rest."""
    users = {(t.user_id, t.srv): Limit(t.warning, t.quarantine, t.period_seconds)
             for t in session.scalars(select(AdtThreshold))}
    dcc = {t.srv: DccLimit(t.quarantine, t.period_seconds) for t in session.scalars(select(AdtDccThreshold))}
    return Thresholds(period_seconds=settings.adt_period_seconds, users=users, dcc=dcc,
                      default_warning=settings.adt_default_warning,
                      default_quarantine=settings.adt_default_quarantine,
                      dcc_default_quarantine=settings.adt_dcc_default_quarantine)


def rebuild_counters(session: Session, counters: AdtCounters, now: datetime) -> int:
    """Seed ``counters`` with the journal's accepted requests in each current window; returns the keys seeded."""
    thresholds = counters.thresholds
    periods = {thresholds.period_seconds} | {lim.period_seconds for lim in thresholds.users.values()} | {
        lim.period_seconds for lim in thresholds.dcc.values()}
    seeded = 0
    for period in sorted(periods):
        since = window_datetime(window_start(now, period))
        accepted = (GatewayMessage.received_at >= since, GatewayMessage.state != MessageState.REFUSED.value)
        warned = {(w.user_id, w.srv) for w in session.scalars(select(AdtWarning).where(
            AdtWarning.period_start == since, AdtWarning.period_seconds == period))}
        for user_id, srv, count in session.execute(
                select(GatewayMessage.originator, GatewayMessage.srv, func.count())
                .where(*accepted).group_by(GatewayMessage.originator, GatewayMessage.srv)):
            if thresholds.for_user(user_id, srv).period_seconds == period:
                counters.seed(user_id, srv, now, int(count), warned=(user_id, srv) in warned)
                seeded += 1
        for srv, count in session.execute(select(GatewayMessage.srv, func.count()).where(*accepted)
                                          .group_by(GatewayMessage.srv)):
            limit = thresholds.for_dcc(srv)
            if (limit.period_seconds if limit is not None else thresholds.period_seconds) == period:
                counters.seed_dcc(srv, now, int(count))
    return seeded


def pending_releases(session: Session, *, limit: int = 500) -> list[QuarantinedRequest]:
    """Released requests the gateway has not processed yet, oldest first."""
    return list(session.scalars(select(QuarantinedRequest)
                                .where(QuarantinedRequest.status == QuarantineStatus.RELEASED.value)
                                .order_by(QuarantinedRequest.id).limit(limit)))


# ---------------------------------------------------------------- who may see and act


def user_ids_of(session: Session, organisation_id: int | None) -> list[str]:
    if organisation_id is None:
        return []
    return list(session.scalars(select(DccUser.eui64).where(DccUser.organisation_id == organisation_id)
                                .order_by(DccUser.eui64)))


def visible_user_ids(ctx: Ctx) -> list[str] | None:
    """The User IDs whose ADT settings and quarantine the actor may see: None for all (the DCC, SECAS)."""
    if ctx.actor.has_role(*_SEE_ALL):
        return None
    return user_ids_of(ctx.session, ctx.actor.organisation_id)


def _organisation_of(session: Session, user_id: str) -> int:
    org = session.scalar(select(DccUser.organisation_id).where(DccUser.eui64 == user_id))
    if org is None:
        raise NotFound(f"User ID {user_id} is not a DCC User: check the User ID, or have the DCC register it")
    return org


#: what each function of ``officer_only_functions`` is, for refusals (config.OFFICER_FUNCTIONS names them)
FUNCTIONS = {
    "adt.upload": "Setting ADT thresholds by an ADT file",
    "quarantine.release": "Releasing a quarantined request",
    "quarantine.delete": "Deleting a quarantined request",
    "exit_quarantine": "Submitting an exit-quarantine (action) file",
}


def _officer_only(ctx: Ctx, function: str) -> bool:
    if function not in FUNCTIONS:
        raise ValueError(f"unknown officer function {function!r}")
    return function in ctx.settings.officer_only_functions


def may_use(ctx: Ctx, function: str) -> bool:
    """Whether the actor may use ``function`` for their own organisation's User IDs (pages show its form or not);
    ``require_officer`` is what refuses."""
    if ctx.actor.has_role("system"):
        return True
    if ctx.actor.organisation_id is None:
        return False
    if not _officer_only(ctx, function):
        return True
    return ctx.actor.has_role(*OFFICER_ROLES) and ctx.actor.second_factor


def require_officer(ctx: Ctx, user_id: str, function: str | tuple[str, ...]) -> None:
    """The actor may use ``function`` (one or several of ``FUNCTIONS``) for ``user_id``: the DCC's operator (CLI),
    or a person of ``user_id``'s organisation, who must be its Senior or Authorised Responsible Officer signed in
    with a second factor where the function is in ``officer_only_functions`` (DP108). Else Forbidden, saying who
    may and what to do."""
    functions = (function,) if isinstance(function, str) else function
    officer_only = [f for f in functions if _officer_only(ctx, f)]
    if ctx.actor.has_role("system"):
        return
    org = _organisation_of(ctx.session, user_id)
    if ctx.actor.organisation_id != org:
        raise Forbidden(f"User ID {user_id} belongs to another organisation: you may act only for your own")
    if not officer_only:
        return
    what = FUNCTIONS[officer_only[0]]
    if not ctx.actor.has_role(*OFFICER_ROLES):
        raise Forbidden(f"{what} is for a Senior or Authorised Responsible Officer of the organisation only "
                        "(DP108): ask one of yours to do it, or ask your Party administrator for the role")
    if not ctx.actor.second_factor:
        raise Forbidden(f"{what} needs a sign-in with your second factor: sign out and in again giving your "
                        "authenticator code (or, for the API, make a new token after turning the second factor on)")


def _check_visible(ctx: Ctx, user_id: str) -> None:
    visible = visible_user_ids(ctx)
    if visible is not None and user_id not in visible:
        raise Forbidden(f"User ID {user_id} is not one of your organisation's")


# ---------------------------------------------------------------- thresholds


def _valid_srv(srv: str) -> str:
    if srv not in request_matrix():
        raise Invalid(f"{srv!r} is not a Service Reference Variant in DUIS (like 4.1.1)", detail={"field": "srv"})
    return srv


def _counts(warning: int | None, quarantine: int | None) -> None:
    for name, value in (("warning", warning), ("quarantine", quarantine)):
        if value is not None and value < 0:
            raise Invalid(f"the {name} threshold must be 0 or more", detail={"field": name})
    if warning is not None and quarantine is not None and warning > quarantine:
        raise Invalid(f"the warning threshold {warning} is above the quarantine threshold {quarantine}",
                      detail={"field": "warning"})


def _upsert(ctx: Ctx, user_id: str, srv: str, warning: int | None, quarantine: int | None, period: int,
            set_by: str, file_sha256: str | None) -> AdtThreshold:
    row = ctx.session.scalar(select(AdtThreshold).where(AdtThreshold.user_id == user_id, AdtThreshold.srv == srv))
    before = None
    if row is None:
        row = AdtThreshold(user_id=user_id, srv=srv)
        ctx.session.add(row)
    else:
        before = {"warning": row.warning, "quarantine": row.quarantine, "period_seconds": row.period_seconds}
    row.warning, row.quarantine, row.period_seconds = warning, quarantine, period
    row.set_at, row.set_by, row.file_sha256 = ctx.clock.now(), set_by[:200], file_sha256
    ctx.session.flush()
    record_change(ctx, "adt_threshold.set", "adt_threshold", row.id, before,
                  {"user_id": user_id, "srv": srv, "warning": warning, "quarantine": quarantine,
                   "period_seconds": period, "file_sha256": file_sha256})
    return row


def set_threshold(ctx: Ctx, user_id: str, srv: str, *, warning: int | None, quarantine: int | None,
                  period_seconds: int | None = None) -> AdtThreshold:
    """Set a User's thresholds for an SRV directly (the DCC's operator, CLI)."""
    if not ctx.actor.has_role("system", Role.DCC.value):
        raise Forbidden("only the DCC sets thresholds directly; a User sends a signed ADT file")
    user = eui64(user_id)
    _organisation_of(ctx.session, user)
    _counts(warning, quarantine)
    row = _upsert(ctx, user, _valid_srv(srv), warning, quarantine, period_seconds or ctx.settings.adt_period_seconds,
                  ctx.actor.username, None)
    ctx.session.commit()
    return row


def set_dcc_threshold(ctx: Ctx, srv: str, *, quarantine: int | None,
                      period_seconds: int | None = None) -> AdtDccThreshold | None:
    """Set (or with ``quarantine`` None, remove) the DCC-wide quarantine threshold of an SRV."""
    if not ctx.actor.has_role("system", Role.DCC.value):
        raise Forbidden("only the DCC sets DCC-wide thresholds")
    _valid_srv(srv)
    _counts(None, quarantine)
    row = ctx.session.scalar(select(AdtDccThreshold).where(AdtDccThreshold.srv == srv))
    if quarantine is None:
        if row is not None:
            ctx.session.delete(row)
            record_change(ctx, "adt_dcc_threshold.remove", "adt_dcc_threshold", srv)
        ctx.session.commit()
        return None
    if row is None:
        row = AdtDccThreshold(srv=srv)
        ctx.session.add(row)
    row.quarantine, row.period_seconds = quarantine, period_seconds or ctx.settings.adt_period_seconds
    row.set_at, row.set_by = ctx.clock.now(), ctx.actor.username[:200]
    record_change(ctx, "adt_dcc_threshold.set", "adt_dcc_threshold", srv, None,
                  {"quarantine": quarantine, "period_seconds": row.period_seconds})
    ctx.session.commit()
    return row


def thresholds(ctx: Ctx, user_ids: Sequence[str] | None = None) -> list[AdtThreshold]:
    """The per-User thresholds the actor may see (of ``user_ids`` if given)."""
    query = select(AdtThreshold).order_by(AdtThreshold.user_id, AdtThreshold.srv)
    visible = visible_user_ids(ctx)
    if visible is not None:
        query = query.where(AdtThreshold.user_id.in_(visible))
    if user_ids is not None:
        query = query.where(AdtThreshold.user_id.in_(list(user_ids)))
    return list(ctx.session.scalars(query))


def dcc_thresholds(ctx: Ctx) -> list[AdtDccThreshold]:
    return list(ctx.session.scalars(select(AdtDccThreshold).order_by(AdtDccThreshold.srv)))


def upload_adt_file(ctx: Ctx, data: bytes, signature: str | bytes, keystore: Keystore) -> list[AdtThreshold]:
    """Set a User's thresholds from a signed ADT file: parsed, the signature checked against the User's
    certificates in the gateway keystore, then each row set (rows for SRVs the file does not name are kept)."""
    rows = parse_adt_file(data)
    user_id = rows[0].user_id
    require_officer(ctx, user_id, "adt.upload")
    entries = keystore.for_user(user_id)
    if not entries:
        raise AdtFileError("ADT file", [FieldProblem(0, "signature", f"the gateway holds no certificate for User ID "
                                                                     f"{user_id}: have its certificate added first")])
    if verify_detached(data, decode_signature(signature), entries) is None:
        raise AdtFileError("ADT file", [FieldProblem(0, "signature", f"the signature does not verify with User ID "
                                                                     f"{user_id}'s certificates: sign this file's "
                                                                     "exact bytes with that User's key")])
    digest = hashlib.sha256(data).hexdigest()
    out = [_upsert(ctx, r.user_id, r.srv, r.warning, r.quarantine, r.period_seconds or ctx.settings.adt_period_seconds,
                   f"ADT file {digest[:16]} (uploaded by {ctx.actor.username})", digest) for r in rows]
    ctx.session.commit()
    return out


@dataclass(frozen=True)
class ThresholdChange:
    """One row an ADT file set: its SRV and period, and the warning and quarantine thresholds before and after."""

    user_id: str
    srv: str
    period_seconds: int
    warning_before: int | None
    quarantine_before: int | None
    warning: int | None
    quarantine: int | None
    new: bool  # the User had no threshold of its own for this SRV before


def file_changes(ctx: Ctx, file_sha256: str, limit: int = 2000) -> list[ThresholdChange]:
    """What the ADT file with this SHA-256 changed, from the change log (``_upsert`` records before and after), for
    the User IDs the reader may see; by SRV."""
    if len(file_sha256) != 64 or any(c not in "0123456789abcdef" for c in file_sha256):
        raise Invalid("file: give the file's SHA-256 in hex", detail=[{"field": "file", "message": "64 hex digits"}])
    visible = visible_user_ids(ctx)
    records = ctx.session.scalars(select(ChangeRecord).where(ChangeRecord.action == "adt_threshold.set")
                                  .order_by(ChangeRecord.id.desc()).limit(limit))
    out: dict[tuple[str, str], ThresholdChange] = {}
    for r in records:
        after, before = r.after or {}, r.before or {}
        key = (str(after.get("user_id")), str(after.get("srv")))
        if after.get("file_sha256") != file_sha256 or key in out or (visible is not None and key[0] not in visible):
            continue
        out[key] = ThresholdChange(key[0], key[1], int(after.get("period_seconds") or 0), before.get("warning"),
                                   before.get("quarantine"), after.get("warning"), after.get("quarantine"),
                                   not before)
    return sorted(out.values(), key=lambda c: (c.user_id, [int(p) if p.isdigit() else 0 for p in c.srv.split(".")]))


# ---------------------------------------------------------------- officers, quarantine, warnings, alerts


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def add_officer_certificate(ctx: Ctx, username: str, data: bytes) -> ResponsibleOfficerCertificate:
    """Register the certificate (PEM or DER, ECDSA P-256) whose key ``username`` signs action files with."""
    if not ctx.actor.has_role("system", Role.DCC.value):
        raise Forbidden("only the DCC registers responsible officers' certificates")
    person = ctx.session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise NotFound(f"no person {username!r}: check the username")
    if person.organisation_id is None:
        raise Invalid(f"{username} belongs to no organisation: an officer signs for their organisation")
    try:
        cert = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data))
    except ValueError:
        raise Invalid("not a certificate (PEM or DER)", detail={"field": "certificate"}) from None
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise Invalid("the certificate's key is not ECDSA P-256: action files are signed with P-256",
                      detail={"field": "certificate"})
    fp = fingerprint(cert)
    found = ctx.session.scalar(select(ResponsibleOfficerCertificate)
                               .where(ResponsibleOfficerCertificate.fingerprint == fp))
    if found is not None:
        if found.person_id != person.id:
            raise Invalid("this certificate is already registered for another person")
        return found
    row = ResponsibleOfficerCertificate(person_id=person.id, fingerprint=fp, added_at=ctx.clock.now(),
                                        certificate_pem=cert.public_bytes(Encoding.PEM).decode())
    ctx.session.add(row)
    ctx.session.flush()
    record_change(ctx, "officer_certificate.add", "responsible_officer_certificate", row.id, None,
                  {"username": username, "fingerprint": fp})
    ctx.session.commit()
    return row


@dataclass(frozen=True)
class _Officer:
    person: Person
    certificate: x509.Certificate


@dataclass(frozen=True)
class ActionOutcome:
    officer: str
    released: list[QuarantinedRequest]
    deleted: list[QuarantinedRequest]


def apply_action_file(ctx: Ctx, data: bytes, signature: str | bytes) -> ActionOutcome:
    """Release or delete the quarantined requests an action file names; all or nothing."""
    rows = parse_action_file(data)
    user_id = rows[0].user_id
    require_officer(ctx, user_id, ("exit_quarantine", *sorted({f"quarantine.{r.action.value}" for r in rows})))
    org = _organisation_of(ctx.session, user_id)
    officers = [_Officer(person, x509.load_pem_x509_certificate(cert.certificate_pem.encode()))
                for cert, person in ctx.session.execute(
                    select(ResponsibleOfficerCertificate, Person)
                    .join(Person, Person.id == ResponsibleOfficerCertificate.person_id)
                    .where(Person.organisation_id == org, Person.is_active.is_(True)))]
    signer = verify_detached(data, decode_signature(signature), officers)
    if signer is None:
        raise AdtFileError("action file", [FieldProblem(0, "signature", "the signature does not verify with any "
                                                                        "registered officer's certificate of User "
                                                                        f"ID {user_id}'s organisation: sign the "
                                                                        "file's exact bytes with your officer key")])
    if not signer.person.has_role(*OFFICER_ROLES):
        raise AdtFileError("action file", [FieldProblem(0, "signature", f"{signer.person.full_name} signed it but "
                                                                        "is not a Senior or Authorised Responsible "
                                                                        "Officer (DP108): have one of them sign it")])
    held = {q.request_id: q for q in ctx.session.scalars(select(QuarantinedRequest).where(
        QuarantinedRequest.originator == user_id,
        QuarantinedRequest.request_id.in_([r.request_id for r in rows])))}
    problems = []
    for r in rows:
        q = held.get(r.request_id)
        if q is None:
            problems.append(FieldProblem(r.line, "request_id", f"{r.request_id} is not a quarantined request"))
        elif q.status != QuarantineStatus.HELD.value:
            problems.append(FieldProblem(r.line, "request_id", f"{r.request_id} is already "
                                                               f"{QuarantineStatus(q.status).label.lower()}"))
    if problems:
        raise AdtFileError("action file", problems)
    now, digest = ctx.clock.now(), hashlib.sha256(data).hexdigest()
    by = f"{signer.person.full_name} ({signer.person.username})"
    released, deleted = [], []
    for r in rows:
        q = held[r.request_id]
        q.actioned_at, q.actioned_by, q.action_file_sha256 = now, by[:200], digest
        if r.action is QuarantineAction.RELEASE:
            q.status, state = QuarantineStatus.RELEASED.value, MessageState.RELEASED
            explanation = f"released from quarantine by {by} at {now:%Y-%m-%d %H:%M} UTC; processed next"
            released.append(q)
        else:
            q.status, state = QuarantineStatus.DELETED.value, MessageState.DELETED
            explanation = (f"deleted from quarantine by {by} at {now:%Y-%m-%d %H:%M} UTC: it will not be processed; "
                           "send a new request if it is still wanted")
            deleted.append(q)
        ctx.session.execute(update(GatewayMessage).where(
            GatewayMessage.originator == q.originator, GatewayMessage.counter == q.counter,
            GatewayMessage.state == MessageState.QUARANTINED.value).values(state=state.value,
                                                                            explanation=explanation))
        record_change(ctx, f"quarantine.{r.action.value}", "gateway_quarantine", q.id, None,
                      {"request_id": q.request_id, "signer": signer.person.username, "file_sha256": digest})
    ctx.session.commit()
    return ActionOutcome(by, released, deleted)


def quarantined(ctx: Ctx, *, status: QuarantineStatus | None = None, user_id: str | None = None,
                limit: int = 500) -> list[QuarantinedRequest]:
    query = select(QuarantinedRequest).order_by(QuarantinedRequest.id.desc()).limit(limit)
    visible = visible_user_ids(ctx)
    if visible is not None:
        query = query.where(QuarantinedRequest.originator.in_(visible))
    if user_id is not None:
        _check_visible(ctx, eui64(user_id))
        query = query.where(QuarantinedRequest.originator == eui64(user_id))
    if status is not None:
        query = query.where(QuarantinedRequest.status == status.value)
    return list(ctx.session.scalars(query))


def warnings(ctx: Ctx, *, within: timedelta = timedelta(days=31), limit: int = 500) -> list[AdtWarning]:
    query = (select(AdtWarning).where(AdtWarning.raised_at >= ctx.clock.now() - within)
             .order_by(AdtWarning.id.desc()).limit(limit))
    visible = visible_user_ids(ctx)
    if visible is not None:
        query = query.where(AdtWarning.user_id.in_(visible))
    return list(ctx.session.scalars(query))


def alerts(ctx: Ctx, *, limit: int = 500) -> list[DccAlert]:
    query = select(DccAlert).order_by(DccAlert.id.desc()).limit(limit)
    visible = visible_user_ids(ctx)
    if visible is not None:
        query = query.where(DccAlert.user_id.in_(visible))
    return list(ctx.session.scalars(query))
