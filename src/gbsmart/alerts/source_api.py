"""``POST /api/v1/alerts`` on the gateway: device alerts in batches from a CSP or the device simulator, signed.

The request::

    POST /api/v1/alerts
    Content-Type: application/json
    X-Alert-Source: csp-north                       (a registered alert source's name)
    X-Alert-Signature: MEUCIQ...                    (base64 of the DER ECDSA P-256 / SHA-256 signature of the body)

    {"sent_at": "2026-12-04T12:00:00Z",
     "alerts": [{"device_id": "00-DB-12-34-56-78-90-A0", "code": "8F3E", "at": "2026-12-04T11:59:59Z",
                 "gbcs_payload_b64": "..."}]}

The signature is over the exact bytes of the body, by the private key of a certificate registered for the
source (``gbsmart alerts add-source NAME CERT.pem``: ``gateway_dir/alert-sources/NAME.pem``; no shared
secret). ``sent_at`` must be within ``alerts_api_max_skew_seconds`` of the gateway's clock and a signature is
accepted once within that time: a replayed batch is refused. Refusals, each with a plain message (JSON
``{"error", "detail"?}``): 415 not JSON; 413 too large; 401 unsigned or an unknown source; 403 a signature that
does not verify; 409 replayed or stale; 400 malformed, with field-level messages (``alerts[3].device_id``); 503
while the intake is not running; 429 with ``Retry-After`` while the intake is full (``AlertIntake.admits``:
``alerts_intake_max_pending`` ordinary alerts in progress), said at once rather than holding the batch: send it
again (re-signed, with a fresh ``sent_at``) after that many seconds. A batch of power notices and exclusion-list
alerts only is never refused as full: a CSP sends those in batches of their own to have them taken through a
storm. A batch is taken whole or not at all (a 429 takes none of it). Accepted: 202 with the counts by outcome;
an alert from a device not in the SMI is accepted and recorded ``unknown_device`` (nothing is sent for it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from gbsmart.alerts.catalogue import normalise_code
from gbsmart.alerts.intake import AlertIntake, DeviceAlert
from gbsmart.config import Settings
from gbsmart.core.clock import Clock
from gbsmart.core.signing import certificate_pem, load_certificates
from gbsmart.gateway.store import is_test_key

log = logging.getLogger("gbsmart.alerts")
PATH = "/api/v1/alerts"
JSON = b"application/json"
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,15}")
_EUI = re.compile(r"[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){7}")
_ECDSA = ec.ECDSA(hashes.SHA256())
Receive = Callable[[], Awaitable[dict[str, Any]]]
Answer = tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]


class Refused(Exception):
    def __init__(self, status: int, message: str, detail: list[dict[str, str]] | None = None,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.detail, self.headers = status, message, detail, headers or []


def sources_dir(settings: Settings) -> Path:
    return settings.resolved_gateway_dir() / "alert-sources"


def check_source_name(name: str) -> str:
    if not SOURCE_NAME.fullmatch(name):
        raise ValueError(f"alert source name {name[:40]!r}: use 1 to 16 lower-case letters, digits and dashes "
                         "(e.g. csp-north)")
    return name


def load_sources(settings: Settings) -> dict[str, list[x509.Certificate]]:
    """Source name -> its certificates (test keys only while ``gateway_allow_test_keys`` is set)."""
    out: dict[str, list[x509.Certificate]] = {}
    root = sources_dir(settings)
    if root.is_dir():
        for path in sorted(root.glob("*.pem")):
            certs = [c for c in load_certificates(path)
                     if settings.gateway_allow_test_keys or not is_test_key(c)]
            if certs:
                out[path.stem] = certs
    return out


def save_source(settings: Settings, name: str, data: bytes) -> list[x509.Certificate]:
    """Register the P-256 certificate(s) in ``data`` (PEM) for alert source ``name``, added to any it has."""
    check_source_name(name)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError("the file holds no PEM certificate: give the alert source's certificate in PEM") from None
    for cert in certs:
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise ValueError(f"certificate serial {cert.serial_number} has no P-256 key: alert batches are signed "
                             "with ECDSA P-256")
    path = sources_dir(settings) / f"{name}.pem"
    existing = load_certificates(path) if path.exists() else []
    known = {c.fingerprint(hashes.SHA256()) for c in existing}
    merged = existing + [c for c in certs if c.fingerprint(hashes.SHA256()) not in known]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(certificate_pem(*merged))
    return certs


def sign_body(body: bytes, key: ec.EllipticCurvePrivateKey) -> str:
    """The X-Alert-Signature value of ``body``."""
    return base64.b64encode(key.sign(body, _ECDSA)).decode()


def _field_errors(data: Any, max_batch: int) -> tuple[list[dict[str, str]], list[DeviceAlert], datetime | None]:
    errors: list[dict[str, str]] = []
    alerts: list[DeviceAlert] = []
    if not isinstance(data, dict):
        return [{"field": "(body)", "message": 'must be a JSON object {"sent_at": ..., "alerts": [...]}'}], [], None
    for key in sorted(set(data) - {"sent_at", "alerts"}):
        errors.append({"field": str(key)[:40], "message": "unknown field (a batch has sent_at and alerts)"})
    sent_at = _time(data.get("sent_at"), "sent_at", errors)
    items = data.get("alerts")
    if not isinstance(items, list) or not items:
        errors.append({"field": "alerts", "message": "must be a non-empty list of alerts"})
        return errors, [], sent_at
    if len(items) > max_batch:
        errors.append({"field": "alerts", "message": f"{len(items)} alerts: send at most {max_batch} a batch"})
        return errors, [], sent_at
    for i, item in enumerate(items):
        where = f"alerts[{i}]"
        if len(errors) >= 20:
            break
        if not isinstance(item, dict):
            errors.append({"field": where, "message": "must be an object with device_id, code and at"})
            continue
        for key in sorted(set(item) - {"device_id", "code", "at", "gbcs_payload_b64"}):
            errors.append({"field": f"{where}.{str(key)[:40]}", "message": "unknown field"})
        device = item.get("device_id")
        if not isinstance(device, str) or not _EUI.fullmatch(device):
            errors.append({"field": f"{where}.device_id", "message": "must be an EUI-64 such as "
                                                                     "00-DB-12-34-56-78-90-A0"})
            device = None
        code = item.get("code")
        try:
            code = normalise_code(code) if isinstance(code, str) else None
            if code is None:
                raise ValueError("must be a GBCS alert code such as 8F3E")
        except ValueError as exc:
            errors.append({"field": f"{where}.code", "message": str(exc)})
            code = None
        at = _time(item.get("at"), f"{where}.at", errors)
        payload = b""
        raw = item.get("gbcs_payload_b64")
        if raw is not None:
            try:
                payload = base64.b64decode(raw, validate=True) if isinstance(raw, str) else b"\0" * 10_000
                if len(payload) > 4096:
                    raise ValueError
            except (binascii.Error, ValueError):
                errors.append({"field": f"{where}.gbcs_payload_b64", "message": "must be base64, at most 4096 bytes"})
        if device and code and at:
            alerts.append(DeviceAlert(device.upper(), code, at, payload))
    return errors, alerts, sent_at


def _time(value: Any, where: str, errors: list[dict[str, str]]) -> datetime | None:
    if not isinstance(value, str):
        errors.append({"field": where, "message": "must be an ISO 8601 time with its offset, e.g. "
                                                  "2026-12-04T12:00:00Z"})
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors.append({"field": where, "message": f"{value[:40]!r} is not an ISO 8601 time with its offset, e.g. "
                                                  "2026-12-04T12:00:00Z"})
        return None
    return parsed


class AlertSourceApi:
    """The route's handler: ``handle(scope, receive)`` answers (status, content type, body, headers)."""

    def __init__(self, settings: Settings, clock: Clock, intake: Callable[[], AlertIntake | None]) -> None:
        self.settings, self.clock, self._intake = settings, clock, intake
        self.sources = load_sources(settings)
        self._seen: OrderedDict[bytes, datetime] = OrderedDict()  # signatures accepted within the skew
        self.refusals: dict[int, int] = {}  # HTTP status -> batches refused with it (also logged, with the reason)

    def refresh(self) -> None:
        self.sources = load_sources(self.settings)

    async def handle(self, scope: dict[str, Any], receive: Receive) -> Answer:
        try:
            return await self._handle(scope, receive)
        except Refused as exc:
            self.refusals[exc.status] = self.refusals.get(exc.status, 0) + 1
            source = next((v.decode("latin-1")[:40] for k, v in scope.get("headers", ())
                           if k.lower() == b"x-alert-source"), "(no source)")
            if exc.status == 429:  # back-pressure, not a fault: counted, logged quietly
                log.debug("alert batch from %s refused (429): %s", source, exc.message[:300])
            else:
                log.warning("alert batch from %s refused (%d): %s", source, exc.status, exc.message[:300])
            body: dict[str, Any] = {"error": exc.message}
            if exc.detail:
                body["detail"] = exc.detail
            return exc.status, JSON, json.dumps(body).encode(), exc.headers

    async def _handle(self, scope: dict[str, Any], receive: Receive) -> Answer:
        if scope["method"] != "POST":
            raise Refused(405, f"{PATH} takes POST with a signed JSON batch of device alerts (docs/alerts.md)")
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        media = headers.get(b"content-type", "").partition(";")[0].strip().lower()
        if media != "application/json":
            raise Refused(415, f"Content-Type {media or 'missing'!r}: send the batch as application/json")
        body = await self._body(headers, receive)
        source, signature = headers.get(b"x-alert-source"), headers.get(b"x-alert-signature")
        if not source or not signature:
            raise Refused(401, "the batch is not signed: send X-Alert-Source (a registered source's name) and "
                               "X-Alert-Signature (base64 ECDSA P-256 SHA-256 signature of the body)")
        certs = self.sources.get(source)
        if certs is None:
            raise Refused(401, f"alert source {source[:40]!r} is not registered: register its certificate with "
                               "`gbsmart alerts add-source NAME CERT.pem`")
        try:
            der = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            raise Refused(401, "X-Alert-Signature is not base64") from None
        if not any(self._verifies(cert, der, body) for cert in certs):
            raise Refused(403, f"the signature does not match the body and the certificates of source {source}: "
                               "the body was changed after signing, or signed with another key")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise Refused(400, "the body is not valid JSON", [{"field": "(body)", "message": "not valid JSON"}]
                          ) from None
        errors, alerts, sent_at = _field_errors(data, self.settings.alerts_api_max_batch)
        if errors:
            raise Refused(400, f"the batch is not valid: {errors[0]['field']}: {errors[0]['message']}", errors)
        assert sent_at is not None
        now = self.clock.now()
        skew = timedelta(seconds=self.settings.alerts_api_max_skew_seconds)
        if abs(now - sent_at) > skew:
            raise Refused(409, f"sent_at {sent_at.isoformat()} is more than {skew.total_seconds():.0f} s from the "
                               f"DCC's clock ({now.isoformat()}): send the batch again with the current time")
        digest = hashlib.sha256(der).digest()
        self._forget(now - skew)
        if digest in self._seen:
            raise Refused(409, "this signed batch was already accepted: a replay is refused")
        intake = self._intake()
        if intake is None:
            raise Refused(503, "the alert intake is not running on this gateway: try again later")
        if not intake.admits(alerts):
            wait = self.settings.alerts_api_retry_after_seconds
            raise Refused(429, f"the alert intake is full ({intake.pending} alerts in progress): nothing of this "
                               f"batch was taken; send it again in {wait} s (re-signed, with a fresh sent_at). "
                               "Power notices and exclusion-list alerts in batches of their own are always taken",
                          headers=[(b"retry-after", str(wait).encode())])
        self._seen[digest] = now
        try:
            result = await intake.ingest(alerts, source=f"api:{source}")
        except BaseException:
            self._seen.pop(digest, None)  # not accepted: the same signed batch may come again
            raise
        answer = {"accepted": result.accepted, "routed": result.routed, "throttled": result.throttled,
                  "unknown_device": result.unknown_device, "no_recipient": result.no_recipient,
                  "to_outage_tracker": result.to_outage_tracker, "messages": result.messages,
                  "first_alert_id": result.alert_ids[0], "last_alert_id": result.alert_ids[-1]}
        return 202, JSON, json.dumps(answer).encode(), []

    def _forget(self, before: datetime) -> None:
        while self._seen and next(iter(self._seen.values())) < before:
            self._seen.popitem(last=False)

    @staticmethod
    def _verifies(cert: x509.Certificate, der: bytes, body: bytes) -> bool:
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False
        try:
            key.verify(der, body, _ECDSA)
        except (InvalidSignature, ValueError):
            return False
        return True

    async def _body(self, headers: dict[bytes, str], receive: Receive) -> bytes:
        limit = self.settings.alerts_api_max_batch * 400 + 1024
        length = headers.get(b"content-length", "")
        if length.isdigit() and int(length) > limit:
            raise Refused(413, f"the body is {int(length)} bytes; send at most {limit} (smaller batches)")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Refused(400, "the client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"the body is more than {limit} bytes: send smaller batches")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
