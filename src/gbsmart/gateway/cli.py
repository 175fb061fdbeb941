"""`gbsmart gateway`: serve the DCC gateway, and load the certificates DUIS requests are verified against."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from gbsmart.config import get_settings
from gbsmart.core.cli_support import console, err_console, friendly_errors
from gbsmart.gateway.adt_cli import adt_app, quarantine_app

app = typer.Typer(help="The DCC gateway: DUIS requests over HTTP on DCC Boxed's paths (docs/gateway.md).",
                  no_args_is_help=True)
app.add_typer(adt_app, name="adt")
app.add_typer(quarantine_app, name="quarantine")


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
    command_signing: bool = typer.Option(False, "--command-signing", help="Trust it for the User's GBCS command "
                                         "signatures (Signed Pre-Commands) instead of its DUIS XML signatures."),
) -> None:
    """Trust a User's organisation certificate for its DUIS signatures (a running gateway reloads it)."""
    from gbsmart.gateway.store import save_certificates
    from gbsmart.gateway.transform import save_command_certificates

    save = save_command_certificates if command_signing else save_certificates
    with friendly_errors():
        entries = save(get_settings(), user_id, file.read_bytes(), source=file.name)
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


@app.command("log-status")
def log_status() -> None:
    """What the request log holds now: the file, or the JetStream stream, its replicas, the device work and who
    holds the background lease (GBSMART_MESSAGE_ENGINE; docs/jetstream.md)."""
    import asyncio

    settings = get_settings()
    table = Table(show_header=False, title=f"request log ({settings.message_engine} engine)")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    with friendly_errors():
        if settings.message_engine == "jetstream":
            from gbsmart.gateway.jetstream import describe
            from gbsmart.gateway.log import LogClosed

            try:
                found = asyncio.run(describe(settings.nats_urls, settings.nats_stream))
            except LogClosed as exc:
                err_console.print(f"[bold red]error:[/] {exc.args[0]}: start nats-server -js, or correct "
                                  "GBSMART_NATS_URLS")
                raise typer.Exit(1) from None
            if not found["exists"]:
                console.print(f"no stream {found['stream']} yet: the first gateway process on the jetstream engine "
                              "creates it")
                return
            rows = [("stream", found["stream"]), ("subjects", ", ".join(found["subjects"] or [])),
                    ("replicas", str(found["replicas"])), ("records", f"{found['messages']:,}"),
                    ("bytes", f"{found['bytes']:,}"), ("sequence", f"{found['first_seq']:,} to {found['last_seq']:,}")]
            if "leader" in found:
                peers = ", ".join(f"{p['name']} ({'current' if p['current'] else 'behind'}, lag {p['lag'] or 0})"
                                  for p in found["peers"])
                rows += [("leader", found["leader"]), ("other replicas", peers or "none")]
            if "device_work_waiting" in found:
                rows += [("device work waiting", f"{found['device_work_waiting']:,}"),
                         ("device work unacknowledged", f"{found.get('device_work_unacknowledged', 0):,}")]
            if "northbound_messages" in found:
                by_class = ", ".join(f"{name} {n:,}" for name, n in sorted(found["northbound_by_class"].items()))
                rows += [("northbound cache: owed", f"{found['northbound_messages']:,} message(s) to "
                                                    f"{found['northbound_users']:,} User(s)" +
                          (f" ({by_class})" if by_class else "")),
                         ("northbound cache: leader", found.get("northbound_leader") or "-")]
            rows.append(("background lease", found["lease_holder"] or "nobody holds it"))
        else:
            from gbsmart.gateway.store import log_path

            path = log_path(settings)
            rows = [("file", str(path))]
            rows.append(("bytes", f"{path.stat().st_size:,}" if path.exists() else "none yet: the gateway creates it"))
    for what, value in rows:
        table.add_row(what, value)
    console.print(table)


@app.command()
def certificates() -> None:
    """List the certificates the gateway verifies DUIS (and Signed Pre-Command) signatures against."""
    from gbsmart.gateway.store import load_keystore
    from gbsmart.gateway.transform import load_command_keystore

    with friendly_errors():
        stores = {"DUIS XML": load_keystore(get_settings()), "command": load_command_keystore(get_settings())}
    table = Table(title=f"{sum(len(s) for s in stores.values())} certificate(s)")
    for col in ("User ID", "serial", "issuer", "valid to", "signs"):
        table.add_column(col, overflow="fold")
    for use, store in stores.items():
        for user_id in store.user_ids():
            for entry in store.for_user(user_id):
                table.add_row(user_id, str(entry.serial), entry.issuer,
                              f"{entry.certificate.not_valid_after_utc:%Y-%m-%d}", use)
    console.print(table)


@app.command()
def send(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A DUIS request (XML), signed or not."),
    url: str = typer.Option("http://127.0.0.1:8081", help="The gateway (its paths /api/v1/serviceS, T, D)."),
    key: Path | None = typer.Option(None, "--key", exists=True, dir_okay=False,
                                    help="Your organisation's signing key (PEM, ECDSA P-256)."),
    certificate: Path | None = typer.Option(None, "--certificate", exists=True, dir_okay=False,
                                            help="Its certificate (PEM), as loaded into the gateway."),
    test_key: bool = typer.Option(False, "--test-key", help="Sign with a test key for the request's originator, "
                                  "made and trusted on first use (needs GBSMART_GATEWAY_ALLOW_TEST_KEYS=true)."),
    counter: str | None = typer.Option(None, help="Set the RequestID counter: a number, or 'auto' (the time in "
                                       "microseconds, above the last one sent)."),
) -> None:
    """Sign a DUIS request and send it to the web service its SRV and Command Variant go to; print the answer.

    Exits 0 with any DUIS Response (I99, I0 or an E-code, printed with its plain-English reason), 1 when the
    gateway refuses the request over HTTP (4xx: not signed right, a replayed counter ...) or cannot be reached.
    """
    import time

    from rich.markup import escape

    from gbsmart.gateway import send as sending

    if test_key == (key is not None) or (key is None) != (certificate is None):
        err_console.print("[bold red]error:[/] sign with either --key KEY.pem --certificate CERT.pem or --test-key")
        raise typer.Exit(2)
    if counter is not None and counter != "auto" and not counter.isdigit():
        err_console.print(f"[bold red]error:[/] --counter {escape(counter)}: give a whole number or 'auto'")
        raise typer.Exit(2)
    settings = get_settings()
    made: list[str] = []

    def signer_for(user_id: str) -> sending.Signer:
        if key is not None and certificate is not None:
            return sending.file_signer(key, certificate)
        signer = sending.signer_with_test_key(settings, user_id)
        if signer.new_test_key:
            made.append(user_id)
        return signer

    with friendly_errors():
        number = sending.auto_counter() if counter == "auto" else int(counter) if counter else None
        prepared = sending.prepare(settings, file.read_bytes(), signer_for, counter=number)
        if made:
            wait = settings.gateway_refresh_seconds + 0.5
            where = sending.paths_of_test_key(settings, made[0])[0]
            console.print(f"[yellow]made a TEST KEY for {made[0]}[/] ({escape(str(where))}) and trusted it; "
                          f"waiting {wait:g} s for the gateway to re-read its certificates")
            time.sleep(wait)
        answer = sending.post(url, prepared)
    console.print(f"{prepared.request.request_id} · SRV {prepared.request.service_reference_variant} → "
                  f"{prepared.service.path}: HTTP {answer.status}", markup=False)
    if answer.code:
        from gbsmart.core import codes

        entry = codes.explain(answer.code, "duis_response")  # its title and plain English (core/codes.toml)
        console.print(f"Response Code: [bold]{escape(answer.code)}[/]"
                      + (f" · {escape(entry.title)}: {escape(entry.meaning)}" if entry else ""))
    if answer.explanation:
        console.print(f"Explanation: {escape(answer.explanation)}")
    if answer.refusal:
        from gbsmart.core import codes

        why = codes.explain(answer.refusal, "gateway_refusal")
        console.print(f"Refused: [bold red]{escape(answer.refusal)}[/]"
                      + (f" · {escape(why.title)}: {escape(why.action)}" if why else ""))
    console.print(answer.text.rstrip(), markup=False, highlight=False, soft_wrap=True)
    if answer.refused_by_http:
        raise typer.Exit(1)
def _add_device_responses() -> None:
    from gbsmart.simulator.cli import endpoint_app, responses

    app.add_typer(endpoint_app, name="endpoint")
    app.command("responses")(responses)


_add_device_responses()
