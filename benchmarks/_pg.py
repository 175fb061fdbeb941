"""A throwaway PostgreSQL cluster for benchmarks, sized for tens of millions of rows.

Reuses ``tests/plugins/pg.py`` (binaries search, running as the ``postgres`` user when root) and only adds
server settings fit for a bulk load: bigger shared buffers, maintenance memory and WAL.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.plugins.pg import PostgresServer, find_bindir  # noqa: E402

BENCH_SETTINGS = {
    "shared_buffers": "4GB",
    "work_mem": "256MB",
    "maintenance_work_mem": "2GB",
    "max_wal_size": "16GB",
    "effective_cache_size": "16GB",
    "max_parallel_workers_per_gather": "2",
    "max_parallel_maintenance_workers": "2",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "temp_buffers": "256MB",
}


@contextlib.contextmanager
def bench_server() -> Iterator[PostgresServer]:
    """Start a cluster under /tmp; stop it and delete its files whatever happens."""
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("No PostgreSQL server binaries found (apt-get install postgresql-15).")
    base = Path(tempfile.mkdtemp(prefix="gbsmart-bench-pg-", dir="/tmp"))
    server = PostgresServer(bindir, base)
    try:
        server.init()
        with (server.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# gbsmart benchmark\n")
            conf.writelines(f"{k} = {v}\n" for k, v in BENCH_SETTINGS.items())
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)
