"""The alert storm scenario (issue 11, point 7): power outage alerts within 60 s through a spurious-alert storm.

    .venv/bin/python benchmarks/alert_storm.py              # 6,000 alerts/s, 10,000 hubs, NO down 10 minutes
    .venv/bin/python benchmarks/alert_storm.py --quick      # under a minute, same shape, smaller
    .venv/bin/python benchmarks/alert_storm.py --sink in-process   # the pipeline in this process, no HTTP in
    .venv/bin/python benchmarks/alert_storm.py --quick --engine jetstream --postgres --kill-node-at 2
        # the message path on a 3-node JetStream cluster (started here) and PostgreSQL, a node killed -9 under load

Set up: a temporary SQLite database with the scenario's dataset (``_storm_dataset``: ``--hubs`` premises per
region in two regions, each a Communications Hub and an ESME, MPANs registered to ``--suppliers`` Import
Suppliers and the region's Electricity Distributor, every User's endpoint registered); the Users' endpoints,
real HTTP servers on loopback in a child process (``_storm_endpoints``); ``gbsmart gateway serve`` on that
database (``--sink http``, the default) or the pipeline in this process (``--sink in-process``).

Phase 1, **storm and outage**: a storm of ``--rate`` device alerts a second (8F3E from the meters, 8F12 from
the hubs, ``--mix``) for ``--seconds`` (at least until 5 s past the wait's end); at
``--outage-at`` every hub of region 1 sends its power loss notice (CHPL) at once, and none is restored. Each
should become an AD1 Power Outage Event at the region's Electricity Distributor within 60 s of the wait's
end (loss + ``--wait-seconds``, 3 minutes).

Phase 2, **the Network Operator down**: the storm again; at ``--outage-at`` the Electricity Distributor of
region 2 goes down (its endpoint refuses connections) and every hub of region 2 loses power; after
``--down-seconds`` (10 minutes) it comes back and the storm stops, so what it then receives is its backlog:
its order (priority classes: AD1s first), completeness and drain time are reported.

The throttle window is the catalogue's own (an hour as packaged: each device's first 3 alerts of a code go to its
Supplier, the rest are counted into a summary sent when the hour ends, after the run); ``--quick`` shortens it to
10 s, and ``--throttle-window`` to any, through a copy of the catalogue, so that summaries arrive within the run.

``--engine jetstream`` runs the gateway's request log and northbound cache on JetStream: on the servers
``--nats-urls`` names, or else on a 3-node cluster on loopback started here (Debian's ``nats-server``, streams of 3
replicas). ``--postgres`` puts the database on a throwaway PostgreSQL started here (``--database-url`` names an
empty one instead). ``--kill-node-at S`` kills (SIGKILL) the NATS node leading the northbound stream S seconds after
phase 1's power loss, and starts it again ``--node-down-seconds`` later: every figure below is then measured through
the leader's loss.

Every figure is computed from what the endpoints received (``_storm_analysis``). Beside them, in the same run,
the machine's ceilings: the bare loopback POST rate of the endpoint servers, and ``openssl speed ecdsap256``
signs per core (every alert the DCC sends is signed). A table, then one ``RESULT {...}`` JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _storm_analysis import (  # noqa: E402
    Outage,
    duplicates,
    outage_figures,
    per_user,
    return_figures,
    storm_figures,
)
from _storm_dataset import build_dataset, supplier_user  # noqa: E402
from _storm_driver import (  # noqa: E402
    AlertSink,
    HttpSink,
    PipelineMissing,
    StormStats,
    build_in_process_pipeline,
    power_loss,
    register_source,
    storm,
)
from _storm_duis import sample_device_alert  # noqa: E402
from _storm_endpoints import REFUSE, FleetProcess, Received, blast  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from gateway import _free_port, _proc_cpu, make_user, openssl_speed  # noqa: E402

console = Console(width=150)
#: the alert source the driver signs its batches as (``gbsmart alerts add-source``)
SOURCE = "alert-storm"
DEFAULT_WAIT_S, DEADLINE_S = 180.0, 60.0
CEILING_USER = "90-B3-D5-1F-A5-0F-00-01"  # an endpoint only the ceiling measurement posts to


_T0 = time.monotonic()


def note(message: str) -> None:
    """A progress line on stderr, with the seconds since the start (the RESULT line stays alone on stdout)."""
    print(f"[{time.monotonic() - _T0:7.1f} s] {message}", file=sys.stderr, flush=True)


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        code, _, share = part.partition("=")
        mix[code.strip().upper()] = float(share)
    if not mix or any(v <= 0 for v in mix.values()):
        raise SystemExit(f"--mix {text!r}: give CODE=SHARE pairs with positive shares, e.g. 8F3E=0.7,8F12=0.3")
    return mix


class Nats:
    """The JetStream servers of a run: those ``--nats-urls`` names, or a 3-node cluster on loopback started here
    (which ``--kill-node-at`` may kill a node of)."""

    def __init__(self, urls: list[str], cluster: Any, replicas: int) -> None:
        import uuid

        self.urls, self.cluster, self.replicas = urls, cluster, replicas
        tag = uuid.uuid4().hex[:8]
        self.stream, self.prefix = f"STORM{tag.upper()}", f"storm{tag}.req"  # streams of this run's own
        self.killed: dict[str, Any] = {}

    @classmethod
    def start(cls, args: argparse.Namespace, work: Path) -> Nats:
        if args.nats_urls:
            return cls([u.strip() for u in args.nats_urls.split(",") if u.strip()], None, args.nats_replicas or 1)
        sys.path.insert(0, str(ROOT))
        from tests.plugins.nats import NatsCluster, find_binary

        binary = find_binary()
        if binary is None:
            raise SystemExit("no nats-server: apt-get install nats-server (scripts/test installs it), or give "
                             "--nats-urls")
        cluster = NatsCluster(binary, work / "nats", 3)
        cluster.start()
        return cls(cluster.urls, cluster, args.nats_replicas or 3)

    def settings(self) -> dict[str, str]:
        return {"GBSMART_MESSAGE_ENGINE": "jetstream", "GBSMART_NATS_URLS": ",".join(self.urls),
                "GBSMART_NATS_STREAM": self.stream, "GBSMART_NATS_SUBJECT_PREFIX": self.prefix,
                "GBSMART_NATS_REPLICAS": str(self.replicas)}

    def figures(self) -> dict[str, Any]:
        return {"nats_nodes": len(self.urls), "nats_replicas": self.replicas, **self.killed}

    async def _leader(self) -> str:
        import nats

        nc = await nats.connect(self.urls)
        try:
            info = await nc.jetstream().stream_info(f"{self.stream}_NORTHBOUND")
            return str(info.cluster.leader if info.cluster is not None else "")
        finally:
            await nc.close()

    def kill_leader(self, after: float, down: float) -> None:
        """(In a thread.) ``after`` seconds on, SIGKILL the node leading the northbound stream; start it again
        ``down`` seconds later."""
        if self.cluster is None:
            raise SystemExit("--kill-node-at needs the cluster started here (not --nats-urls)")
        time.sleep(after)
        leader = asyncio.run(self._leader())
        index = int(leader.removeprefix("node")) if leader.startswith("node") else 0
        node = self.cluster.nodes[index]
        node.kill()
        killed_at = time.time()
        note(f"killed NATS node{index} (SIGKILL), the northbound stream's leader; back in {down:g} s")
        self.killed = {"node_killed": f"node{index}", "node_killed_was_leader": leader == f"node{index}",
                       "node_killed_after_loss_s": after, "node_down_s": down}
        time.sleep(down)
        node.start()
        self.killed["node_restarted_after_s"] = round(time.time() - killed_at, 1)

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()


class Scenario:
    """One run: the endpoints, the dataset, the pipeline, the two phases; every arrival kept for the analysis."""

    def __init__(self, args: argparse.Namespace, work: Path, url: str = "", nats: Nats | None = None) -> None:
        self.args, self.work = args, work
        self.url = url or f"sqlite:///{work / 'storm.db'}"
        self.nats = nats
        self.env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GBSMART_DATABASE_URL": self.url,
                    "GBSMART_DATA_DIR": str(work / "var"), "GBSMART_SIMULATOR_ENABLED": "false"}
        if nats is not None:
            self.env.update(nats.settings())
        if args.wait_seconds != DEFAULT_WAIT_S:
            rule = outage_rule_file(work, args.wait_seconds)
            if rule is not None:
                self.env["GBSMART_ALERTS_OUTAGE_FILE"] = str(rule)
        window = getattr(args, "throttle_window", 0)  # 0: the catalogue's own window
        catalogue = catalogue_file(work, window) if window else None
        if catalogue is not None:
            self.env["GBSMART_ALERTS_CATALOGUE_FILE"] = str(catalogue)
        self.api: dict[str, Any] = {}
        self.key, certificate = make_user("90-B3-D5-1F-A5-0E-00-01", 0xA5E)
        self.certificate_pem = certificate.public_bytes(Encoding.PEM)
        self.gateway: subprocess.Popen | None = None
        self.figures: dict[str, Any] = {}

    def wait_until(self, fleet: FleetProcess, dcc_expected: int, deadline: float, quiet_s: float = 3.0) -> None:
        """Until ``dcc_expected`` DCC Alerts have arrived and nothing more for ``quiet_s``, or ``deadline``."""
        last_total, last_change = -1, time.time()
        while time.time() < deadline:
            total, dcc = fleet.count()
            if total != last_total:
                last_total, last_change = total, time.time()
            if dcc >= dcc_expected and time.time() - last_change >= quiet_s:
                return
            time.sleep(0.25)

    async def phase(self, sink: AlertSink, devices: dict[str, list[str]], mix: dict[str, float], hubs: list[str],
                    *, storm_until: float, fleet: FleetProcess | None = None, down_user: str = "",
                    seed: int = 5) -> tuple[StormStats, float, float]:
        """The storm, a power loss at --outage-at (the endpoint ``down_user`` down just before it, for
        --down-seconds, the storm stopping at its return); returns (storm stats, loss time, return time)."""
        args = self.args
        stop = asyncio.Event()
        stats = StormStats()
        task = asyncio.create_task(storm(sink, devices, mix, args.rate, stop, seed=seed, stats=stats))
        await asyncio.sleep(args.outage_at)
        if task.done():
            task.result()  # the sink failed: say why
        if down_user and fleet is not None:
            await asyncio.to_thread(fleet.go_down, down_user, REFUSE)
        lost_at = await power_loss(sink, hubs)
        if not down_user and self.nats is not None and getattr(args, "kill_node_at", 0):
            self.killer = asyncio.create_task(asyncio.to_thread(self.nats.kill_leader, args.kill_node_at,
                                                                args.node_down_seconds))
        returned_at = 0.0
        if down_user and fleet is not None:
            await asyncio.sleep(max(0.0, lost_at + args.down_seconds - time.time()))
            await asyncio.to_thread(fleet.come_up, down_user)
            returned_at = time.time()
        else:
            await asyncio.sleep(max(0.0, storm_until - time.time()))
        stop.set()
        await task
        return stats, lost_at, returned_at

    async def drive(self, fleet: FleetProcess, data: Any) -> dict[str, Any]:
        args = self.args
        mix = parse_mix(args.mix)
        devices = {code: (data.all_hubs() if code == "8F12" else data.meter_ids) for code in mix}
        pipeline = None
        sink: AlertSink
        if args.sink == "http":
            from gbsmart.config import Settings

            register_source(Settings(data_dir=self.work / "var", database_url=self.url), SOURCE, self.certificate_pem)
            port = _free_port()
            self.gateway = await asyncio.to_thread(self.start_gateway, port)
            sink = HttpSink(f"http://127.0.0.1:{port}", SOURCE, self.key, timeout=args.api_timeout)
        else:
            os.environ.update({k: v for k, v in self.env.items() if k.startswith("GBSMART_")})
            from gbsmart.config import Settings

            premises = data.premises()
            pipeline = await build_in_process_pipeline(self.url, Settings(),
                                                       lambda hub: premises.get(hub, (None, None)))
            sink = pipeline.sink
        cpu0 = self.cpu()
        note(f"pipeline up ({args.sink}); phase 1: the storm, {len(data.hub_ids[0]):,} hubs lose power at "
             f"{args.outage_at:g} s")
        try:
            started = time.time()
            storm_until = started + max(args.seconds, args.outage_at + args.wait_seconds + 5)
            one, lost1, _ = await self.phase(sink, devices, mix, data.hub_ids[0], storm_until=storm_until)
            collect = args.collect_seconds or DEADLINE_S + args.grace
            quiet = 2.0 if args.quick else 3.0  # seconds with nothing arriving that end a phase's collection
            await asyncio.to_thread(self.wait_until, fleet, len(data.hub_ids[0]), lost1 + args.wait_seconds + collect,
                                    quiet)
            phase1_end = time.time()
            note("phase 2: the storm, the Network Operator down, the power loss")
            two, lost2, back = await self.phase(sink, devices, mix, data.hub_ids[1], storm_until=0, fleet=fleet,
                                                down_user=data.network_users[1], seed=6)
            await asyncio.to_thread(self.wait_until, fleet, len(data.hub_ids[0]) + len(data.hub_ids[1]),
                                    back + args.wait_seconds + collect, quiet)
            ended = time.time()
            note("collected; stopping the pipeline")
        finally:
            killer = getattr(self, "killer", None)
            if killer is not None:  # the killed node is started again before anything stops
                await killer
            cpu = self.cpu() - cpu0
            if isinstance(sink, HttpSink):
                self.api = {"api_posts": sink.requests, "api_429_answers": sink.refused_full,
                            "api_slowest_answer_s": round(sink.slowest_answer_s, 3)}
                await sink.close()
            if pipeline is not None:
                await pipeline.close()
            self.stop_gateway()
        return {"phase1": one, "lost1": lost1, "phase1_end": phase1_end, "phase2": two, "lost2": lost2,
                "returned": back, "started": started, "ended": ended, "cpu": cpu, "api": self.api,
                "nats": self.nats.figures() if self.nats is not None else {}}

    def start_gateway(self, port: int) -> subprocess.Popen:
        """``gbsmart gateway serve`` on the scenario's database, its output to ``gateway.log`` (a pipe nobody
        reads would fill up and stall it), ready once it accepts connections."""
        self.gateway_log = self.work / "gateway.log"
        with self.gateway_log.open("wb") as out:
            process = subprocess.Popen([sys.executable, "-m", "gbsmart.cli", "gateway", "serve", "--port", str(port)],
                                       env=self.env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"the gateway exited: {self.gateway_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return process
            except OSError:
                time.sleep(0.1)
        process.kill()
        raise SystemExit(f"the gateway did not start within 90 s: {self.gateway_tail()}")

    def gateway_tail(self, chars: int = 3000) -> str:
        path = getattr(self, "gateway_log", None)
        return path.read_text(errors="replace")[-chars:] if path is not None and path.exists() else ""

    def cpu(self) -> float:
        own = time.process_time()
        if self.gateway is not None and self.gateway.poll() is None:
            own += _proc_cpu(self.gateway.pid)
        return own

    def stop_gateway(self) -> None:
        if self.gateway is None:
            return
        self.gateway.send_signal(signal.SIGTERM)
        try:
            self.gateway.wait(30)
        except subprocess.TimeoutExpired:
            self.gateway.kill()
            self.gateway.wait()
        self.gateway = None


def outage_rule_file(work: Path, wait_seconds: float) -> Path | None:
    """A copy of the packaged power outage rule (``alerts/outage.toml``) with the wait changed, or None when
    the rule is not on this branch (then the pipeline is missing too, and the run says so)."""
    import re
    from importlib.resources import files

    try:
        packaged = files("gbsmart.alerts").joinpath("outage.toml")
        text = packaged.read_text()
    except (FileNotFoundError, ModuleNotFoundError):
        return None
    changed, n = re.subn(r"(?m)^wait_seconds\s*=.*$", f"wait_seconds = {wait_seconds:g}", text)
    if n != 1:
        raise SystemExit("alerts/outage.toml has no single wait_seconds line: the benchmark cannot shorten the wait")
    path = work / "outage.toml"
    path.write_text(changed)
    return path


def _catalogue_window() -> float:
    """The packaged catalogue's throttle window (seconds)."""
    import tomllib

    from gbsmart.alerts.catalogue import PACKAGED_CATALOGUE

    return float(tomllib.loads(PACKAGED_CATALOGUE.read_text())["throttle"]["window_seconds"])


CATALOGUE_WINDOW_S = _catalogue_window()


def catalogue_file(work: Path, window_seconds: float) -> Path | None:
    """A copy of the packaged alert catalogue (``alerts/catalogue.toml``) with the throttle window changed: the
    packaged hour is longer than a run, so no throttle summary would reach an endpoint during it."""
    import re
    from importlib.resources import files

    try:
        text = files("gbsmart.alerts").joinpath("catalogue.toml").read_text()
    except (FileNotFoundError, ModuleNotFoundError):
        return None
    changed, n = re.subn(r"(?m)^window_seconds\s*=.*$", f"window_seconds = {window_seconds:g}", text)
    if n != 1:
        raise SystemExit("alerts/catalogue.toml has no single window_seconds line: the benchmark cannot shorten "
                         "the throttle window")
    path = work / "catalogue.toml"
    path.write_text(changed)
    return path


def ceilings(fleet: FleetProcess, seconds: float, openssl_seconds: int) -> dict[str, Any]:
    """The bare loopback POST rate to an endpoint server (a signed alert body), and ECDSA P-256 signs per core."""
    from gbsmart.gateway.fastsig import sign

    key, cert = make_user("90-B3-D5-1F-30-01-00-00", 0xA5)
    body = sign(sample_device_alert(CEILING_USER, "00-DC-A5-00-00-00-00-01", "8F3E", datetime.now(UTC), 1), key, cert)
    posts, took = asyncio.run(blast(fleet.urls[CEILING_USER], body, seconds, connections=16))
    sign_s, _ = openssl_speed(openssl_seconds)
    return {"endpoint_ceiling_posts_per_s": round(posts / took), "ecdsa_sign_per_core": round(sign_s),
            "cores": os.cpu_count() or 1}


def peak_rate(received: list[Received], since: float, until: float) -> int:
    """The most messages the endpoints received in one second between ``since`` and ``until``."""
    bins = Counter(int(r.at) for r in received if since <= r.at < until)
    return max(bins.values(), default=0)


def analyse(args: argparse.Namespace, data: Any, run: dict[str, Any], received: list[Received],
            ceiling: dict[str, Any]) -> dict[str, Any]:
    """Every figure of the run, from the endpoints' records, beside the ceilings measured before it."""
    f: dict[str, Any] = dict(ceiling)
    f.update(run.get("nats", {}))
    one: StormStats = run["phase1"]
    two: StormStats = run["phase2"]
    outages1 = [Outage(h, data.network_users[0], run["lost1"], str(m))
                for h, m in zip(data.hub_ids[0], data.mpans[0], strict=True)]
    outages2 = [Outage(h, data.network_users[1], run["lost2"], str(m))
                for h, m in zip(data.hub_ids[1], data.mpans[1], strict=True)]
    f["storm_alerts_per_s"] = round(one.rate)
    f.update(run.get("api", {}))
    f["storm_alerts_sent"] = one.sent + two.sent
    f["storm_behind_schedule_max_s"] = round(max(one.behind_max_s, two.behind_max_s), 2)
    f.update(outage_figures(outages1, received, wait_s=args.wait_seconds, deadline_s=DEADLINE_S))
    f["lost"] = f["ad1_lost"]
    f["duplicates"] = duplicates(received)
    down = outage_figures(outages2, received, wait_s=args.wait_seconds, deadline_s=DEADLINE_S, prefix="down_ad1")
    f.update({k: v for k, v in down.items() if k in ("down_ad1_expected", "down_ad1_delivered", "down_ad1_lost",
                                                       "down_ad1_duplicates", "down_ad1_misrouted",
                                                       "down_ad1_wrong_start", "down_ad1_wrong_mpxn")})
    f["down_seconds"] = args.down_seconds
    f["down_storm_alerts_per_s"] = round(two.rate)
    f.update(return_figures(received, data.network_users[1], run["returned"], prefix="down_return"))
    after = [r.at - run["returned"] for r in received if r.user_id == data.network_users[1]
             and r.code == "AD1" and r.at >= run["returned"]]
    f["down_return_ad1_p99_s"] = round(sorted(after)[int(0.99 * (len(after) - 1))], 3) if after else 0.0
    f.update(storm_figures(received))
    f["received_per_user"] = per_user(received, {u: u for u in data.users})
    peak = peak_rate(received, run["started"], run["ended"])
    f["delivered_peak_per_s"] = peak
    f["cpu_seconds"] = round(run["cpu"], 1)
    f["storm_alerts_per_cpu_s"] = round(f["storm_alerts_sent"] / max(run["cpu"], 1e-9))
    f["endpoint_ceiling_vs_peak"] = round(f["endpoint_ceiling_posts_per_s"] / max(peak, 1), 1)
    f["sign_ceiling_per_s"] = f["ecdsa_sign_per_core"] * f["cores"]
    f["sign_ceiling_vs_peak"] = round(f["sign_ceiling_per_s"] / max(peak, 1), 1)
    return f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="under a minute: 2,000 alerts/s, 1,000 hubs a region, "
                        "the wait 6 s and the Network Operator down 10 s (said in the output)")
    parser.add_argument("--rate", type=float, default=0, help="storm alerts a second (default 6,000; quick 2,000)")
    parser.add_argument("--seconds", type=float, default=0, help="phase 1's storm, at least until 5 s past the wait's "
                        "end (default 300, past the deadline too; quick 12)")
    parser.add_argument("--hubs", type=int, default=0, help="Communications Hubs losing power in each phase "
                        "(default 10,000; quick 1,000)")
    parser.add_argument("--outage-at", type=float, default=0, help="seconds into each phase's storm the power "
                        "goes (default 60; quick 2)")
    parser.add_argument("--wait-seconds", type=float, default=0, help="the power outage rule's wait (default 180, "
                        "the rule's; quick 6: then the gateway is started with it shortened, and the output says so)")
    parser.add_argument("--down-seconds", type=float, default=0, help="the Network Operator's endpoint down in "
                        "phase 2, from the power loss (default 600; quick 8; more than the wait)")
    parser.add_argument("--grace", type=float, default=0, help="seconds past a deadline to keep collecting "
                        "(default 30; quick 5)")
    parser.add_argument("--collect-seconds", type=float, default=0, help="how long after the wait's end (phase 1) "
                        "or the return (phase 2) to keep collecting AD1s at most (default the deadline + --grace; "
                        "an AD1 arriving later counts as lost)")
    parser.add_argument("--throttle-window", type=float, default=0, help="the throttle window for the run, "
                        "through a copy of the catalogue (default: the catalogue's own, 3,600 s as packaged, so no "
                        "summary arrives within a run; quick 10 s, so summaries do arrive; the output says which)")
    parser.add_argument("--suppliers", type=int, default=4, help="Import Suppliers, each a User (default 4)")
    parser.add_argument("--mix", default="8F3E=0.7,8F12=0.3", help="the storm's codes and shares "
                        "(default 8F3E=0.7,8F12=0.3: 8F3E from the meters, 8F12 from the hubs)")
    parser.add_argument("--sink", choices=("http", "in-process"), default="http", help="where alerts go in: "
                        "POST /api/v1/alerts on `gbsmart gateway serve` (default), or AlertIntake in this process")
    parser.add_argument("--openssl-seconds", type=int, default=0, help="seconds of openssl speed (3; quick 1)")
    parser.add_argument("--dir", type=Path, default=None, help="directory for the work files (default: a new one "
                        "under the current directory, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (the database, the "
                        "gateway's log) and say where it is")
    parser.add_argument("--api-timeout", type=float, default=300, help="seconds a POST to the alert API may take "
                        "before the run fails (default 300: gbsmart's back-pressure is measured, not refused)")
    parser.add_argument("--engine", choices=("embedded", "jetstream"), default="embedded", help="the gateway's "
                        "message path: embedded (the default, as scripts/run) or on JetStream")
    parser.add_argument("--nats-urls", default="", help="with --engine jetstream: existing NATS servers "
                        "(comma-separated; default: a 3-node cluster on loopback started here)")
    parser.add_argument("--nats-replicas", type=int, default=0, help="copies of each stream (default 3 on the "
                        "cluster started here, else 1)")
    parser.add_argument("--postgres", action="store_true", help="the database on a throwaway PostgreSQL "
                        "started here (default: SQLite)")
    parser.add_argument("--database-url", default="", help="an empty database to use instead (PostgreSQL URL)")
    parser.add_argument("--kill-node-at", type=float, default=0, help="with --engine jetstream: seconds after "
                        "phase 1's power loss to kill -9 the NATS node leading the northbound stream")
    parser.add_argument("--node-down-seconds", type=float, default=10, help="how long the killed node stays "
                        "down (default 10)")
    args = parser.parse_args()
    quick = args.quick
    if args.engine == "jetstream" and args.sink != "http":
        raise SystemExit("--engine jetstream runs in the gateway process: use --sink http (the default)")
    if args.kill_node_at and (args.engine != "jetstream" or args.nats_urls):
        raise SystemExit("--kill-node-at needs --engine jetstream on the cluster started here (no --nats-urls)")
    args.rate = args.rate or (2_000 if quick else 6_000)
    args.seconds = args.seconds or (12 if quick else 300)
    args.hubs = args.hubs or (1_000 if quick else 10_000)
    args.outage_at = args.outage_at or (2 if quick else 60)
    args.wait_seconds = args.wait_seconds or (6 if quick else DEFAULT_WAIT_S)
    args.down_seconds = args.down_seconds or (8 if quick else 600)
    args.grace = args.grace or (5 if quick else 30)
    args.throttle_window = args.throttle_window or (10 if quick else 0)  # 0: the catalogue's own window
    args.openssl_seconds = args.openssl_seconds or (1 if quick else 3)
    if args.down_seconds <= args.wait_seconds:
        raise SystemExit(f"--down-seconds ({args.down_seconds:g}) must be more than the wait ({args.wait_seconds:g}"
                         " s): the AD1s are to be made while the Network Operator is down")

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="alert-storm-", dir=args.dir or Path.cwd()))
    fleet: FleetProcess | None = None
    nats: Nats | None = None
    postgres = contextlib.ExitStack()
    try:
        url = args.database_url or f"sqlite:///{work / 'storm.db'}"
        if args.postgres and not args.database_url:
            sys.path.insert(0, str(ROOT))
            from tests.plugins.pg import find_bindir, running_server

            bindir = find_bindir()
            if bindir is None:
                raise SystemExit("no PostgreSQL server binaries: apt-get install postgresql-15 (scripts/test "
                                 "installs it), or give --database-url")
            url = postgres.enter_context(running_server(bindir)).new_database("storm")
        if args.engine == "jetstream":
            nats = Nats.start(args, work)
        users = [supplier_user(k) for k in range(1, args.suppliers + 1)]
        from _storm_dataset import network_user

        users += [network_user(1), network_user(2), CEILING_USER]
        fleet = FleetProcess(users)
        urls = {u: url for u, url in fleet.start().items() if u != CEILING_USER}
        data = build_dataset(url, args.hubs, regions=2, suppliers=args.suppliers, urls=urls)
        figures: dict[str, Any] = {"hubs_per_phase": args.hubs, "rate_asked": args.rate, "sink": args.sink,
                                   "engine": args.engine, "database": url.split(":", 1)[0].split("+", 1)[0],
                                   "wait_s": args.wait_seconds, "wait_shortened": args.wait_seconds != DEFAULT_WAIT_S,
                                   "deadline_s": DEADLINE_S, "dataset_seconds": data.seconds, "quick": quick,
                                   "throttle_window_s": args.throttle_window or CATALOGUE_WINDOW_S,
                                   "throttle_window_shortened": args.throttle_window not in (0, CATALOGUE_WINDOW_S)}
        note(f"dataset built in {data.seconds} s; measuring the ceilings")
        ceiling = ceilings(fleet, 1 if quick else 5, args.openssl_seconds)
        scenario = Scenario(args, work, url, nats)
        try:
            run = asyncio.run(scenario.drive(fleet, data))
        except PipelineMissing as exc:
            console.print(f"[red]The alert storm cannot run:[/] {exc}")
            raise SystemExit(2) from None
        except Exception:
            console.print(f"[red]The run failed.[/] The gateway's last output:\n{scenario.gateway_tail()}")
            raise
        note("reading what the endpoints received")
        received, stats = fleet.records()
        received = [r for r in received if r.user_id != CEILING_USER]
        figures.update(analyse(args, data, run, received, ceiling))
        figures["endpoint_stats"] = {s["user_id"]: {k: v for k, v in s.items() if k in ("posts", "dropped_while_down")}
                                     for s in stats if s["user_id"] != CEILING_USER}
    finally:
        if fleet is not None:
            fleet.stop()
        if nats is not None:
            nats.stop()
        postgres.close()
        if args.keep:
            console.print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    figures["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    figures["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report(figures)
    print("RESULT " + json.dumps(figures), flush=True)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def report(f: dict[str, Any]) -> None:
    wait = f"{f['wait_s']:g} s" + (" (SHORTENED from the rule's 180 s)" if f["wait_shortened"] else "")
    table = Table(title=f"Alert storm: {f['rate_asked']:,.0f} alerts/s asked, {f['hubs_per_phase']:,} hubs a phase, "
                        f"sink {f['sink']}, engine {f['engine']} on {f['database']}"
                        + (f" and {f['nats_nodes']} NATS node(s), {f['nats_replicas']} replica(s)" if f.get(
                            "nats_nodes") else "")
                        + f", wait {wait} ({f['date']}, load average {f['load_average'][0]} -> "
                        f"{f['load_average'][1]})")
    for column in ("figure", "goal", "measured"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    table.add_row("storm alerts/s taken (phase 1)", "≥ 6,000", f"{f['storm_alerts_per_s']:,}")
    table.add_row("    per CPU second (driver + gateway)", "", f"{f['storm_alerts_per_cpu_s']:,}")
    table.add_row("AD1 expected / delivered", "", f"{f['ad1_expected']:,} / {f['ad1_delivered']:,}")
    table.add_row("AD1 within 60 s of the wait's end", "100%",
                  f"{f['ad1_within_60s']:,} ({100 * f['ad1_within_share']:.1f}%)")
    table.add_row("AD1 delay after the wait's end p50 / p99 / max", "≤ 60 s",
                  f"{f['ad1_p50_s']} / {f['ad1_p99_s']} / {f['ad1_max_s']} s")
    table.add_row("AD1 lost / duplicates (all messages) / early / misrouted / wrong start or MPxN", "0",
                  f"{f['lost']} / {f['duplicates']} / {f['ad1_early']} / {f['ad1_misrouted']} / "
                  f"{f['ad1_wrong_start']} or {f['ad1_wrong_mpxn']}")
    table.add_row(f"NO down {f['down_seconds']:g} s: AD1 expected / delivered / lost", "",
                  f"{f['down_ad1_expected']:,} / {f['down_ad1_delivered']:,} / {f['down_ad1_lost']}")
    table.add_row("    on return: backlog, in priority order, AD1s first", "100%",
                  f"{f['down_return_backlog']:,}, {_share(f['down_return_in_priority_order_share'])}, "
                  f"{_share(f['down_return_ad1_first_share'])}")
    table.add_row("    backlog drained in (all / AD1s), AD1 p99 after return", "",
                  f"{f['down_return_drain_s']} / {f['down_return_ad1_drain_s']} / {f['down_return_ad1_p99_s']} s")
    if f.get("node_killed"):
        table.add_row(f"NATS {f['node_killed']} (the northbound stream's leader: {f['node_killed_was_leader']}) "
                      f"killed -9 {f['node_killed_after_loss_s']:g} s after the loss", "nothing lost",
                      f"back after {f.get('node_restarted_after_s', '-')} s")
    table.add_row("alert API: POSTs / 429 (intake full, paced) / slowest answer", "prompt",
                  f"{f.get('api_posts', '-')} / {f.get('api_429_answers', '-')} / "
                  f"{f.get('api_slowest_answer_s', '-')} s")
    shortened = f", SHORTENED from the catalogue's {CATALOGUE_WINDOW_S:,.0f} s" if f["throttle_window_shortened"] \
        else ", the catalogue's"
    table.add_row(f"device alerts received, throttle summaries (alerts counted; window {f['throttle_window_s']:g} s"
                  f"{shortened})", "",
                  f"{f['storm_device_alerts_received']:,}, {f['storm_throttle_summaries']:,} "
                  f"({f['storm_throttled_alerts_counted']:,})")
    table.add_row("schema-checked sample invalid / garbage", "0", f"{f['storm_schema_invalid']} of "
                  f"{f['storm_schema_checked']:,} / {f['storm_garbage']}")
    table.add_row("peak delivered messages/s", "", f"{f['delivered_peak_per_s']:,}")
    table.add_row("    endpoint bare loopback POSTs/s (ceiling)", "", f"{f['endpoint_ceiling_posts_per_s']:,} "
                  f"({f['endpoint_ceiling_vs_peak']}x peak)")
    table.add_row("    ECDSA P-256 signs/s (openssl, per core x cores)", "", f"{f['ecdsa_sign_per_core']:,} x "
                  f"{f['cores']} ({f['sign_ceiling_vs_peak']}x peak)")
    console.print(table)
    console.print(f"received per User: {f['received_per_user']}; backlog by code: {f['down_return_backlog_by_code']}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
