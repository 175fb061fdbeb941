"""Transform, Pre-Commands and Signed Pre-Commands: how a critical request reaches a device (DUIS, seed 001 DP104).

A critical Service Request (Command Variant 4) goes to Transform (``/api/v1/serviceT``). Once it has passed the
pipeline (signature, counter, authorisation, the durable log), the DCC answers it synchronously, as DCC Boxed
does, with Response Code I0 and a ``PreCommand`` (``GBCSVersion``, ``GBCSPayload``) in the ResponseMessage, and
keeps the Pre-Command (table ``gateway_pre_commands``, written before the answer). The User signs the
Pre-Command's GBCS payload with its **command-signing** key and sends it back to Send Command as a Signed
Pre-Command: Command Variant 5, 6 or 7, the **same RequestID** as the Transform request (DCC Boxed's clients
send it so: the RequestID names the Pre-Command), the same Service Reference and Variant, and a
``SignedPreCommand`` body with the signed ``GBCSPayload``. It is accepted (I99, journalled as acknowledged, for
the device simulator to complete) only if all of these hold; else a signed DUIS Response with an E-code and a
plain-English explanation (codes: docs/decisions/0024-signed-pre-command-codes.md):

====  ==========================================================================================================
E12   Command Variant 5 to 7 without a SignedPreCommand body, or a SignedPreCommand with another Command Variant
E42   no Pre-Command was issued to this User for this RequestID, it was already signed and accepted, it was for
      another device or Service Reference Variant, or the payload is not that Pre-Command plus a signature
E43   DP104: the GBCS signature was made with the key that signed the DUIS XML (of the Signed Pre-Command, or of
      the Transform request): the two keys must be separate
E41   the GBCS signature does not verify with any command-signing certificate the DCC holds for the User, or
      that certificate is outside its validity dates (``gateway.validity``)
====  ==========================================================================================================

(The usual authorisation, E1 to E13, runs first, at the Signed Pre-Command's receipt.) A Signed Pre-Command is
not held to the strictly increasing counter (it repeats the Transform request's); it is accepted at most once
instead, which is what stops a replay.

**The GBCS payload is a deterministic stand-in.** gbsmart does not build GBCS APDUs. The Pre-Command keeps the
framing DCC Boxed's signing code relies on (``signGroupingHeader`` of ``@smartdcc/gbcs-parser``): the
General Signing tag ``0xDF`` first and a zero Signature Length last. Between them: the CRA flag ``0x09``
(command), the originator counter (8 bytes, big-endian), the originator and target IDs (8 bytes each), a zero
date-time byte, the SRV's length and ASCII text (in place of a GBCS Message Code) and the SHA-256 of the exc-c14n
of the request's Body, so the Pre-Command binds what was asked. **The signature model**: as in GBCS and
``signGroupingHeader``, the Signed Pre-Command is the Pre-Command without its last byte, then ``0x40`` (64, the
signature length), then an ECDSA P-256 / SHA-256 signature (r || s, 32 bytes each) over the Pre-Command without
its first and last bytes. ``sign_pre_command`` does what a User does.

**Command-signing certificates** are a separate keystore: ``gateway_dir/command-certificates/USER-ID/
SERIAL.pem`` (``gbsmart gateway add-certificate --command-signing``), trusted only for GBCS signatures, never for
DUIS XML. ``gbsmart gateway load-boxed-jar`` puts there the DCC Boxed Supplier's and Network Operator's SMKI
Digital Signing certificates (subject OU ``02`` Supplier, ``03`` Network Operator: the SMKI Remote Party Roles),
marked as test certificates (they expired in October 2025: see ``gateway.validity``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.config import Settings
from gbsmart.core.signing import write_certificates
from gbsmart.gateway.authorise import AuthorisationIndex, authorise
from gbsmart.gateway.duis import DuisRequest
from gbsmart.gateway.enums import MessageState, PreCommandState
from gbsmart.gateway.jetstream import DeviceWork, JetStreamLog
from gbsmart.gateway.keystore import BoxedMaterial, KeyEntry, Keystore, KeystoreError, certificate_user_id, eui64
from gbsmart.gateway.log import RequestLog
from gbsmart.gateway.matrix import SIGNED_PRE_COMMAND_VARIANTS, WebService
from gbsmart.gateway.responses import acknowledgement, response
from gbsmart.gateway.sequencer import RemoteLog
from gbsmart.gateway.validity import CertificateOutsideValidity, check_validity, mark_test_certificate
from gbsmart.gateway.xml import SUG_NS
from gbsmart.models.pre_commands import GatewayPreCommand
from gbsmart.simulator.responses import DeviceResponses

#: the GBCS version a Pre-Command declares (the stand-in payload follows GBCS's framing only)
GBCS_VERSION = "4.0"
SIGNED_PRE_COMMAND = "SignedPreCommand"
#: DUIS Response Codes for a refused Signed Pre-Command (docs/decisions/0024-signed-pre-command-codes.md)
E_SIGNATURE, E_NO_PRE_COMMAND, E_SAME_KEY = "E41", "E42", "E43"
#: SMKI Remote Party Role codes (subject OU) of the organisation certificates that sign commands
COMMAND_SIGNING_ROLES = {"02": "Supplier", "03": "Network Operator"}
_GENERAL_SIGNING, _CRA_COMMAND, _SIGNATURE_LENGTH = 0xDF, 0x09, 64
_ECDSA = ec.ECDSA(hashes.SHA256())
_XML = b"application/xml"

Answer = tuple[int, bytes, bytes, list]


class GatewayParts(Protocol):
    """What the handlers use of ``server.Gateway``: its data, log, signer and journal."""

    settings: Settings
    index: AuthorisationIndex | None
    log: RequestLog | RemoteLog | JetStreamLog | None  # RemoteLog in a --workers N worker; JetStream's (0029)
    responses: DeviceResponses | None  # the device simulator, when it runs
    work: DeviceWork | None  # the jetstream engine: Send Commands to the process that runs the simulator

    def _answer(self, request: DuisRequest, code: str, at: datetime, explanation: str) -> Answer: ...
    def _sign(self, root: etree._Element) -> bytes: ...
    def _journal(self, request: DuisRequest, service: WebService, state: MessageState, code: str,
                 received_at: datetime, *, explanation: str = "", log_seq: int | None = None) -> Awaitable[None]: ...


# ---------------------------------------------------------------- the payload and its signature


def _eui(value: str) -> bytes:
    return bytes.fromhex(value.replace("-", ""))


def pre_command_payload(request: DuisRequest) -> bytes:
    """The deterministic stand-in GBCS payload of the Pre-Command for ``request`` (see the module docstring)."""
    rid = request.request_id
    body = request.root.find(f"{{{SUG_NS}}}Body")
    assert body is not None  # the codec refuses a Request without one
    digest = hashlib.sha256(etree.tostring(body, method="c14n", exclusive=True, with_comments=False)).digest()
    srv = request.service_reference_variant.encode("ascii")
    return b"".join((bytes((_GENERAL_SIGNING, _CRA_COMMAND)), rid.counter.to_bytes(8, "big"), _eui(rid.originator),
                     _eui(rid.target), b"\x00", bytes((len(srv),)), srv, digest, b"\x00"))


def sign_pre_command(payload: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """The Signed Pre-Command's GBCS payload: ``payload`` signed as a User signs it (GBCS, signGroupingHeader)."""
    if not payload or payload[0] != _GENERAL_SIGNING or payload[-1] != 0:
        raise ValueError("not an unsigned General Signing payload (0xDF first, a zero Signature Length last)")
    r, s = decode_dss_signature(key.sign(payload[1:-1], _ECDSA))
    return payload[:-1] + bytes((_SIGNATURE_LENGTH,)) + r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _signed_by(key: Any, payload: bytes, signature: bytes) -> bool:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, payload[1:-1], _ECDSA)
    except InvalidSignature:
        return False
    return True


def _spki(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# ---------------------------------------------------------------- the command-signing keystore


def command_certificates_dir(settings: Settings) -> Path:
    return settings.resolved_gateway_dir() / "command-certificates"


def load_command_keystore(settings: Settings) -> Keystore:
    """Every command-signing certificate saved under ``command_certificates_dir``, for the User its folder names."""
    store = Keystore()
    root = command_certificates_dir(settings)
    if root.is_dir():
        for user_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for path in sorted(user_dir.glob("*.pem")):
                store.load_file(user_dir.name, path)
    return store


def save_command_certificates(settings: Settings, user_id: str | None, data: bytes, *,
                              source: str = "") -> list[KeyEntry]:
    """Check the certificates in ``data`` (PEM or DER) and trust them for ``user_id``'s GBCS command signatures."""
    entries = Keystore().add_bytes(eui64(user_id) if user_id else None, data, source=source)
    already = load_command_keystore(settings)
    for entry in entries:
        found = already.lookup(entry.issuer, entry.serial)
        if found is not None and (found.user_id != entry.user_id or found.certificate != entry.certificate):
            raise KeystoreError(f"another command-signing certificate with serial {entry.serial} from {entry.issuer} "
                                f"is saved for User {found.user_id}")
    for entry in entries:
        write_certificates(command_certificates_dir(settings) / entry.user_id / f"{entry.serial}.pem",
                           entry.certificate)
    return entries


def _role(cert: x509.Certificate) -> str | None:
    for attribute in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
        if str(attribute.value) in COMMAND_SIGNING_ROLES:
            return str(attribute.value)
    return None


def save_boxed_command_certificates(settings: Settings, material: BoxedMaterial) -> list[KeyEntry]:
    """The DCC Boxed Suppliers' and Network Operators' Digital Signing certificates, saved as test certificates."""
    store, entries = Keystore(), []
    for name, cert in sorted(material.certificates.items()):
        user = certificate_user_id(cert)
        if user is None or _role(cert) is None:
            continue
        entry = store.add(user, cert, source=name)
        path = write_certificates(command_certificates_dir(settings) / user / f"{entry.serial}.pem", cert)
        mark_test_certificate(path)
        entries.append(entry)
    return entries


def boxed_command_key(material: BoxedMaterial, user_id: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The DCC Boxed test key and certificate that sign ``user_id``'s commands (for tests and the demo)."""
    for name, cert in sorted(material.certificates.items()):
        if certificate_user_id(cert) == user_id and _role(cert) is not None and name in material.private_keys:
            return material.private_keys[name], cert
    raise KeystoreError(f"the DCC Boxed jar has no command-signing key for User {user_id}")


# ---------------------------------------------------------------- issued Pre-Commands


@dataclass(frozen=True, slots=True)
class IssuedPreCommand:
    id: int
    originator: str
    target: str
    counter: int
    srv: str
    payload: bytes
    xml_public_key: bytes
    state: str
    issued_at: datetime
    accepted_at: datetime | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the Signed Pre-Command checks decided: accepted with the command certificate, or an E-code and why."""

    code: str | None
    explanation: str = ""
    certificate: KeyEntry | None = None


def is_signed_pre_command(request: DuisRequest) -> bool:
    """Whether ``request`` claims to be a Signed Pre-Command (by Command Variant or by its body)."""
    return request.command_variant in SIGNED_PRE_COMMAND_VARIANTS or request.body == SIGNED_PRE_COMMAND


def _gbcs_payload(request: DuisRequest) -> bytes:
    text = request.root.findtext(f"{{{SUG_NS}}}Body/{{{SUG_NS}}}{SIGNED_PRE_COMMAND}/{{{SUG_NS}}}GBCSPayload")
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except ValueError:
        return b""


def check_signed_pre_command(request: DuisRequest, issued: IssuedPreCommand | None, xml_key: KeyEntry,
                             commands: Keystore, at: datetime, *, settings: Settings) -> Verdict:
    """The Signed Pre-Command checks of the module docstring (after authorisation), in that order."""
    rid = request.request_id
    if issued is None:
        return Verdict(E_NO_PRE_COMMAND, f"The DCC issued no Pre-Command to User {rid.originator} for RequestID "
                                         f"{rid}: a Signed Pre-Command carries the RequestID of the Transform "
                                         "request whose Pre-Command was signed; send that request to Transform "
                                         "(/api/v1/serviceT, Command Variant 4) first.")
    if issued.state == PreCommandState.ACCEPTED.value:
        when = f" at {issued.accepted_at:%Y-%m-%d %H:%M:%S} UTC" if issued.accepted_at else ""
        return Verdict(E_NO_PRE_COMMAND, f"The Pre-Command for RequestID {rid} was already signed and accepted"
                                         f"{when}: each Pre-Command is accepted once; Transform the request again "
                                         "(with a new counter) to send it again.")
    if issued.target != rid.target or issued.srv != request.service_reference_variant:
        return Verdict(E_NO_PRE_COMMAND, f"The Pre-Command for RequestID {rid} was issued for {issued.srv} to device "
                                         f"{issued.target}, not {request.service_reference_variant} to "
                                         f"{rid.target}: send the Signed Pre-Command with the Transform request's "
                                         "Service Reference Variant.")
    pre, signed = issued.payload, _gbcs_payload(request)
    if (len(signed) != len(pre) + _SIGNATURE_LENGTH or signed[:len(pre) - 1] != pre[:-1]
            or signed[len(pre) - 1] != _SIGNATURE_LENGTH):
        return Verdict(E_NO_PRE_COMMAND, f"The GBCSPayload is not the Pre-Command the DCC issued for RequestID {rid} "
                                         "followed by a 64-byte signature: it was changed after the DCC issued it. "
                                         "Sign the Pre-Command's GBCSPayload exactly as returned by Transform.")
    signature = signed[-_SIGNATURE_LENGTH:]
    xml_keys = {"the DUIS XML of this Signed Pre-Command": _spki(xml_key.public_key),
                "the DUIS XML of the Transform request": issued.xml_public_key}
    for what, spki in xml_keys.items():
        if _signed_by(serialization.load_der_public_key(spki), pre, signature):
            return Verdict(E_SAME_KEY, f"The Pre-Command was signed with the same key that signed {what} "
                                       f"({xml_key.describe() if 'this' in what else 'its XML signing key'}). The "
                                       "SEC (DP104) requires separate keys: sign DUIS XML with your XML signing "
                                       "key and Pre-Commands with your Supplier or Network Operator Digital "
                                       "Signing key, whose certificate the DCC holds for command signing.")
    candidates = commands.for_user(rid.originator)
    if not candidates:
        return Verdict(E_SIGNATURE, f"The DCC holds no command-signing certificate for User {rid.originator}, so the "
                                    "Signed Pre-Command's signature cannot be checked: have the certificate of your "
                                    "command-signing key loaded (`gbsmart gateway add-certificate --command-signing "
                                    "USER-ID FILE`).")
    for entry in candidates:
        if _signed_by(entry.public_key, pre, signature):
            try:
                check_validity(settings, entry, at, what="command signing",
                               directory=command_certificates_dir(settings))
            except CertificateOutsideValidity as exc:
                return Verdict(E_SIGNATURE, exc.message + ".")
            return Verdict(None, "", entry)
    serials = ", ".join(str(e.serial) for e in candidates)
    return Verdict(E_SIGNATURE, f"The Signed Pre-Command's signature does not verify with the command-signing "
                                f"certificate(s) the DCC holds for User {rid.originator} (serial {serials}): the "
                                "payload or its signature was changed after signing, or it was signed with another "
                                "key. Sign the Pre-Command with the key of a certificate the DCC holds.")


class PreCommands:
    """The gateway's Transform and Signed Pre-Command handling, over the ``gateway_pre_commands`` table."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.commands = Keystore()
        self._sessions: sessionmaker[Session] | None = None
        self._in_flight: set[tuple[str, int]] = set()

    def start(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.refresh()

    def refresh(self) -> None:
        self.commands = load_command_keystore(self.settings)

    # -- database work, in a worker thread

    def _insert(self, request: DuisRequest, payload: bytes, xml_key: KeyEntry, at: datetime) -> None:
        assert self._sessions is not None
        rid = request.request_id
        with self._sessions() as session, session.begin():
            session.add(GatewayPreCommand(
                request_id=str(rid), originator=rid.originator, target=rid.target, counter=rid.counter,
                service_reference=request.service_reference, srv=request.service_reference_variant,
                gbcs_version=GBCS_VERSION, payload=payload, xml_public_key=_spki(xml_key.public_key),
                state=PreCommandState.ISSUED.value, issued_at=at))

    def _find(self, originator: str, counter: int) -> IssuedPreCommand | None:
        assert self._sessions is not None
        with self._sessions() as session:
            row = session.scalar(select(GatewayPreCommand).where(GatewayPreCommand.originator == originator,
                                                                 GatewayPreCommand.counter == counter))
            if row is None:
                return None
            return IssuedPreCommand(row.id, row.originator, row.target, row.counter, row.srv, row.payload,
                                    row.xml_public_key, row.state, row.issued_at, row.accepted_at)

    def _accept(self, pre_command_id: int, serial: int, at: datetime) -> bool:
        assert self._sessions is not None
        with self._sessions() as session, session.begin():
            done = session.execute(update(GatewayPreCommand)
                                   .where(GatewayPreCommand.id == pre_command_id,
                                          GatewayPreCommand.state == PreCommandState.ISSUED.value)
                                   .values(state=PreCommandState.ACCEPTED.value, accepted_at=at,
                                           command_certificate_serial=str(serial)))
            return bool(getattr(done, "rowcount", 0))

    # -- the two handlers the server calls

    async def transform(self, gateway: GatewayParts, request: DuisRequest, service: WebService,
                        xml_key: KeyEntry, log_seq: int, received_at: datetime) -> Answer:
        """The Pre-Command for an accepted (and logged) Transform request: kept, journalled, returned with I0."""
        payload = pre_command_payload(request)
        await asyncio.to_thread(self._insert, request, payload, xml_key, received_at)
        root = response(request, "I0", received_at)
        message = root.find(f"{{{SUG_NS}}}Body/{{{SUG_NS}}}ResponseMessage")
        assert message is not None
        pre_command = etree.SubElement(message, f"{{{SUG_NS}}}PreCommand")
        etree.SubElement(pre_command, f"{{{SUG_NS}}}GBCSVersion").text = GBCS_VERSION
        etree.SubElement(pre_command, f"{{{SUG_NS}}}GBCSPayload").text = base64.b64encode(payload).decode()
        await gateway._journal(request, service, MessageState.ANSWERED, "I0", received_at, log_seq=log_seq)
        return 200, _XML, gateway._sign(root), [(b"x-duis-response-code", b"I0")]

    async def signed_pre_command(self, gateway: GatewayParts, request: DuisRequest, service: WebService,
                                 xml_key: KeyEntry, body: bytes, received_at: datetime) -> Answer:
        """A Signed Pre-Command: authorised, matched to its Pre-Command, its signature checked, logged, I99."""
        assert gateway.index is not None and gateway.log is not None
        decision = authorise(gateway.index, request, service, received_at)
        verdict: Verdict
        if not decision.accepted:
            assert decision.code is not None
            verdict = Verdict(decision.code, decision.explanation)
        elif request.body != SIGNED_PRE_COMMAND:
            verdict = Verdict("E12", f"Command Variant {request.command_variant} is for a Signed Pre-Command: its "
                                     f"Body must be a SignedPreCommand, not {request.body[:40]}. Send the request "
                                     "itself to Transform with Command Variant 4 first.")
        elif request.command_variant not in SIGNED_PRE_COMMAND_VARIANTS:
            verdict = Verdict("E12", f"A SignedPreCommand is sent with Command Variant 5, 6 or 7, not "
                                     f"{request.command_variant}.")
        else:
            verdict = Verdict(None)
        rid = request.request_id
        key = (rid.originator, rid.counter)
        if verdict.code is None and key in self._in_flight:
            verdict = Verdict(E_NO_PRE_COMMAND, f"A Signed Pre-Command for RequestID {rid} is being processed now: "
                                                "each Pre-Command is accepted once.")
        if verdict.code is not None:
            return await self._refuse(gateway, request, service, verdict, received_at)
        self._in_flight.add(key)
        try:
            issued = await asyncio.to_thread(self._find, *key)
            verdict = check_signed_pre_command(request, issued, xml_key, self.commands, received_at,
                                               settings=self.settings)
            if verdict.code is not None:
                return await self._refuse(gateway, request, service, verdict, received_at)
            assert issued is not None and verdict.certificate is not None
            # the counter is the Transform request's, logged already: not held to the increasing counter
            record = await gateway.log.append(originator=rid.originator, counter=rid.counter, service=service.value,
                                              received_at=received_at, body=body,
                                              check_counter=False)
            await asyncio.to_thread(self._accept, issued.id, verdict.certificate.serial, received_at)
        finally:
            self._in_flight.discard(key)
        await gateway._journal(request, service, MessageState.ACKNOWLEDGED, "I99", received_at, log_seq=record.seq)
        if gateway.work is not None:  # the simulator's process completes it (the jetstream engine)
            await gateway.work.publish(record.seq, received_at, body)
        elif gateway.responses is not None:  # the device simulator completes it, as any Send Command request
            await gateway.responses.submit(request, log_seq=record.seq, received_at=received_at)
        return 200, _XML, gateway._sign(acknowledgement(request, received_at)), [(b"x-duis-response-code", b"I99")]

    async def _refuse(self, gateway: GatewayParts, request: DuisRequest, service: WebService, verdict: Verdict,
                      received_at: datetime) -> Answer:
        assert verdict.code is not None
        await gateway._journal(request, service, MessageState.REFUSED, verdict.code, received_at,
                               explanation=verdict.explanation)
        return gateway._answer(request, verdict.code, received_at, verdict.explanation)
