"""benchmarks/outage.py runs at its quick size and reports every figure docs/alerts.md quotes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_outage_benchmark_quick_mode_queues_every_ad1_within_the_deadline():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "outage.py"), "--quick"], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))[7:])
    assert figures["ad1_queued"] == figures["ad1_expected"] == 1100
    assert figures["restart_reloaded"] == 1100 and figures["northbound_rows"] == 2200
    assert figures["within_deadline"] is True
    for key in ("lost_batched_s", "ad1_last_queued_s", "ad1_run_due_cpu_s", "restorations_batched_s",
                "load_average"):
        assert key in figures
