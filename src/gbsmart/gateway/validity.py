"""Certificate validity: a signing certificate is checked against its validity dates at the request's receipt.

``check_validity`` is called for the certificate that signed a request's DUIS XML and for the one that signed a
Signed Pre-Command's GBCS payload. Inside its dates: nothing happens. Outside them, the policy setting
``gateway_certificate_validity`` decides: ``enforce`` (the default) refuses with ``CertificateOutsideValidity``,
a message naming the certificate, its dates and the receipt time; ``warn`` accepts and logs that message as a
warning (at most once a minute per certificate, so a busy User does not flood the log).

The DCC Boxed test organisations' certificates (most expired in October 2025) are marked as test certificates
when ``gbsmart gateway load-boxed-jar`` saves them: an empty ``SERIAL.test`` file beside ``SERIAL.pem``. Under
``enforce`` such a certificate is still accepted past its expiry (with the warning) when
``gateway_allow_expired_test_certificates`` is on, which ``scripts/run`` sets for the demo; never one that is
not yet valid, and never a certificate that was not loaded from the jar.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from gbsmart.config import Settings
from gbsmart.gateway.errors import DuisRefused
from gbsmart.gateway.keystore import KeyEntry

log = logging.getLogger("gbsmart.gateway.validity")

#: the suffix of the marker file beside a test certificate's ``SERIAL.pem``
TEST_MARKER = ".test"
_WARN_EVERY_SECONDS = 60.0
_warned: dict[tuple[str, int], float] = {}


class CertificateOutsideValidity(DuisRefused):
    """The signing certificate is outside its validity dates at the request's receipt (policy enforce)."""


def mark_test_certificate(pem_path: Path) -> Path:
    """Mark the certificate saved at ``pem_path`` (``.../SERIAL.pem``) as a test certificate (DCC Boxed's)."""
    marker = pem_path.with_suffix(TEST_MARKER)
    marker.write_text("a DCC Boxed test certificate, loaded from the signing tool's jar\n")
    return marker


def is_test_certificate(directory: Path, entry: KeyEntry) -> bool:
    """Whether ``entry`` was saved under ``directory`` (``USER-ID/SERIAL.pem``) and marked a test certificate."""
    return (directory / entry.user_id / f"{entry.serial}{TEST_MARKER}").exists()


def _stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S} UTC"


def _warn(entry: KeyEntry, message: str) -> None:
    key, now = (entry.issuer, entry.serial), time.monotonic()
    if now - _warned.get(key, -_WARN_EVERY_SECONDS) >= _WARN_EVERY_SECONDS:
        _warned[key] = now
        log.warning("%s", message)


def check_validity(settings: Settings, entry: KeyEntry, at: datetime, *, what: str, directory: Path) -> None:
    """Refuse (or, by policy, warn about) ``entry`` if ``at`` is outside its validity dates.

    ``what`` names the certificate's use in the message ("DUIS XML signing", "command signing"); ``directory``
    is where it was loaded from (for the test-certificate marker).
    """
    cert = entry.certificate
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if start <= at <= end:
        return
    state = f"expired on {_stamp(end)}" if at > end else f"is not valid until {_stamp(start)}"
    message = (f"the {what} {entry.describe()} {state}: it is valid from {_stamp(start)} to {_stamp(end)}, and "
               f"the request was received at {_stamp(at)}")
    if settings.gateway_certificate_validity == "warn":
        _warn(entry, f"{message}; accepted because GBSMART_GATEWAY_CERTIFICATE_VALIDITY is warn")
        return
    if at > end and settings.gateway_allow_expired_test_certificates and is_test_certificate(directory, entry):
        _warn(entry, f"{message}; accepted because it is a DCC Boxed test certificate and "
                     "GBSMART_GATEWAY_ALLOW_EXPIRED_TEST_CERTIFICATES is on")
        return
    raise CertificateOutsideValidity(
        f"{message[:1].upper()}{message[1:]}. Renew the certificate and load the new one (`gbsmart gateway "
        "add-certificate`); for DCC Boxed's expired test certificates, run the gateway with "
        "GBSMART_GATEWAY_ALLOW_EXPIRED_TEST_CERTIFICATES=true (scripts/run does)")
