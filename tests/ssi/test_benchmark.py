"""benchmarks/ssi_home.py runs at its quick size and reports every figure docs/benchmarks.md quotes, having found
what it looked for (the RequestID's request and response; a full first page)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_ssi_benchmark_quick_mode_reports_each_figure():
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ssi_home.py"), "--quick", "--repeat", "1"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "reader what" in run.stdout  # the table before the RESULT line
    figures = json.loads(next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))[7:])
    assert figures["requests"] == 50_000 and figures["database"] == "sqlite"
    for key in ("home_user_ms", "home_dcc_ms", "audit_user_ms", "audit_dcc_ms", "audit_request_id_ms"):
        assert figures[key] > 0
    found = figures["all"]
    assert found["audit_request_id_user_result"] == found["audit_request_id_dcc_result"] == 2  # request + response
    assert found["audit_user_result"] == found["audit_dcc_result"] == 50
    assert 0 < found["home_user_result"] < found["home_dcc_result"]  # one User's requests today, then every User's
