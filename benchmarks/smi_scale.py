"""SMI at national scale: load N devices, apply a CPL extract that removes models covering ~5M devices,
look device statuses up on the gateway path, and report time and memory.

    .venv/bin/python benchmarks/smi_scale.py --devices 54000000 --db sqlite
    .venv/bin/python benchmarks/smi_scale.py --devices 54000000 --db postgresql

Each run starts from nothing: SQLite a fresh file (deleted first, and deleted afterwards unless --keep),
PostgreSQL a throwaway cluster under /tmp (stopped and deleted at the end). Figures are printed as a table
and as one JSON line (``RESULT {...}``) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import text  # noqa: E402

import gbsmart.models  # noqa: E402,F401
import gbsmart.models.smi  # noqa: E402,F401
from gbsmart.config import Settings  # noqa: E402
from gbsmart.core.clock import FixedClock  # noqa: E402
from gbsmart.core.context import Actor, Ctx  # noqa: E402
from gbsmart.core.db import Base, make_engine, make_sessionmaker  # noqa: E402
from gbsmart.smi import service  # noqa: E402
from gbsmart.smi.generate import catalogue_entries, generate_inventory  # noqa: E402
from gbsmart.smi.lookup import PreparedLookup, StatusIndex  # noqa: E402
from gbsmart.smi.rules import SUSPENDABLE_CODES  # noqa: E402

console = Console()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_SERVER_PID: list[int] = []  # the PostgreSQL postmaster, when there is one


def _proc_cpu(pid: int, children_done: bool) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children_done else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    """CPU time of this process, plus the PostgreSQL server's (postmaster, its live and its ended backends).

    The machine is shared: wall-clock seconds include waiting for the CPU; CPU seconds do not.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    for pm in _SERVER_PID:
        total += _proc_cpu(pm, True)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == pm:
                        total += _proc_cpu(int(entry.name), False)
                except (OSError, ValueError, IndexError):
                    continue
    return total


class Phase:
    """Wall and CPU seconds of one phase, written into the figures as NAME_seconds and NAME_cpu_seconds."""

    def __init__(self, figures: dict, name: str) -> None:
        self.figures, self.name = figures, name

    def __enter__(self) -> Phase:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.figures[f"{self.name}_seconds"] = round(time.perf_counter() - self.wall, 1)
        self.figures[f"{self.name}_cpu_seconds"] = round(cpu_seconds() - self.cpu, 1)


def pick_removed(session, target: int) -> tuple[list[int], int]:  # noqa: ANN001
    """Models whose live devices add up to about ``target`` (greedy, largest first)."""
    live = ", ".join(str(c) for c in SUSPENDABLE_CODES)
    rows = session.execute(text(f"SELECT device_model_id, COUNT(*) FROM smi_devices WHERE device_model_id IS NOT NULL "
                                f"AND lifecycle_status IN ({live}) GROUP BY device_model_id ORDER BY 2 DESC")).all()
    chosen, total = [], 0
    for mid, count in rows:
        if total + count <= target * 1.03:
            chosen.append(mid)
            total += count
        if total >= target * 0.97:
            break
    return chosen, total


def extract_without(session, removed: list[int]) -> list[dict]:  # noqa: ANN001
    keys = {tuple(r) for r in session.execute(text(
        "SELECT manufacturer, model, hardware_version, firmware_version FROM smi_device_models WHERE id IN "
        f"({', '.join(str(i) for i in removed) or 'NULL'})"))}
    return [e for e in catalogue_entries()
            if (e["manufacturer"], e["model"], e["hardware_version"], e["firmware_version"]) not in keys]


def lookups_per_second(index: StatusIndex, ids: list[int]) -> tuple[float, float]:
    """Look-ups per wall-clock second and per CPU second of this (single-threaded) loop."""
    status = index.status
    started, cpu = time.perf_counter(), time.process_time()
    for d in ids:
        status(d)
    return len(ids) / (time.perf_counter() - started), len(ids) / (time.process_time() - cpu)


def run(url: str, args: argparse.Namespace, figures: dict) -> None:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    if not args.reuse:
        load(url, factory, args, figures)
    measure(url, factory, args, figures)
    engine.dispose()


def _ctx_of(session, url: str) -> Ctx:  # noqa: ANN001
    clock = FixedClock(datetime(2022, 7, 1, 9, 0, tzinfo=UTC))
    return Ctx(session=session, actor=Actor.system("benchmark"), clock=clock, settings=Settings(database_url=url))


def load(url: str, factory, args: argparse.Namespace, figures: dict) -> None:  # noqa: ANN001
    """1. The national inventory, generated and committed in one transaction."""
    def ctx_of(session) -> Ctx:  # noqa: ANN001
        return _ctx_of(session, url)

    with Progress(TextColumn("generate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("devices", total=args.devices)
        session = factory()
        with Phase(figures, "load"):
            result = generate_inventory(ctx_of(session), args.devices, seed=args.seed,
                                        progress=lambda n: bar.advance(task, n))
            session.commit()
        session.close()
    figures.update(devices=result.devices, premises=result.premises, registrations=result.registrations,
                   models=result.models, load_rows_seconds=result.load_seconds,
                   index_build_seconds=result.index_seconds,
                   rss_after_load_mb=round(rss_mb()))
    console.print(f"loaded {result.devices:,} devices in {figures['load_seconds']} s ({result})")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        figures["sqlite_file_gb"] = round(os.path.getsize(path) / 1e9, 2)


def measure(url: str, factory, args: argparse.Namespace, figures: dict) -> None:  # noqa: ANN001
    """2-5. Look-ups, an extract removing models, the index refresh, and the models listed again."""
    def ctx_of(session) -> Ctx:  # noqa: ANN001
        return _ctx_of(session, url)

    session = factory()
    # 2. the gateway's index, before the extract
    with Phase(figures, "index_load"):
        index = StatusIndex.load(session)
    figures["index_mb"] = round(index.nbytes() / 1e6)
    figures["rss_after_index_mb"] = round(rss_mb())
    rng = np.random.default_rng(args.seed)
    sample = rng.choice(index.ids, size=args.lookups)
    wall, cpu = lookups_per_second(index, sample.tolist())
    figures["lookups_per_s_single"], figures["lookups_per_cpu_s_single"] = round(wall), round(cpu)
    started, cpu0 = time.perf_counter(), time.process_time()
    for chunk in np.array_split(sample, max(1, len(sample) // 100_000)):
        index.status_many(chunk)
    figures["lookups_per_s_batch"] = round(len(sample) / (time.perf_counter() - started))
    figures["lookups_per_cpu_s_batch"] = round(len(sample) / (time.process_time() - cpu0))
    prepared = PreparedLookup(session)
    few = sample[: args.prepared].tolist()
    started = time.perf_counter()
    for d in few:
        prepared.status(d)
    figures["lookups_per_s_prepared_statement"] = round(len(few) / (time.perf_counter() - started))
    session.rollback()

    # 3. the extract: models covering ~target devices removed from the CPL
    removed, covered = pick_removed(session, args.removed)
    session.rollback()
    figures.update(removed_models=len(removed), removed_models_cover=covered)
    extract = extract_without(session, removed)
    session.rollback()
    ctx = ctx_of(session)
    seq = (service.last_applied_sequence(session) or 1) + 1
    with Phase(figures, "apply"):
        upsert = service.upsert_device_models(ctx, extract)
        applied = service.apply_cpl_statuses(ctx, extract_sequence=seq, reason=f"CPL extract {seq} (benchmark)")
        service.record_extract_application(ctx, seq, "0" * 64, applied)
        committing = time.perf_counter()
        session.commit()
        figures["apply_commit_seconds"] = round(time.perf_counter() - committing, 1)
    figures.update(apply_suspended=applied.suspended, apply_events=applied.events, upsert=upsert,
                   apply_steps=applied.steps,
                   apply_inside_seconds=applied.seconds, rss_after_apply_mb=round(rss_mb()))
    console.print(f"extract applied: {applied} in {figures['apply_seconds']} s")

    # 4. incremental refresh of the index, and a check against the database
    with Phase(figures, "index_refresh"):
        reread = index.refresh(session)
    figures["index_refresh_devices"] = reread
    check = rng.choice(index.ids, size=2000).tolist()
    figures["index_agrees_with_db"] = all(index.status(d) == prepared.status(d) for d in check)
    session.rollback()

    # 5. the models listed again: every suspended device restored
    ctx = ctx_of(session)
    with Phase(figures, "restore"):
        service.upsert_device_models(ctx, catalogue_entries())
        restored = service.apply_cpl_statuses(ctx, extract_sequence=seq + 1, reason="CPL extract (benchmark)")
        session.commit()
    figures.update(restore_restored=restored.restored, restore_events=restored.events, restore_steps=restored.steps)
    figures["rss_peak_mb"] = round(rss_mb())
    session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--dir", default="/tmp/gbsmart-bench", help="where the SQLite file goes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--removed", type=int, default=5_000_000, help="devices the removed models should cover")
    parser.add_argument("--lookups", type=int, default=2_000_000)
    parser.add_argument("--prepared", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    parser.add_argument("--reuse", metavar="FILE", help="measure on an SQLite file kept by --keep (no load)")
    args = parser.parse_args()
    figures: dict = {"db": args.db, "started": datetime.now(UTC).isoformat(timespec="seconds"),
                     "nproc": os.cpu_count(), "ram_gb": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
                                                             / 2**30, 1),
                     "loadavg_at_start": [round(x, 1) for x in os.getloadavg()]}
    total = time.perf_counter()
    if args.reuse:
        run(f"sqlite:///{Path(args.reuse).resolve()}", args, figures)
    elif args.db == "sqlite":
        folder = Path(args.dir)
        shutil.rmtree(folder, ignore_errors=True)  # a failed earlier run leaves nothing that matters
        folder.mkdir(parents=True)
        try:
            run(f"sqlite:///{folder / 'smi.db'}", args, figures)
        finally:
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    else:
        from _pg import bench_server

        with bench_server() as server:
            _SERVER_PID.append(int((server.data_dir / "postmaster.pid").read_text().split()[0]))
            url = server.new_database("smi_bench")
            run(url, args, figures)
    figures["total_seconds"] = round(time.perf_counter() - total, 1)
    figures["loadavg_at_end"] = [round(x, 1) for x in os.getloadavg()]
    table = Table(title=f"SMI at {args.devices:,} devices on {args.db}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in figures.items():
        table.add_row(k, f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))
    console.print(table)
    print("RESULT " + json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
