"""benchmarks/gateway.py runs end to end at small sizes and reports every figure docs/benchmarks.md quotes.

The real thing in miniature: an index of 100,000 devices built in memory, the core path through the durable
log, `gbsmart gateway serve` as a subprocess driven with signed requests over HTTP, and `openssl speed`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("core_rps", "core_ceiling_rps", "http_signed_rps", "http_p50_ms", "http_p99_ms",
        "ecdsa_verify_ceiling_per_core", "devices", "peak_rss_mb")


def test_the_gateway_benchmark_quick_mode_reports_every_figure_beside_its_ceiling(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gateway.py"), "--quick", "--devices", "100000", "--requests",
         "2000", "--batch", "256", "--users", "4", "--per-user", "25", "--seconds", "5", "--openssl-seconds", "1",
         "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, run.stdout[-3000:]
    figures = json.loads(lines[0][len("RESULT "):])
    for key in KEYS:
        assert isinstance(figures[key], int | float) and figures[key] > 0, (key, figures.get(key))
    assert figures["devices"] == 100_000
    assert figures["http_p99_ms"] >= figures["http_p50_ms"]
    # the figures are real: every signed request over HTTP was verified, logged and acknowledged
    assert figures["http_codes"] == {"I99": figures["http_requests"]}
    # (b) ran the gateway as a supervisor and two workers, and measured the load generator's CPU beside it
    assert figures["http_workers"] == 2 and figures["http_server_cpu_us_per_request"] > 0
    assert figures["http_client_cpu_us_per_request"] > 0 and "client" in run.stdout
    # the core refused what it should (unknown devices, other Suppliers', Suspended ones) and logged the rest
    assert figures["core_accepted"] + figures["core_refused"] == figures["core_requests"]
    assert {"E19", "E4"} <= set(figures["core_codes"]) and figures["core_accepted"] > 0.85 * figures["core_requests"]
    assert figures["rss_54m_mb"] > figures["peak_rss_mb"] - 200 and figures["rss_54m_measured"] is False
    assert "(a) core" in run.stdout and "ceiling" in run.stdout
    assert not list(tmp_path.glob("gateway-bench-*")), "the benchmark left its work directory behind"
