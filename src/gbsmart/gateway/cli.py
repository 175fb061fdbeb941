"""`gbsmart gateway`: serve the DCC gateway, and load the certificates DUIS requests are verified against."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from gbsmart.config import get_settings
from gbsmart.core.cli_support import console, friendly_errors

app = typer.Typer(help="The DCC gateway: DUIS requests over HTTP on DCC Boxed's paths (docs/gateway.md).",
                  no_args_is_help=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8081, help="Port to listen on."),
    workers: int | None = typer.Option(None, min=1, help="HTTP worker processes (default GBSMART_GATEWAY_WORKERS, 1). "
                                "Above 1: a supervisor owns the request log and N workers do the CPU work."),
) -> None:
    """Serve POST /api/v1/serviceS, /serviceT and /serviceD on the same database and settings as `gbsmart serve`."""
    from gbsmart.gateway.server import serve as run

    settings = get_settings()
    workers = workers or settings.gateway_workers
    console.print(f"gbsmart DCC gateway on [bold]http://{host}:{port}[/bold] (POST /api/v1/serviceS, serviceT, "
                  f"serviceD), {workers} worker process{'es' if workers > 1 else ''}")
    console.print(f"database: {settings.resolved_database_url()}")
    with friendly_errors():
        code = run(settings, host, port, workers=workers)
    if code:
        raise typer.Exit(code)


@app.command("add-certificate")
def add_certificate(
    user_id: str = typer.Argument(..., help="The DCC User ID (EUI-64) whose signatures the certificate verifies."),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="PEM (one or more) or DER certificate."),
) -> None:
    """Trust a User's organisation certificate for its DUIS signatures (a running gateway reloads it)."""
    from gbsmart.gateway.store import save_certificates

    with friendly_errors():
        entries = save_certificates(get_settings(), user_id, file.read_bytes(), source=file.name)
    for entry in entries:
        console.print(f"[green]✓[/] {entry.describe()}")


@app.command("load-boxed-jar")
def load_boxed_jar(
    jar: Path = typer.Argument(..., exists=True, dir_okay=False,
                               help="dist/tool.jar of the npm package @smartdcc/duis-sign-wrap."),
    dsp_key: bool = typer.Option(False, "--dsp-key", help="Also sign responses with the DCC Boxed DSP's test key, "
                                                          "as DCC Boxed does (test use only)."),
) -> None:
    """Trust the DCC Boxed test organisations' certificates from the signing tool's jar (test keys only)."""
    from gbsmart.gateway.keystore import load_boxed_jar as load
    from gbsmart.gateway.store import save_boxed_material

    with friendly_errors():
        entries = save_boxed_material(get_settings(), load(jar), dsp_key=dsp_key)
    for entry in entries:
        console.print(f"[green]✓[/] {entry.describe()}")
    if dsp_key:
        console.print("[green]✓[/] responses are signed with the DCC Boxed DSP key (90-B3-D5-1F-30-00-00-02)")


@app.command()
def certificates() -> None:
    """List the certificates the gateway verifies DUIS signatures against."""
    from gbsmart.gateway.store import load_keystore

    with friendly_errors():
        store = load_keystore(get_settings())
    table = Table(title=f"{len(store)} certificate(s)")
    for col in ("User ID", "serial", "issuer", "valid to"):
        table.add_column(col, overflow="fold")
    for user_id in store.user_ids():
        for entry in store.for_user(user_id):
            table.add_row(user_id, str(entry.serial), entry.issuer, f"{entry.certificate.not_valid_after_utc:%Y-%m-%d}")
    console.print(table)
