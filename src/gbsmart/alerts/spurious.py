"""The device simulator as an alert source: spurious alerts at configured rates per code and CSP Region.

Off by default. ``alerts_spurious_file`` names a TOML file of ``[[rates]]`` (``code``, ``region`` North /
Central / South, ``per_second``, optional ``device_type``); the packaged ``spurious.toml`` is an example (0x8F3E
in Central and South, 0x8F12 from Communications Hubs in North). Every ``tick_seconds`` each rate's share of
alerts (fractions carried over, so the rate holds on average) is raised by devices drawn at random from that
region (and type) in the SMI, and fed to ``AlertIntake.ingest`` in-process with source ``simulator``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import tomllib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from gbsmart.alerts.catalogue import normalise_code
from gbsmart.alerts.intake import AlertIntake, DeviceAlert
from gbsmart.config import Settings
from gbsmart.core.clock import Clock
from gbsmart.smi.enums import CspRegion, DeviceType
from gbsmart.smi.rules import DEVICE_TYPE_CODE, REGION_CODE, int_to_eui64

log = logging.getLogger("gbsmart.alerts")
PACKAGED_SPURIOUS = Path(__file__).with_name("spurious.toml")


@dataclass(frozen=True, slots=True)
class Rate:
    code: str
    region: CspRegion
    per_second: float
    device_type: DeviceType | None = None


def load_rates(path: Path) -> list[Rate]:
    """The ``[[rates]]`` of ``path``, validated (a ValueError naming the file and field)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"the spurious-alert file {path} does not exist (setting GBSMART_ALERTS_SPURIOUS_FILE)"
                         ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    rates = data.get("rates")
    if not isinstance(rates, list) or not rates:
        raise ValueError(f"{path}: needs at least one [[rates]] table")
    out = []
    for i, raw in enumerate(rates):
        where = f"{path}: rates[{i}]"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: must be a table")
        unknown = set(raw) - {"code", "region", "per_second", "device_type"}
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        try:
            code = normalise_code(str(raw.get("code", "")))
        except ValueError as exc:
            raise ValueError(f"{where}.code: {exc}") from None
        try:
            region = CspRegion(str(raw.get("region")))
        except ValueError:
            raise ValueError(f"{where}.region: must be one of {', '.join(r.value for r in CspRegion)}") from None
        rate = raw.get("per_second")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
            raise ValueError(f"{where}.per_second: must be a number of alerts a second above 0")
        device_type = None
        if "device_type" in raw:
            try:
                device_type = DeviceType(raw["device_type"])
            except ValueError:
                raise ValueError(f"{where}.device_type: must be one of "
                                 f"{', '.join(t.value for t in DeviceType)}") from None
        out.append(Rate(code, region, float(rate), device_type))
    return out


class SpuriousAlerts:
    """See the module docstring. ``start``/``close`` in the gateway's event loop."""

    def __init__(self, rates: list[Rate], intake: AlertIntake, clock: Clock, *, seed: int | None = None,
                 tick_seconds: float = 1.0) -> None:
        self.rates, self.intake, self.clock = rates, intake, clock
        self._rng = random.Random(seed)
        self._tick = tick_seconds
        self._carry = [0.0] * len(rates)
        self._pools: list[list[int]] = []
        self._task: asyncio.Task[None] | None = None
        self.raised = 0

    @classmethod
    def from_settings(cls, settings: Settings, intake: AlertIntake, clock: Clock) -> SpuriousAlerts | None:
        if settings.alerts_spurious_file is None:
            return None
        return cls(load_rates(settings.alerts_spurious_file), intake, clock, seed=settings.simulator_seed)

    def load_pools(self) -> None:
        """The devices each rate draws from (one query per rate)."""
        self._pools = []
        with self.intake.sessions() as session:
            for rate in self.rates:
                sql = "SELECT device_id FROM smi_devices WHERE csp_region = :r"
                params: dict[str, int] = {"r": REGION_CODE[rate.region]}
                if rate.device_type is not None:
                    sql += " AND device_type = :t"
                    params["t"] = DEVICE_TYPE_CODE[rate.device_type]
                self._pools.append([int(v) for (v,) in session.execute(text(sql), params)])
        for rate, pool in zip(self.rates, self._pools, strict=True):
            if not pool:
                log.warning("spurious alerts %s in %s: no such devices in the SMI, so none are raised", rate.code,
                            rate.region.value)

    def batch(self, seconds: float) -> list[DeviceAlert]:
        """The alerts of ``seconds`` at the configured rates."""
        now = self.clock.now()
        out: list[DeviceAlert] = []
        for i, (rate, pool) in enumerate(zip(self.rates, self._pools, strict=True)):
            wanted = rate.per_second * seconds + self._carry[i]
            n = int(wanted)
            self._carry[i] = wanted - n
            if pool:
                out.extend(DeviceAlert(int_to_eui64(self._rng.choice(pool)), rate.code, now) for _ in range(n))
        return out

    def start(self) -> None:
        self.load_pools()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="spurious-alerts")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            try:
                alerts = self.batch(self._tick)
                if alerts:
                    await self.intake.ingest(alerts, source="simulator")
                    self.raised += len(alerts)
            except Exception:
                log.exception("raising spurious alerts failed")
