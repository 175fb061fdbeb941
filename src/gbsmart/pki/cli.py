"""`gbsmart pki`: create the test PKI that signs CPL extracts, issue test organisation certificates that sign CPL
submissions, and show what is configured. Never prints a key."""

from __future__ import annotations

import re
import stat
from datetime import datetime
from pathlib import Path

import typer
from cryptography import x509
from rich.markup import escape
from rich.table import Table

from gbsmart.config import get_settings
from gbsmart.core import cli_support
from gbsmart.core.cli_support import console, friendly_errors
from gbsmart.core.errors import AppError, Conflict, Invalid
from gbsmart.core.signing import (
    TestPki,
    common_name,
    create_test_pki,
    fingerprint,
    load_certificate,
    load_certificates,
    verify_chain,
    write_certificates,
    write_private_key,
)
from gbsmart.cpl.extracts import signer_refusals

app = typer.Typer(help="Keys and certificates: the test PKI whose SECAS certificate signs CPL extracts and whose "
                       "organisation certificates sign CPL submissions.",
                  no_args_is_help=True)


def _now() -> datetime:  # the CLI's injectable clock (tests move it)
    return cli_support._clock.now()


def _key_usage(cert: x509.Certificate) -> str:
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return "-"
    names = {"digital_signature": "digitalSignature", "key_cert_sign": "keyCertSign", "crl_sign": "cRLSign",
             "content_commitment": "nonRepudiation", "key_encipherment": "keyEncipherment"}
    return ", ".join(label for attr, label in names.items() if getattr(ku, attr))


def _certificate_table(title: str, files: list[Path]) -> Table:
    now = _now()
    table = Table(title=title)
    for col in ("file", "subject (CN)", "issuer (CN)", "valid", "key usage", "SHA-256 fingerprint"):
        table.add_column(col, overflow="fold")
    for path in files:
        if not path.exists():
            table.add_row(str(path), "[dim]missing[/]", "", "", "", "")
            continue
        for cert in load_certificates(path):
            issuer = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
            current = cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
            valid = (f"{cert.not_valid_before_utc:%Y-%m-%d} → {cert.not_valid_after_utc:%Y-%m-%d}"
                     + ("" if current else " [red](not valid now)[/]"))
            table.add_row(path.name, common_name(cert), str(issuer[0].value) if issuer else "", valid,
                          _key_usage(cert), fingerprint(cert)[:23] + "…")
    return table


def _key_line(path: Path) -> str:
    if not path.exists():
        return f"{path}  [dim]missing[/]"
    mode = stat.S_IMODE(path.stat().st_mode)
    warn = "" if mode & 0o077 == 0 else "  [red]readable by others: chmod 600[/]"
    return f"{path}  mode {mode:04o}{warn}"


@app.command("init-test")
def init_test(
    directory: Path = typer.Option(None, "--dir", help="Where to write it (default: the configured pki_dir)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing PKI (its keys are lost)."),
    signer_days: int = typer.Option(730, help="Days the SECAS signing certificate is valid."),
) -> None:
    """Create a test PKI: root CA, organisation CA and the SECAS (on behalf of the SEC Panel) signer."""
    settings = get_settings()
    target = directory or settings.resolved_pki_dir()
    with friendly_errors():
        pki = create_test_pki(target, now=_now(), force=force, signer_days=signer_days)
    console.print(f"[green]✓[/] test PKI created in {pki.directory} (keys 0600, never printed)")
    console.print(_certificate_table("Certificates", [pki.root_certificate, pki.organisation_ca_certificate,
                                                       pki.signer_certificate]))
    console.print(f"trust anchor (DCC):   {pki.root_certificate}")
    console.print(f"signing key (SECAS):  {pki.signer_key}")
    console.print(f"signing certificate:  {pki.signer_chain}")
    pin = fingerprint(load_certificate(pki.signer_certificate))
    console.print(escape(f"CPL signer pin (DCC): GBSMART_CPL_SIGNER_FINGERPRINTS='[\"{pin}\"]'"), soft_wrap=True)
    console.print("  [dim]on this machine it is pinned already while GBSMART_CPL_SIGNER_FINGERPRINTS is unset; a DCC "
                  "elsewhere sets it (docs/cpl-extracts.md)[/]", soft_wrap=True)
    if directory is not None and directory.resolve() != settings.resolved_pki_dir().resolve():
        console.print(f"[yellow]note:[/] set GBSMART_PKI_DIR={directory} so that gbsmart uses this PKI")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "organisation"


@app.command("issue-organisation")
def issue_organisation(
    organisation: str = typer.Argument(..., help="The organisation, exactly as gbsmart knows it (its O= name)."),
    directory: Path = typer.Option(None, "--dir", help="The test PKI (default: the configured pki_dir)."),
    out: Path = typer.Option(None, "--out", help="Where to write the key and chain (default <pki>/organisations)."),
    common_name_: str = typer.Option(None, "--common-name", help="The certificate's CN (default the organisation)."),
    days: int = typer.Option(730, help="Days the certificate is valid."),
    force: bool = typer.Option(False, "--force", help="Replace this organisation's existing key and certificate."),
) -> None:
    """Issue a test organisation certificate (digitalSignature, EKU documentSigning) from the test PKI's
    organisation CA: what a manufacturer or Supplier signs CPL submissions with (`gbsmart cpl sign-submission`)."""
    settings = get_settings()
    pki = TestPki(directory or settings.resolved_pki_dir())
    target = out or pki.directory / "organisations"
    slug = _slug(organisation)
    key_path, chain_path = target / f"{slug}.key", target / f"{slug}-chain.pem"
    with friendly_errors():
        if not organisation.strip():
            raise Invalid("name the organisation the certificate is for")
        if not pki.organisation_ca_key.exists():
            raise Invalid(f"no test PKI in {pki.directory}: create it first with `gbsmart pki init-test`")
        if {p.resolve() for p in (key_path, chain_path)} & {p.resolve() for p in pki.files()}:
            raise Invalid(f"{key_path.name} or {chain_path.name} is one of the test PKI's own files; choose another "
                          "--out or organisation name")
        if (key_path.exists() or chain_path.exists()) and not force:
            raise Conflict(f"{key_path.name} or {chain_path.name} already exists in {target}; use --force to replace "
                           "them (the old key is lost)")
        key, cert = pki.issue_organisation_certificate(common_name_ or organisation.strip(), now=_now(),
                                                       organisation=organisation.strip(), days=days)
        write_private_key(key_path, key)
        write_certificates(chain_path, cert, load_certificate(pki.organisation_ca_certificate))
    console.print(f"[green]✓[/] organisation certificate for [bold]{organisation.strip()}[/] issued by "
                  f"{common_name(load_certificate(pki.organisation_ca_certificate))} (key 0600, never printed)")
    console.print(_certificate_table("Organisation certificate", [chain_path]))
    console.print(f"signing key:          {key_path}")
    console.print(f"certificate chain:    {chain_path}")
    console.print(f"sign a submission:    gbsmart cpl sign-submission FILE.json --key {key_path} --cert {chain_path}")


@app.command("show")
def show(
    directory: Path = typer.Option(None, "--dir", help="A PKI directory (default: the configured pki_dir)."),
) -> None:
    """Show the configured trust anchor, signing certificate and key (path and permissions only)."""
    settings = get_settings()
    pki = TestPki(directory or settings.resolved_pki_dir())
    if directory is not None:
        anchor, chain, key = pki.root_certificate, pki.signer_chain, pki.signer_key
    else:
        anchor = settings.resolved_cpl_trust_anchor()
        chain = settings.resolved_cpl_signing_certificate()
        key = settings.resolved_cpl_signing_key()
    console.print(f"PKI directory: {pki.directory}")
    with friendly_errors():
        console.print(_certificate_table("Trust anchor and signing certificates", [anchor, chain]))
    console.print(f"signing key: {_key_line(key)}")
    if directory is None:
        pinned = settings.cpl_signer_fingerprints
        console.print("pinned CPL signers: " + (", ".join(pinned) if pinned else
                      "GBSMART_CPL_SIGNER_FINGERPRINTS is unset, so the signing certificate's own"), soft_wrap=True)
    if anchor.exists() and chain.exists():
        try:
            certs = load_certificates(chain)
            console.print(f"signing certificate SHA-256: {fingerprint(certs[0])}", soft_wrap=True)
            path = verify_chain(certs[0], intermediates=certs[1:], anchors=load_certificates(anchor), at=_now())
            console.print("[green]✓[/] the signing certificate chains to the trust anchor: "
                          + " → ".join(common_name(c) for c in path))
            refusals: list[str] = signer_refusals(certs[0], settings) if directory is None else []
            if refusals:
                raise Invalid(f"the signing certificate may not sign CPL extracts: {'; '.join(refusals)}")
            if directory is None:
                console.print(f"[green]✓[/] the signing certificate is the CPL signer (pinned, "
                              f"O={escape(settings.cpl_signer_organisation)}, {settings.cpl_signer_oid})")
        except AppError as exc:
            console.print(f"[red]✗[/] {escape(exc.message)}", soft_wrap=True)
            raise typer.Exit(1) from None
