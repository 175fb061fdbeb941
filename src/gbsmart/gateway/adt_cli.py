"""`gbsmart gateway adt ...` and `gbsmart gateway quarantine ...`: Anomaly Detection Thresholds and the requests
they hold (docs/gateway.md, "Anomaly detection and quarantine")."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, fail, friendly_errors
from gbsmart.gateway.enums import QuarantineStatus

adt_app = typer.Typer(help="Anomaly Detection Thresholds: per User and SRV, and DCC-wide per SRV.",
                      no_args_is_help=True)
quarantine_app = typer.Typer(help="Requests held by an Anomaly Detection Threshold: list, release or delete.",
                             no_args_is_help=True)

_AS = typer.Option(None, "--as", help="Act as this person (checked: a Senior or Authorised Responsible Officer of "
                                      "the User's organisation); default: the DCC's operator, for a file the User "
                                      "sent another way.")


def _signature(file: Path, signature: Path | None) -> bytes:
    path = signature or file.with_name(file.name + ".sig")
    if not path.is_file():
        fail(f"no signature {path}: sign the file (`gbsmart gateway adt sign`) or name it with --signature")
    return path.read_bytes()


def _count(value: int | None) -> str:
    return "—" if value is None else str(value)


@adt_app.command("set")
def set_(
    srv: str = typer.Argument(..., help="The Service Reference Variant, e.g. 4.1.1."),
    user: str | None = typer.Option(None, "--user", help="The User ID whose thresholds these are."),
    dcc: bool = typer.Option(False, "--dcc", help="Set the DCC-wide quarantine threshold, across all Users."),
    warning: int | None = typer.Option(None, help="More requests than this in a period: the User is warned."),
    quarantine: int | None = typer.Option(None, help="More than this: further requests are quarantined."),
    period: int | None = typer.Option(None, help="The period in seconds (default GBSMART_ADT_PERIOD_SECONDS)."),
) -> None:
    """Set thresholds as the DCC (a User sends a signed ADT file: `gbsmart gateway adt upload`)."""
    from gbsmart.gateway import adt_service

    if dcc == (user is not None):
        fail("give --user USER_ID for a User's thresholds or --dcc for the DCC-wide one")
    with friendly_errors(), cli_ctx() as ctx:
        if dcc:
            if warning is not None:
                fail("the DCC-wide threshold is a quarantine threshold only: drop --warning")
            row = adt_service.set_dcc_threshold(ctx, srv, quarantine=quarantine, period_seconds=period)
            console.print(f"[green]✓[/] DCC-wide {srv}: " + (f"quarantine over {row.quarantine} a "
                                                            f"{row.period_seconds} s period" if row else "none"))
            return
        assert user is not None
        t = adt_service.set_threshold(ctx, user, srv, warning=warning, quarantine=quarantine, period_seconds=period)
        console.print(f"[green]✓[/] {t.user_id} {t.srv}: warning over {_count(t.warning)}, quarantine over "
                      f"{_count(t.quarantine)}, per {t.period_seconds} s")


@adt_app.command()
def show(user: str | None = typer.Option(None, "--user", help="Only this User ID's thresholds.")) -> None:
    """The thresholds in force: each User's, the DCC-wide ones, and the defaults for the rest."""
    from gbsmart.gateway import adt_service
    from gbsmart.gateway.keystore import eui64

    with friendly_errors(), cli_ctx() as ctx:
        rows = adt_service.thresholds(ctx, [eui64(user)] if user else None)
        table = Table(title=f"{len(rows)} User threshold(s)")
        for col in ("User ID", "SRV", "warning over", "quarantine over", "period (s)", "set", "by"):
            table.add_column(col, overflow="fold")
        for t in rows:
            table.add_row(t.user_id, t.srv, _count(t.warning), _count(t.quarantine), str(t.period_seconds),
                          f"{t.set_at:%Y-%m-%d %H:%M}", t.set_by)
        console.print(table)
        wide = Table(title="DCC-wide thresholds")
        for col in ("SRV", "quarantine over", "period (s)", "set", "by"):
            wide.add_column(col)
        for d in adt_service.dcc_thresholds(ctx):
            wide.add_row(d.srv, str(d.quarantine), str(d.period_seconds), f"{d.set_at:%Y-%m-%d %H:%M}", d.set_by)
        console.print(wide)
        s = ctx.settings
        console.print(f"defaults: period {s.adt_period_seconds} s, warning over {_count(s.adt_default_warning)}, "
                      f"quarantine over {_count(s.adt_default_quarantine)}, DCC-wide over "
                      f"{_count(s.adt_dcc_default_quarantine)}")


@adt_app.command()
def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The ADT file (CSV)."),
    signature: Path | None = typer.Option(None, help="Its detached signature (base64); default FILE.sig."),
    acting_as: str | None = _AS,
) -> None:
    """Set a User's thresholds from a signed ADT file (checked against the User's certificate in the keystore)."""
    from gbsmart.gateway import adt_service
    from gbsmart.gateway.store import load_keystore

    sig = _signature(file, signature)
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        rows = adt_service.upload_adt_file(ctx, file.read_bytes(), sig, load_keystore(ctx.settings))
        changes = adt_service.file_changes(ctx, rows[0].file_sha256 or "") if rows else []
    for c in changes:  # what the file changed: before -> after
        was = "the default" if c.new else f"{_count(c.warning_before)} / {_count(c.quarantine_before)}"
        console.print(f"[green]✓[/] {c.user_id} {c.srv}: warning over {_count(c.warning)}, quarantine over "
                      f"{_count(c.quarantine)}, per {c.period_seconds} s (was {was})")
    console.print("a running gateway applies them at its next refresh")


@adt_app.command()
def sign(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The ADT or action file to sign."),
    key: Path = typer.Option(..., exists=True, dir_okay=False, help="The signer's ECDSA P-256 private key (PEM)."),
) -> None:
    """Write FILE.sig, the detached signature of FILE (for test keys: a User signs on its own side)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from gbsmart.core.signing import load_private_key
    from gbsmart.gateway.adt import sign_file

    loaded = load_private_key(key)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        fail(f"{key} is not an ECDSA key: ADT and action files are signed with ECDSA P-256")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    out = file.with_name(file.name + ".sig")
    out.write_text(sign_file(file.read_bytes(), loaded) + "\n")
    console.print(f"[green]✓[/] {out}")


@adt_app.command("add-officer")
def add_officer(
    username: str = typer.Argument(..., help="The person (a Senior or Authorised Responsible Officer)."),
    certificate: Path = typer.Argument(..., exists=True, dir_okay=False, help="Their certificate, PEM or DER."),
) -> None:
    """Register the certificate whose key a responsible officer signs action files with."""
    from gbsmart.gateway import adt_service

    with friendly_errors(), cli_ctx() as ctx:
        row = adt_service.add_officer_certificate(ctx, username, certificate.read_bytes())
    console.print(f"[green]✓[/] {username}: certificate SHA-256 {row.fingerprint}")


@quarantine_app.command("list")
def list_(
    user: str | None = typer.Option(None, "--user", help="Only this User ID's requests."),
    status: QuarantineStatus | None = typer.Option(None, help="Only this status."),
) -> None:
    """The quarantined requests, newest first, with what became of them."""
    from gbsmart.gateway import adt_service

    with friendly_errors(), cli_ctx() as ctx:
        rows = adt_service.quarantined(ctx, status=status, user_id=user)
        table = Table(title=f"{len(rows)} quarantined request(s)")
        for col in ("RequestID", "SRV", "breach", "count / threshold", "received", "status", "by"):
            table.add_column(col, overflow="fold")
        for q in rows:
            table.add_row(q.request_id, q.srv, q.breach, f"{q.count} / {q.threshold}",
                          f"{q.received_at:%Y-%m-%d %H:%M}", QuarantineStatus(q.status).label, q.actioned_by or "")
        console.print(table)


@quarantine_app.command()
def action(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The action file (CSV)."),
    signature: Path | None = typer.Option(None, help="Its detached signature (base64); default FILE.sig."),
    acting_as: str | None = _AS,
) -> None:
    """Release or delete quarantined requests by an action file a responsible officer signed."""
    from gbsmart.gateway import adt_service

    sig = _signature(file, signature)
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        outcome = adt_service.apply_action_file(ctx, file.read_bytes(), sig)
    for q in outcome.released:
        console.print(f"[green]✓[/] released {q.request_id} (the gateway processes it at its next refresh)")
    for q in outcome.deleted:
        console.print(f"[green]✓[/] deleted {q.request_id}")
    console.print(f"signed by {outcome.officer}")
