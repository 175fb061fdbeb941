"""benchmarks/jetstream.py and benchmarks/index_follow.py run end to end at small sizes and report their figures.

Real processes throughout: a nats-server each benchmark starts itself, the core on JetStream in one and in two
forked processes, bare publishes, signed DUIS over HTTP to `gbsmart gateway serve` processes, and (index_follow)
two gateway processes following a CPL extract's application.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugins.nats import find_binary

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("core_rps_1", "core_rps_2", "publish_ceiling_rps_1", "publish_ceiling_rps_2", "ceiling_vs_core_1",
        "ceiling_vs_core_2", "scaling_2_over_1", "embedded_core_rps", "http_embedded_rps", "http_jetstream_1_rps",
        "http_jetstream_2_rps")


def _result(run: subprocess.CompletedProcess[str]) -> dict:
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, run.stdout[-3000:]
    return json.loads(lines[0][len("RESULT "):])


@pytest.fixture(autouse=True)
def _needs_nats() -> None:
    if find_binary() is None:
        pytest.fail("no nats-server: run scripts/test, which installs it", pytrace=False)


def test_the_jetstream_benchmark_quick_mode_reports_each_figure_beside_its_ceiling(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "jetstream.py"), "--quick", "--devices", "100000",
                          "--requests", "3000", "--batch", "256", "--seconds", "3", "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    figures = _result(run)
    for key in KEYS:
        assert isinstance(figures[key], int | float) and figures[key] > 0, (key, figures.get(key))
    # the same requests refused for the same reasons on both engines' core, and every signed request acknowledged
    assert figures["core_accepted_1"] + figures["core_refused_1"] == 3000 - 64
    assert {"E19", "E4"} <= set(figures["core_codes_1"])
    for label in ("embedded", "jetstream_1", "jetstream_2"):
        assert set(figures[f"http_{label}_codes"]) == {"I99"}, figures[f"http_{label}_codes"]
    assert "bare js.publish" in run.stdout and "signed DUIS over HTTP" in run.stdout


def test_the_index_follow_benchmark_measures_each_process(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "index_follow.py"), "--rounds", "1",
                          "--refresh-seconds", "0.5"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    figures = _result(run)
    assert figures["processes"] == 2 and figures["samples"] == 4  # 2 processes x (suspend, restore)
    assert 0 < figures["follow_min_s"] <= figures["follow_p50_s"] <= figures["follow_max_s"] < 30
