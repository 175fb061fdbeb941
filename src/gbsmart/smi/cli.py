"""`gbsmart smi ...`: devices (generate, add, list, show, status changes, firmware), counts, registration data."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from gbsmart.core.cli_support import cli_ctx, console, friendly_errors
from gbsmart.smi import extract_cli, registration, service
from gbsmart.smi.enums import CspRegion, DeviceType, Fuel, SmiStatus
from gbsmart.smi.generate import generate_inventory
from gbsmart.smi.queries import device_read, device_summary
from gbsmart.smi.schemas import DeviceCreate, RegistrationCreate, RegistrationHistory

app = typer.Typer(help="Smart Metering Inventory: devices, SMI Statuses, registration data, the CPL rule.",
                  no_args_is_help=True)
registration_app = typer.Typer(help="Registration data: which Supplier and Network Operator serve an MPxN, over time.",
                               no_args_is_help=True)
app.add_typer(registration_app, name="registration")
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
        d = device_read(ctx.session, service.get_device(ctx.session, device_id))
        t = Table(title=f"Device {d.device_id}", show_header=False)
        m = d.device_model
        for k, v in (("Device Type", f"{d.device_type.value} ({d.device_type.label})"),
                     ("SMI Status", f"{d.smi_status.value} since {d.status_date:%d %b %Y}"),
                     ("before suspension", d.status_before_suspension.value if d.status_before_suspension else ""),
                     ("Device Model", f"{m.manufacturer} {m.model} HW {m.hardware_version} FW {m.firmware_version}: "
                                      f"{m.status} on the CPL" if m else "none"),
                     ("MPxN", d.mpxn or ""), ("CHF", d.chf_device_id or ""),
                     ("associated meter", d.associated_meter_id or ""), ("CSP region", d.csp_region.value)):
            t.add_row(k, escape(str(v)))  # model names come from the CPL's submitters
        console.print(t)
        h = Table(title="Status history")
        for col in ("when", "from", "to", "why"):
            h.add_column(col)
        for row in d.history:
            h.add_row(f"{row.at:%d %b %Y %H:%M}", row.from_status.value if row.from_status else "—",
                      row.to_status.value, escape(row.reason))
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
def add(
    device_id: str = typer.Argument(..., help="EUI-64 Device ID, e.g. 00-0D-6F-00-00-12-34-56"),
    device_type: DeviceType = typer.Option(..., "--type", help="Device Type."),
    manufacturer: str = typer.Option(None, "--manufacturer", help="Device Model: manufacturer (not for IHD, CAD)."),
    model: str = typer.Option(None, "--model", help="Device Model: model."),
    hardware: str = typer.Option(None, "--hardware", help="Device Model: hardware version."),
    firmware_version: str = typer.Option(None, "--firmware", help="Device Model: firmware version."),
    mpxn: str = typer.Option(None, "--mpxn", help="MPAN core or MPRN (an installed meter)."),
    region: CspRegion = typer.Option(CspRegion.CENTRAL, "--region", help="CSP region."),
    status: SmiStatus = typer.Option(SmiStatus.PENDING, "--status",
                                     help="Initial SMI Status: Pending, Whitelisted, InstalledNotCommissioned or "
                                          "Commissioned."),
    chf: str = typer.Option(None, "--chf", help="The Communications Hub Function's Device ID (meters)."),
    associated_meter: str = typer.Option(None, "--associated-meter", help="The associated meter (other devices)."),
    acting_as: str = AS,
) -> None:
    """Add a device (the DCC or the Code Administrator); its Device Model must be on the SMI's copy of the CPL."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        data = DeviceCreate(device_id=device_id, device_type=device_type, manufacturer=manufacturer, model=model,
                            hardware_version=hardware, firmware_version=firmware_version, smi_status=status,
                            mpxn=mpxn or None, chf_device_id=chf or None, associated_meter_id=associated_meter or None,
                            csp_region=region)
        d = device_read(ctx.session, service.add_device(ctx, data))
        m = d.device_model
        console.print(f"[green]✓[/] {d.device_id} ({d.device_type.value}) added: SMI Status {d.smi_status.value}"
                      + (f", Device Model {escape(m.manufacturer)} {escape(m.model)} HW {escape(m.hardware_version)} "
                         f"FW {escape(m.firmware_version)} ({m.status} on the CPL)" if m else ""), soft_wrap=True)


@app.command()
def devices(
    mpxn: str = typer.Option(None, "--mpxn", help="Only the devices at this MPAN core or MPRN."),
    status: SmiStatus = typer.Option(None, "--status", help="Only devices in this SMI Status."),
    device_type: DeviceType = typer.Option(None, "--type", help="Only this Device Type."),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Devices per page."),
    cursor: str = typer.Option(None, "--cursor", help="Continue from a page's next cursor."),
) -> None:
    """Devices in Device ID order, a page at a time (keyset pages: follow the next cursor)."""
    with friendly_errors(), cli_ctx() as ctx:
        key = registration.parse_mpxn(mpxn)[0] if mpxn else None
        f = service.DeviceFilters(mpxn=key, status=status, device_type=device_type)
        page = service.list_devices(ctx.session, f, cursor, limit)
        rows = [device_summary(ctx.session, d) for d in page.items]
    what = ", ".join(x for x in (f"MPxN {mpxn}" if mpxn else "", status.value if status else "",
                                 device_type.value if device_type else "") if x) or "all"
    t = Table(title=f"Devices ({what}): {len(rows)} on this page")
    for col in ("Device ID", "Type", "SMI Status", "since", "MPxN", "region", "model on the CPL"):
        t.add_column(col)
    for d in rows:
        t.add_row(d.device_id, d.device_type.value, d.smi_status.value, f"{d.status_date:%d %b %Y}", d.mpxn or "",
                  d.csp_region.value, d.model_status or "—")
    console.print(t)
    if page.next_cursor:
        console.print(f"next page: [bold]--cursor {page.next_cursor}[/]", soft_wrap=True)
    else:
        console.print("[dim](last page)[/]")


@app.command()
def commission(device_id: str, reason: str = typer.Option("commissioned"), acting_as: str = AS) -> None:
    """Commission a device (refused unless its Device Model is Active on the CPL)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        d = service.commission(ctx, device_id, reason)
        console.print(f"[green]✓[/] {device_read(ctx.session, d).device_id} is Commissioned")


@app.command()
def decommission(device_id: str, reason: str = typer.Option("decommissioned", help="Why (kept in the history)."),
                 acting_as: str = AS) -> None:
    """Decommission a device (from Whitelisted, InstalledNotCommissioned, Commissioned, Recovery or Recovered)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        d = device_read(ctx.session, service.decommission(ctx, device_id, reason))
        console.print(f"[green]✓[/] {d.device_id} is Decommissioned")


@app.command()
def status(
    device_id: str = typer.Argument(..., help="EUI-64 Device ID."),
    target: SmiStatus = typer.Argument(..., help="The SMI Status to move to, as the lifecycle allows."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the history)."),
    acting_as: str = AS,
) -> None:
    """Change a device's SMI Status (whitelist, install, withdraw, recovery ...); refusals name what is allowed."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        d = device_read(ctx.session, service.change_status(ctx, device_id, target, reason))
        console.print(f"[green]✓[/] {d.device_id} is {d.smi_status.value}")


@app.command()
def firmware(device_id: str, version: str = typer.Argument(..., help="The firmware version now running."),
             acting_as: str = AS) -> None:
    """Record a firmware update: the device moves to that Device Model (and is restored if it is Active)."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        d = device_read(ctx.session, service.update_firmware(ctx, device_id, version))
        console.print(f"[green]✓[/] {d.device_id} runs firmware {escape(version)}; SMI Status {d.smi_status.value}")


# ---------------------------------------------------------------- registration data


def _history_table(h: RegistrationHistory) -> Table:
    t = Table(title=f"Registration data of {'MPAN' if h.fuel is Fuel.ELECTRICITY else 'MPRN'} {h.mpxn}")
    for col in ("from", "to", "fuel", "Supplier", "Network Operator", "DCC User IDs", ""):
        t.add_column(col)
    for r in h.history:
        users = " / ".join(u for u in (r.supplier_user_id, r.network_operator_user_id) if u)
        t.add_row(f"{r.valid_from:%d %b %Y}", f"{r.valid_to:%d %b %Y}" if r.valid_to else "", r.fuel.value,
                  escape(r.supplier.name or str(r.supplier.id)),
                  escape(r.network_operator.name or str(r.network_operator.id)), users,
                  "[bold green]current[/]" if r.current else "")
    return t


@registration_app.command("set")
def registration_set(
    mpxn: str = typer.Argument(..., help="MPAN core (13 digits) or MPRN (6 to 10 digits)."),
    fuel: Fuel = typer.Option(None, "--fuel", help="E (an MPAN) or G (an MPRN); from the MPxN's form if omitted."),
    supplier: str = typer.Option(..., "--supplier", help="The Supplier Party: name, short name or id."),
    network_operator: str = typer.Option(..., "--network-operator",
                                         help="The Electricity (MPAN) or Gas (MPRN) Network Party: name or id."),
    valid_from: datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="The day it starts (YYYY-MM-DD)."),
    supplier_user_id: str = typer.Option(None, "--supplier-user-id", help="The Supplier's DCC User ID (EUI-64)."),
    network_operator_user_id: str = typer.Option(None, "--network-operator-user-id",
                                                 help="The Network Operator's DCC User ID (EUI-64)."),
    acting_as: str = AS,
) -> None:
    """Record who serves an MPxN from a date (the DCC or the Code Administrator); the current registration ends then."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        data = RegistrationCreate(mpxn=mpxn, fuel=fuel, supplier=supplier, network_operator=network_operator,
                                  valid_from=valid_from.date(), supplier_user_id=supplier_user_id,
                                  network_operator_user_id=network_operator_user_id)
        row = registration.record_registration(ctx, data)
        h = registration.history_read(ctx.session, row.mpxn, registration.registration_history(ctx.session, row.mpxn))
    cur = h.current
    console.print(f"[green]✓[/] from {cur.valid_from:%d %b %Y}, {escape(cur.supplier.name or '')} supplies and "
                  f"{escape(cur.network_operator.name or '')} is the Network Operator of {h.mpxn}", soft_wrap=True)
    console.print(_history_table(h))


@registration_app.command("show")
def registration_show(mpxn: str = typer.Argument(..., help="MPAN core or MPRN."), acting_as: str = AS) -> None:
    """An MPxN's registration history (oldest first) and the devices there."""
    with friendly_errors(), cli_ctx(acting_as) as ctx:
        h = registration.read_registrations(ctx, mpxn)
        page = service.list_devices(ctx.session, service.DeviceFilters(mpxn=int(h.mpxn)), None, 20)
        rows = [device_summary(ctx.session, d) for d in page.items]
    console.print(_history_table(h))
    if rows:
        console.print(f"Devices at {h.mpxn}: " + ", ".join(f"{d.device_id} ({d.device_type.value}, "
                                                            f"{d.smi_status.value})" for d in rows)
                      + (f" … (all: gbsmart smi devices --mpxn {h.mpxn})" if page.next_cursor else ""), soft_wrap=True)
    else:
        console.print(f"[dim]No devices at {h.mpxn}.[/]")


app.command("apply-extract")(extract_cli.apply_extract_command)
