"""`gbsmart alerts add-source / sources / inject`: the sources that may POST device alerts to the gateway, and a
signed batch injected to try it. ``register(app)`` adds them to the ``gbsmart alerts`` group (``alerts.cli``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import typer
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from gbsmart.config import Settings, get_settings
from gbsmart.core.cli_support import console, err_console, friendly_errors
from gbsmart.core.errors import AppError, Invalid

#: the source `alerts inject` signs as by default, with a test key (only while GBSMART_GATEWAY_ALLOW_TEST_KEYS)
TEST_SOURCE = "test-source"


def add_source(
    name: str = typer.Argument(..., help="The alert source's name (1-16 of a-z, 0-9, -), e.g. csp-north."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Its certificate (PEM, P-256 key)."),
) -> None:
    """Trust a certificate for the alert batches a source signs (a running gateway reloads it)."""
    from gbsmart.alerts.source_api import save_source

    with friendly_errors():
        try:
            certs = save_source(get_settings(), name, file.read_bytes())
        except ValueError as exc:
            raise Invalid(str(exc)) from None
    for cert in certs:
        console.print(f"[green]✓[/] source {name}: certificate serial {cert.serial_number} "
                      f"({cert.subject.rfc4514_string()[:80]})")


def sources() -> None:
    """List the registered alert sources and their certificates."""
    from gbsmart.alerts.source_api import load_sources

    found = load_sources(get_settings())
    if not found:
        console.print("no alert sources registered: `gbsmart alerts add-source NAME CERT.pem`")
    for name, certs in sorted(found.items()):
        for cert in certs:
            console.print(f"{name}\tserial {cert.serial_number}\tvalid to {cert.not_valid_after_utc:%Y-%m-%d}")


def source_test_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    """The test key of ``TEST_SOURCE`` (made and registered on first use), if test keys are allowed."""
    from gbsmart.alerts.source_api import save_source
    from gbsmart.core.signing import load_private_key, write_private_key
    from gbsmart.gateway.store import TEST_KEY_NAME

    if not settings.gateway_allow_test_keys:
        raise Invalid("Test keys are off: set GBSMART_GATEWAY_ALLOW_TEST_KEYS=true to let `alerts inject` make one "
                      "and have the gateway trust it (never in production), or sign with a registered source's "
                      "key: --source NAME --key KEY.pem.")
    path = settings.resolved_gateway_dir() / "test-keys" / f"alert-source-{TEST_SOURCE}.key"
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TEST_KEY_NAME)])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=3650)).sign(key, hashes.SHA256()))
        write_private_key(path, key)
        save_source(settings, TEST_SOURCE, cert.public_bytes(Encoding.PEM))
    loaded = load_private_key(path)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    return loaded


def inject(
    device: str = typer.Option(..., "--device", help="The Device ID (EUI-64) that raises the alert."),
    code: str = typer.Option(..., "--code", help="GBCS alert code (8F3E) or a hub's power notice (CHPL, CHPR)."),
    count: int = typer.Option(1, "--count", min=1, max=5000, help="How many (one batch)."),
    url: str = typer.Option("http://127.0.0.1:8081", help="The gateway (`gbsmart gateway serve`)."),
    source: str = typer.Option(TEST_SOURCE, help="The registered source to sign as."),
    key: Path | None = typer.Option(None, exists=True, dir_okay=False, help="The source's private key (PEM); "
                                    "default a test key (GBSMART_GATEWAY_ALLOW_TEST_KEYS=true)."),
) -> None:
    """POST a signed batch of device alerts to a running gateway's /api/v1/alerts and show what became of it."""
    from gbsmart.alerts.source_api import PATH, sign_body
    from gbsmart.core.signing import load_private_key

    settings = get_settings()
    with friendly_errors():
        if key is None:
            if source != TEST_SOURCE:
                raise Invalid(f"--key is needed to sign as source {source}")
            signing_key = source_test_key(settings)
        else:
            loaded = load_private_key(key)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise Invalid(f"{key} is not an ECDSA P-256 key")
            signing_key = loaded
        now = datetime.now(UTC).isoformat()
        body = json.dumps({"sent_at": now, "alerts": [{"device_id": device, "code": code, "at": now}] * count}
                          ).encode()
        try:
            response = httpx.post(f"{url.rstrip('/')}{PATH}", content=body, timeout=30, headers={
                "content-type": "application/json", "x-alert-source": source,
                "x-alert-signature": sign_body(body, signing_key)})
        except httpx.TransportError as exc:
            raise AppError(f"could not reach the gateway at {url}: {exc}. Is `gbsmart gateway serve` running there?",
                           status=503) from None
    if response.status_code == 401 and key is None:
        err_console.print("[yellow]the gateway does not know the test source yet: it reloads sources every few "
                          "seconds (and trusts test keys only with GBSMART_GATEWAY_ALLOW_TEST_KEYS=true)[/]")
    console.print(f"HTTP {response.status_code}: {response.text.strip()}")
    if response.status_code >= 300:
        raise typer.Exit(1)


def register(target: typer.Typer) -> None:
    """Add ``add-source``, ``sources`` and ``inject`` to the ``gbsmart alerts`` app."""
    target.command("add-source")(add_source)
    target.command("sources")(sources)
    target.command("inject")(inject)
