"""`gbsmart smi ...`: generate a synthetic inventory, show a device, counts, commission, firmware updates."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors
from gbsmart.smi import service
from gbsmart.smi.api import read_of
from gbsmart.smi.generate import generate_inventory
from gbsmart.smi.rules import DeviceType, SmiStatus

app = typer.Typer(help="Smart Metering Inventory: devices, SMI Statuses, the CPL rule.", no_args_is_help=True)
AS = typer.Option(None, "--as", help="The username acting (default: the system).")


@app.command()
def generate(
    devices: int = typer.Option(..., "--devices", min=1, help="How many devices (54000000: national scale)."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same inventory."),
) -> None:
    """Load a synthetic national inventory into an empty SMI, in one transaction (nothing is kept if it fails)."""
    with friendly_errors(), cli_ctx() as ctx, Progress(
        TextColumn("[bold]devices"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("devices", total=devices)
        result = generate_inventory(ctx, devices, seed=seed, progress=lambda n: bar.advance(task, n))
        bar.update(task, description="committing")
    console.print(f"[green]✓[/] {result.devices:,} devices at {result.premises:,} premises, "
                  f"{result.registrations:,} registrations, {result.models} Device Models: rows in "
                  f"{result.load_seconds} s, indexes in {result.index_seconds} s, {result.seconds} s in all")


@app.command()
def show(device_id: str = typer.Argument(..., help="EUI-64 Device ID, e.g. 00-0D-6F-00-00-12-34-56")) -> None:
    """A device, its Device Model and its status history."""
    with friendly_errors(), cli_ctx() as ctx:
        d = read_of(ctx.session, service.get_device(ctx.session, device_id))
        t = Table(title=f"Device {d.device_id}", show_header=False)
        m = d.device_model
        for k, v in (("Device Type", f"{d.device_type.value} ({d.device_type.label})"),
                     ("SMI Status", f"{d.smi_status.value} since {d.status_date:%d %b %Y}"),
                     ("before suspension", d.status_before_suspension.value if d.status_before_suspension else ""),
                     ("Device Model", f"{m.manufacturer} {m.model} HW {m.hardware_version} FW {m.firmware_version}: "
                                      f"{m.status} on the CPL" if m else "none"),
                     ("MPxN", d.mpxn or ""), ("CHF", d.chf_device_id or ""),
                     ("associated meter", d.associated_meter_id or ""), ("CSP region", d.csp_region.value)):
            t.add_row(k, str(v))
        console.print(t)
        h = Table(title="Status history")
        for col in ("when", "from", "to", "why"):
            h.add_column(col)
        for row in d.history:
            h.add_row(f"{row.at:%d %b %Y %H:%M}", row.from_status.value if row.from_status else "—",
                      row.to_status.value, row.reason)
        console.print(h)


@app.command()
def counts() -> None:
    """Devices by SMI Status and Device Type."""
    with friendly_errors(), cli_ctx() as ctx:
        rows = service.counts(ctx.session)
        matrix = {(s, t): n for s, t, n in rows}
        t = Table(title=f"{sum(n for *_, n in rows):,} devices by SMI Status and Device Type")
        t.add_column("SMI Status")
        for dt in DeviceType:
            t.add_column(dt.value, justify="right")
        t.add_column("total", justify="right")
        for s in SmiStatus:
            values = [matrix.get((s, dt), 0) for dt in DeviceType]
            t.add_row(s.value, *(f"{v:,}" for v in values), f"{sum(values):,}")
        console.print(t)


@app.command()
def commission(device_id: str, reason: str = typer.Option("commissioned"), acting_as: str = AS) -> None:
    """Commission a device (refused unless its Device Model is Active on the CPL)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        d = service.commission(ctx, device_id, reason)
        console.print(f"[green]✓[/] {read_of(ctx.session, d).device_id} is Commissioned")


@app.command()
def firmware(device_id: str, version: str = typer.Argument(..., help="The firmware version now running."),
             acting_as: str = AS) -> None:
    """Record a firmware update: the device moves to that Device Model (and is restored if it is Active)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        d = read_of(ctx.session, service.update_firmware(ctx, device_id, version))
        console.print(f"[green]✓[/] {d.device_id} runs firmware {version}; SMI Status {d.smi_status.value}")


# ---------------------------------------------------------------- part B: CPL extract application
# `gbsmart smi apply-extract FILE` lives in smi/extract_cli.py (part B); it is registered on this app here, so
# the lead mounts one `smi` group. Further part-B commands: add them to the tuple below.
def _register_extract_commands() -> None:
    try:
        from gbsmart.smi import extract_cli
    except ImportError:  # part B not present
        return
    for name, attr in (("apply-extract", "apply_extract_command"),):
        command = getattr(extract_cli, attr, None)
        if command is not None:
            app.command(name)(command)


_register_extract_commands()
