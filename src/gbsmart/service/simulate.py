"""A year of traffic for the demo in accelerated time (issue 13 point 7; decision 0031): ``gbsmart service simulate``.

The service reports (CPM1–CPM3, PM2, CPM6, alert volumes) are computed from what the message path records. This
makes a past year of it, month by month, as a discrete-event simulation on a virtual clock: each event happens at
its own simulated time, so a year takes seconds and no figure depends on how fast this machine is.

- **Population** (``population``): ``devices_per_region`` ESMEs and GSMEs in each CSP Region, added to the SMI
  (``smi.service.add_device``) with registrations to the demo's Suppliers and Network Operators
  (``smi.registration.write_registration``); the Users who send their requests are those organisations' User IDs.
- **Device requests**: the month's requests at random times, by the plan's SRV mix; each journalled by the
  gateway's own writer (``gateway.journal.Journal``) as the gateway journals an acknowledged request (its TRT class
  and due time from ``gateway.journal.trt_for``), then completed as the device simulator completes one
  (``simulator.delivery``): after the latency and with the outcome (I0, E20, E21) of the **device simulator's
  profile** for that Device Type and CSP Region (``simulator.profiles``), plus the plan's slow tail and its
  **problems** (the CSP North firmware-delivery problem of seeds 000 and 003).
- **Alerts**: device alerts written with their minute roll-up as the intake writes them (``alerts.rollup``), and
  power outages as AD1 Power Outage Events in the northbound cache (``alerts.northbound``'s row), each with its
  deadline (``trt_alert_seconds``) and delivery time.
- **SSI availability**: what a probe every ``probe_seconds`` would have recorded (``service.availability``),
  with the plan's outages.

It does not sign, send or authorise DUIS XML: the gateway's tests and benchmarks prove that path. A month that
already holds simulated traffic is left as it is, so running it twice adds nothing. The plan is rule data
(``service/simulate.toml``); nothing it says is copied into a report: the reports count what was written.
"""

from __future__ import annotations

import asyncio
import random
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from gbsmart.config import Settings
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.gateway.enums import MessageState
from gbsmart.gateway.journal import Journal, JournalEntry, trt_for
from gbsmart.gateway.matrix import request_matrix, service_for
from gbsmart.models.alerts import Alert, NorthboundMessage
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, DccUserRole, Organisation
from gbsmart.models.service import SsiAvailabilitySpan
from gbsmart.models.smi import SmiDevice
from gbsmart.simulator.profiles import ProfileError, Profiles
from gbsmart.smi.enums import CspRegion, DeviceType, Fuel, SmiStatus
from gbsmart.smi.rules import eui64_to_int

PACKAGED = files("gbsmart.service").joinpath("simulate.toml")
SOURCE = "simulation"
#: the simulated devices' IDs: 00-DB-5E-<region 1..3>-<type 1 ESME, 2 GSME>-00-<n>
_ID_PREFIX = "00-DB-5E"
_TYPES = (DeviceType.ESME, DeviceType.GSME)
_MODELS = {DeviceType.ESME: ("DCCB", "BOXED-ESME"), DeviceType.GSME: ("DCCB", "BOXED-GSME")}


class PlanError(ValueError):
    """The simulation plan is wrong; the message names the entry and says how to fix it."""


@dataclass(frozen=True)
class Problem:
    name: str
    region: str
    srvs: frozenset[str]
    months: frozenset[int]
    late_share: float
    late_seconds: tuple[float, float]


@dataclass(frozen=True)
class Plan:
    seed: int
    devices_per_region: int
    requests_per_month: int
    future_dated_share: float
    tail_share: float
    tail_seconds: tuple[float, float]
    mix: dict[str, float]
    profiles: Profiles
    problems: list[Problem]
    alerts_per_month: int
    outages_per_month: int
    ad1_seconds: tuple[float, float]
    ad1_late_share: float
    alert_codes: dict[str, float]
    probe_seconds: float
    ssi_outages: list[tuple[int, int, int, float]]
    source: str = "simulate.toml (packaged)"


def _num(table: dict[str, Any], key: str, where: str, *, low: float = 0.0, high: float | None = None,
         integer: bool = False) -> Any:
    value = table.get(key)
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not isinstance(value, int | float) or not ok or value < low or (
            high is not None and value > high):
        kind = "a whole number" if integer else "a number"
        raise PlanError(f"{where}.{key}: must be {kind} from {low:g}" + (f" to {high:g}" if high is not None else
                                                                       " up") + f", not {value!r}")
    return value


def _pair(table: dict[str, Any], key: str, where: str) -> tuple[float, float]:
    value = table.get(key)
    if (not isinstance(value, list) or len(value) != 2 or any(isinstance(v, bool) or not isinstance(v, int | float)
                                                              or v < 0 for v in value) or value[0] > value[1]):
        raise PlanError(f"{where}.{key}: must be [low, high], two numbers of 0 or more, low first; not {value!r}")
    return float(value[0]), float(value[1])


def _shares(table: Any, where: str) -> dict[str, float]:
    if not isinstance(table, dict) or not table:
        raise PlanError(f"{where}: give at least one entry as \"KEY\" = share")
    out = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise PlanError(f"{where}.{key}: a share must be a number above 0, not {value!r}")
        out[str(key)] = float(value)
    return out


def load_plan(settings: Settings, path: Path | None = None) -> Plan:
    """The plan in ``path`` (default the packaged one), checked: a wrong entry is named in the error."""
    source = str(path) if path is not None else "simulate.toml (packaged)"
    try:
        text = path.read_text() if path is not None else PACKAGED.read_text()
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise PlanError(f"the plan file {path} does not exist: copy service/simulate.toml and change it") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{source}: is not TOML ({exc})") from None
    pop, traffic, alerts, ssi = (data.get(k, {}) for k in ("population", "traffic", "alerts", "ssi"))
    matrix = request_matrix()
    mix = _shares(traffic.get("mix"), "traffic.mix")
    for srv in mix:
        variant = matrix.get(srv)
        if variant is None or (variant.non_device and srv not in settings.trt_firmware_srvs):
            raise PlanError(f"traffic.mix.{srv}: not a device Service Request Variant of the DUIS request matrix "
                            f"(nor a firmware one: {', '.join(settings.trt_firmware_srvs)})")
    try:
        profiles = Profiles.from_data(data.get("profiles", {}), source=f"{source} profiles")
    except ProfileError as exc:
        raise PlanError(str(exc)) from None
    problems = []
    regions = {r.value for r in CspRegion}
    for i, raw in enumerate(data.get("problem", []), start=1):
        where = f"problem {i}"
        region = raw.get("region")
        if region not in regions:
            raise PlanError(f"{where}.region: must be one of {', '.join(sorted(regions))}, not {region!r}")
        months = raw.get("months")
        if not isinstance(months, list) or not all(isinstance(m, int) and 1 <= m <= 36 for m in months):
            raise PlanError(f"{where}.months: a list of months of the simulated period, 1 its first")
        srvs = raw.get("srvs")
        if not isinstance(srvs, list) or not srvs or any(s not in mix for s in srvs):
            raise PlanError(f"{where}.srvs: a list of SRVs of traffic.mix")
        problems.append(Problem(str(raw.get("name") or where), region, frozenset(srvs), frozenset(months),
                                float(_num(raw, "late_share", where, high=1.0)), _pair(raw, "late_seconds", where)))
    outages = []
    for j, raw in enumerate(ssi.get("outages", []), start=1):
        if (not isinstance(raw, list) or len(raw) != 4 or not all(isinstance(v, int | float) for v in raw)
                or not (1 <= raw[0] <= 36 and 1 <= raw[1] <= 28 and 0 <= raw[2] <= 23 and 0 < raw[3] <= 24 * 7)):
            raise PlanError(f"ssi.outages {j}: must be [month 1.., day 1-28, start hour 0-23, hours above 0]")
        outages.append((int(raw[0]), int(raw[1]), int(raw[2]), float(raw[3])))
    return Plan(
        seed=int(_num(data, "seed", "plan", integer=True)),
        devices_per_region=int(_num(pop, "devices_per_region", "population", low=1, high=500, integer=True)),
        requests_per_month=int(_num(traffic, "requests_per_month", "traffic", high=200_000, integer=True)),
        future_dated_share=float(_num(traffic, "future_dated_share", "traffic", high=1.0)),
        tail_share=float(_num(traffic, "tail_share", "traffic", high=1.0)),
        tail_seconds=_pair(traffic, "tail_seconds", "traffic"), mix=mix, profiles=profiles, problems=problems,
        alerts_per_month=int(_num(alerts, "per_month", "alerts", high=1_000_000, integer=True)),
        outages_per_month=int(_num(alerts, "outages_per_month", "alerts", high=100_000, integer=True)),
        ad1_seconds=_pair(alerts, "ad1_seconds", "alerts"),
        ad1_late_share=float(_num(alerts, "ad1_late_share", "alerts", high=1.0)),
        alert_codes=_shares(alerts.get("codes"), "alerts.codes"),
        probe_seconds=float(_num(ssi, "probe_seconds", "ssi", low=1, high=3600)), ssi_outages=outages,
        source=source)


# ---------------------------------------------------------------- the population

@dataclass(frozen=True, slots=True)
class SimDevice:
    device_id: str
    device_type: DeviceType
    region: CspRegion
    supplier: str          # the User ID that sends its requests (IS or GS)
    network_operator: str  # the User ID its power outage alerts go to (ED or GT)


def _users(s: Session, role: str, categories: tuple[str, ...]) -> list[tuple[int, str]]:
    """(organisation id, User ID) of the demo's Parties of ``categories`` whose User ID holds ``role``."""
    rows = s.execute(select(Organisation.id, DccUser.eui64).join(DccUser, DccUser.organisation_id == Organisation.id)
                     .join(DccUserRole, DccUserRole.dcc_user_id == DccUser.id)
                     .where(Organisation.party_category.in_(categories), DccUserRole.role == role,
                            Organisation.source != "DCC Boxed test data")
                     .order_by(DccUser.eui64))
    return [(int(o), str(u)) for o, u in rows]


def population(ctx: Ctx, plan: Plan, today: date) -> tuple[list[SimDevice], int]:
    """The simulated devices (added to the SMI with their registrations where missing) and how many were added."""
    from gbsmart.smi import service as smi_service
    from gbsmart.smi.registration import write_registration
    from gbsmart.smi.schemas import DeviceCreate

    s = ctx.session
    suppliers = {DeviceType.ESME: _users(s, "IS", ("large_supplier", "small_supplier")),
                 DeviceType.GSME: _users(s, "GS", ("large_supplier", "small_supplier"))}
    operators = {DeviceType.ESME: _users(s, "ED", ("electricity_network",)),
                 DeviceType.GSME: _users(s, "GT", ("gas_network",))}
    missing = [f"{role} User IDs of {what}" for kind, role, what in (
        (DeviceType.ESME, "IS", "Suppliers"), (DeviceType.GSME, "GS", "Suppliers"))
        if not suppliers[kind]] + [f"{role} User IDs of {what}" for kind, role, what in (
            (DeviceType.ESME, "ED", "electricity Network Operators"), (DeviceType.GSME, "GT", "gas Transporters"))
            if not operators[kind]]
    if missing:
        raise Invalid(f"The simulation needs the demo's Parties and their User IDs ({'; '.join(missing)} are "
                      "missing): run `gbsmart demo` first.")
    for manufacturer, model in _MODELS.values():
        if smi_service.find_model(s, manufacturer, model, "0001", "00000001") is None:
            raise Invalid(f"The simulation's devices use the test Device Model {manufacturer} {model}, which is "
                          "not in the SMI: run `gbsmart demo` first.")
    out, added = [], 0
    for r, region in enumerate(CspRegion, start=1):
        for t, kind in enumerate(_TYPES, start=1):
            for n in range(plan.devices_per_region // 2 + (t == 1) * (plan.devices_per_region % 2)):
                device_id = f"{_ID_PREFIX}-{r:02X}-{t:02X}-00-{n // 256:02X}-{n % 256:02X}"
                supplier_org, supplier = suppliers[kind][n % len(suppliers[kind])]
                operator_org, operator = operators[kind][(n + r) % len(operators[kind])]
                mpxn = (1_900_000_000_000 + r * 10_000 + n) if kind is DeviceType.ESME else (9_100_000 + r * 10_000
                                                                                             + n)
                if s.get(SmiDevice, eui64_to_int(device_id)) is None:
                    manufacturer, model = _MODELS[kind]
                    smi_service.add_device(ctx, DeviceCreate(
                        device_id=device_id, device_type=kind, manufacturer=manufacturer, model=model,
                        hardware_version="0001", firmware_version="00000001", smi_status=SmiStatus.COMMISSIONED,
                        mpxn=str(mpxn), csp_region=region))
                    if smi_service.current_registration(s, mpxn) is None:
                        write_registration(ctx, mpxn=mpxn, fuel=Fuel.ELECTRICITY if kind is DeviceType.ESME
                                           else Fuel.GAS, supplier_org_id=supplier_org,
                                           network_operator_org_id=operator_org,
                                           valid_from=today - timedelta(days=3 * 366))
                    added += 1
                out.append(SimDevice(device_id, kind, region, supplier, operator))
    s.flush()
    return out, added


# ---------------------------------------------------------------- months

def months_before(today: date, count: int) -> list[date]:
    """The ``count`` complete months before ``today``'s, oldest first."""
    if not 1 <= count <= 36:
        raise Invalid("months: must be 1 to 36", detail=[{"field": "months", "message": "must be 1 to 36"}])
    first = today.replace(day=1)
    out = []
    for back in range(count, 0, -1):
        y, m = divmod(first.year * 12 + first.month - 1 - back, 12)
        out.append(date(y, m + 1, 1))
    return out


def _bounds(month: date) -> tuple[datetime, datetime]:
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _already(session: Session, devices: list[SimDevice], month: date) -> bool:
    start, end = _bounds(month)
    targets = [d.device_id for d in devices]
    m = GatewayMessage
    return bool(session.scalar(select(func.count()).select_from(m).where(
        m.target.in_(targets), m.received_at >= start, m.received_at < end)))


@dataclass
class MonthDone:
    month: date
    skipped: bool = False
    requests: int = 0
    late: int = 0
    firmware: int = 0
    firmware_late: int = 0
    alerts: int = 0
    ad1: int = 0
    ssi_down_minutes: float = 0.0
    by_region: dict[str, int] = field(default_factory=dict)


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    keys = list(shares)
    return rng.choices(keys, weights=[shares[k] for k in keys])[0]


async def _requests(journal: Journal, settings: Settings, plan: Plan, devices: list[SimDevice], month: date,
                    index: int, rng: random.Random, done: MonthDone, counters: dict[str, int]) -> None:
    start, end = _bounds(month)
    span = (end - start).total_seconds()
    matrix = request_matrix()
    firmware = set(settings.trt_firmware_srvs)
    times = sorted(rng.uniform(0, span) for _ in range(plan.requests_per_month))
    answers: list[tuple[datetime, str, int, str]] = []
    for offset in times:
        at = start + timedelta(seconds=offset)
        device = rng.choice(devices)
        srv = _pick(rng, plan.mix)
        variant = matrix[srv]
        execution_at = None
        if variant.future_dated_allowed and rng.random() < plan.future_dated_share:
            execution_at = at + timedelta(hours=rng.uniform(1, 24))
        service = service_for(variant, 1)
        trt_class, due_at = trt_for(settings, variant, service, at, execution_at=execution_at)
        profile = plan.profiles.for_device(device.device_type, device.region)
        latency, code = profile.latency(rng), profile.outcome(rng)
        if rng.random() < plan.tail_share:
            latency = (due_at - (execution_at or at)).total_seconds() + rng.uniform(*plan.tail_seconds)
        for problem in plan.problems:
            if (index in problem.months and device.region.value == problem.region and srv in problem.srvs
                    and rng.random() < problem.late_share):
                latency = (due_at - (execution_at or at)).total_seconds() + rng.uniform(*problem.late_seconds)
        completed_at = (execution_at or at) + timedelta(seconds=latency)
        counter = max(int(at.timestamp() * 1_000_000), counters.get(device.supplier, 0) + 1)
        counters[device.supplier] = counter
        await journal.record(JournalEntry(
            request_id=f"{device.supplier}:{device.device_id}:{counter}", originator=device.supplier,
            target=device.device_id, counter=counter, srv=srv, command_variant=1,
            service=service.value, state=MessageState.ACKNOWLEDGED.value, code="I99",
            received_at=at, answered_at=at, trt_class=trt_class.value, due_at=due_at))
        answers.append((completed_at, device.supplier, counter, code))
        done.requests += 1
        late = completed_at > due_at
        done.late += late
        if srv in firmware:
            done.firmware += 1
            done.firmware_late += late
        done.by_region[device.region.value] = done.by_region.get(device.region.value, 0) + 1
    for completed_at, originator, counter, code in sorted(answers):  # the devices' answers, in their time order,
        # journalled as the device simulator's Delivery.complete journals one
        await journal.update(originator, counter, state=MessageState.COMPLETED, code=code, completed_at=completed_at)


def _alerts(session: Session, settings: Settings, plan: Plan, devices: list[SimDevice], month: date,
            rng: random.Random, done: MonthDone) -> None:
    from gbsmart.alerts.enums import OutboundKind
    from gbsmart.alerts.northbound import Northbound, Outbound
    from gbsmart.alerts.rollup import add_volumes

    start, end = _bounds(month)
    span = (end - start).total_seconds()
    rows = []
    for _ in range(plan.alerts_per_month):
        device = rng.choice(devices)
        received = start + timedelta(seconds=rng.uniform(0, span))
        rows.append({"device_id": device.device_id, "code": _pick(rng, plan.alert_codes),
                     "occurred_at": received - timedelta(seconds=rng.uniform(0.5, 5)), "received_at": received,
                     "source": SOURCE, "csp_region": device.region.value, "outcome": "routed", "recipients": 1,
                     "detail": ""})
    if rows:
        session.execute(insert(Alert), rows)
        add_volumes(session, rows)  # the roll-up in the same transaction, as the intake writes it
    nb_rows = []
    for n in range(plan.outages_per_month):
        device = rng.choice(devices)
        made = start + timedelta(seconds=rng.uniform(0, span - 120))
        deadline = made + timedelta(seconds=settings.trt_alert_seconds)
        delay = rng.uniform(*plan.ad1_seconds)
        if rng.random() < plan.ad1_late_share:
            delay = settings.trt_alert_seconds + rng.uniform(1, 600)
        item = Outbound(message_id=f"sim-AD1-{month:%Y%m}-{n:05d}", user_id=device.network_operator,
                        kind=OutboundKind.DCC_ALERT, priority="power_outage", created_at=made, code="AD1",
                        payload={"code": "AD1", "device_id": device.device_id, "simulated": True},
                        deadline_at=deadline, expires_at=made + timedelta(days=2))
        row = Northbound._row(item)
        row.update(delivered_at=made + timedelta(seconds=delay), attempts=1)
        nb_rows.append(row)
    if nb_rows:
        session.execute(insert(NorthboundMessage), nb_rows)
    done.alerts, done.ad1 = len(rows), len(nb_rows)


def _ssi(session: Session, plan: Plan, month: date, index: int, done: MonthDone) -> None:
    """The spans a probe every ``probe_seconds`` would have recorded over the month, with the plan's outages."""
    start, end = _bounds(month)
    cuts: list[tuple[datetime, datetime]] = []
    for m, day, hour, hours in plan.ssi_outages:
        if m == index:
            down = start.replace(day=day, hour=hour)
            cuts.append((down, min(end, down + timedelta(hours=hours))))
    at = start
    spans = []
    for down, up in sorted(cuts):
        if down > at:
            spans.append({"started_at": at, "ended_at": down, "up": True, "source": SOURCE, "detail": ""})
        spans.append({"started_at": max(at, down), "ended_at": up, "up": False, "source": SOURCE,
                      "detail": "simulated outage: the portal did not answer"})
        done.ssi_down_minutes += (up - max(at, down)).total_seconds() / 60
        at = max(at, up)
    if at < end:
        spans.append({"started_at": at, "ended_at": end, "up": True, "source": SOURCE, "detail": ""})
    session.execute(insert(SsiAvailabilitySpan), spans)


async def simulate(sessions: sessionmaker[Session], settings: Settings, plan: Plan, devices: list[SimDevice],
                   months: list[date], *, on_month: Callable[[MonthDone], None] | None = None) -> list[MonthDone]:
    """Write the traffic of each of ``months`` (skipping those already simulated); one result per month."""
    journal = Journal(sessions, batch=settings.gateway_journal_batch)
    journal.start()
    out: list[MonthDone] = []
    counters: dict[str, int] = {}
    try:
        for index, month in enumerate(months, start=1):
            done = MonthDone(month)
            with sessions() as session:
                done.skipped = _already(session, devices, month)
            if not done.skipped:
                rng = random.Random(plan.seed * 1000 + month.year * 12 + month.month)
                await _requests(journal, settings, plan, devices, month, index, rng, done, counters)
                try:
                    await asyncio.wait_for(journal.flush(), timeout=300)
                except TimeoutError:
                    raise Invalid("The journal could not write the simulated requests within 5 minutes (the log "
                                  "above says why); nothing of this month is counted as simulated.") from None

                def write(month: date = month, index: int = index, done: MonthDone = done,
                          rng: random.Random = rng) -> None:
                    with sessions.begin() as session:
                        _alerts(session, settings, plan, devices, month, rng, done)
                        _ssi(session, plan, month, index, done)

                await asyncio.to_thread(write)
            out.append(done)
            if on_month is not None:
                on_month(done)
    finally:
        await journal.close()
    return out
