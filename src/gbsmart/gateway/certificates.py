"""Loading a DCC User's organisation certificates through the API: who may, and the one check that applies.

The check and the saving are ``gateway.store.save_certificates``'s, the same as ``gbsmart gateway
add-certificate``: a certificate naming another User ID, or not ECDSA P-256, or clashing with a saved one, is
refused. Who may load one for a User ID is ``gateway.rules.may_act_for_user``: the people of the organisation
holding it, or the DCC and the Code Administrator. A running gateway picks a saved certificate up at its next
refresh (``gateway_refresh_seconds``). Each load is in the change log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid, NotFound
from gbsmart.gateway.keystore import KeyEntry, eui64
from gbsmart.gateway.rules import may_act_for_user
from gbsmart.gateway.store import load_keystore, save_certificates
from gbsmart.models.parties import DccUser

#: a certificate chain in PEM is a few kilobytes; refuse more before reading it
MAX_CERTIFICATE_BYTES = 64 * 1024


@dataclass(frozen=True)
class CertificateInfo:
    user_id: str
    serial: int
    issuer: str
    subject: str
    valid_from: datetime
    valid_to: datetime

    @classmethod
    def of(cls, entry: KeyEntry) -> CertificateInfo:
        cert = entry.certificate
        return cls(entry.user_id, entry.serial, entry.issuer, cert.subject.rfc4514_string(),
                   cert.not_valid_before_utc, cert.not_valid_after_utc)


def _user_for(ctx: Ctx, user_id: str) -> str:
    """The User ID in DUIS's form, if it is a DCC User the actor may act for (else not found, or forbidden)."""
    try:
        canonical = eui64(user_id)
    except ValueError as exc:
        raise Invalid(f"user_id: {exc}", detail=[{"field": "user_id", "message": str(exc)}]) from None
    user = ctx.session.scalar(select(DccUser).where(DccUser.eui64 == canonical))
    if user is None or not may_act_for_user(ctx.actor.roles, ctx.actor.organisation_id, user.organisation_id):
        raise NotFound(f"No DCC User {canonical} of your organisation: certificates are loaded by the people of "
                       "the organisation holding the User ID, or by the DCC.")
    return canonical


def list_certificates(ctx: Ctx, user_id: str) -> list[CertificateInfo]:
    user = _user_for(ctx, user_id)
    return [CertificateInfo.of(e) for e in load_keystore(ctx.settings).for_user(user)]


def add_certificates(ctx: Ctx, user_id: str, data: bytes, *, source: str = "upload") -> list[CertificateInfo]:
    """Check and save the certificates in ``data`` (PEM, one or more, or DER) for ``user_id``."""
    user = _user_for(ctx, user_id)
    if not data.strip():
        raise Invalid("No certificate was sent: put the PEM or DER certificate in the request body.")
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise Invalid(f"The body is {len(data):,} bytes; a certificate upload may be at most "
                      f"{MAX_CERTIFICATE_BYTES:,}.")
    entries = save_certificates(ctx.settings, user, data, source=source)
    infos = [CertificateInfo.of(e) for e in entries]
    for info in infos:
        record_change(ctx, "gateway.certificate_added", "dcc_user", user,
                      after={"serial": str(info.serial), "issuer": info.issuer, "valid_to": info.valid_to})
    return infos
