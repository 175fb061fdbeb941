"""The alert-deadline scenario with the message path on a 3-node JetStream cluster and PostgreSQL (issue 12's "done
when"): ``benchmarks/alert_storm.py`` at a small size, the real ``gbsmart gateway serve`` on JetStream, the NATS node
leading the northbound stream killed -9 just after the power loss. Every AD1 must still reach its Network Operator
within 60 s, none lost and none twice, and the down Network Operator must get its whole backlog when it returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_power_outage_alerts_meet_their_deadline_on_a_cluster_with_its_leader_killed(postgresql_server, tmp_path):
    url = postgresql_server.new_database("storm")
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "alert_storm.py"), "--quick",
                          "--engine", "jetstream", "--database-url", url, "--kill-node-at", "1",
                          "--node-down-seconds", "4", "--hubs", "300", "--rate", "400", "--seconds", "6",
                          "--outage-at", "1", "--wait-seconds", "3", "--down-seconds", "5", "--grace", "3",
                          "--collect-seconds", "20", "--openssl-seconds", "1", "--dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=400, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (line,) = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")]
    f = json.loads(line[len("RESULT "):])
    assert (f["engine"], f["database"], f["nats_nodes"], f["nats_replicas"]) == ("jetstream", "postgresql", 3, 3)
    assert f["node_killed_was_leader"] is True and f["node_restarted_after_s"] >= 4
    assert f["ad1_expected"] == f["ad1_delivered"] == f["ad1_within_60s"] == 300
    assert f["lost"] == 0 and f["duplicates"] == 0 and f["ad1_misrouted"] == 0 and f["ad1_wrong_mpxn"] == 0
    assert f["down_ad1_expected"] == f["down_ad1_delivered"] == 300 and f["down_ad1_lost"] == 0
    assert f["down_return_ad1_first_share"] == 1.0
    assert f["storm_device_alerts_received"] > 0 and f["storm_schema_invalid"] == 0
