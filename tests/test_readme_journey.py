"""The README's CLI journey is docs/examples/cli-journey.sh, run here with the real `gbsmart` command against a
fresh database and data directory, so the commands a newcomer copies cannot drift from what works."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import gbsmart

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "docs" / "examples" / "cli-journey.sh"
GBSMART = Path(sys.executable).parent / "gbsmart"  # the console script pip installed, as the README runs it


def test_the_readme_shows_the_script_verbatim():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- docs/examples/cli-journey\.sh -->\n```bash\n(.*?)```", readme, re.S)
    assert block, "the README's CLI journey block is marked <!-- docs/examples/cli-journey.sh -->"
    assert block.group(1) == SCRIPT.read_text()


def test_the_cli_journey_runs_from_raising_to_implemented(tmp_path, db_url):
    env = {**os.environ, "GBSMART_DATABASE_URL": db_url, "GBSMART_DATA_DIR": str(tmp_path / "var"),
           "GBSMART": str(GBSMART), "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join([str(Path(gbsmart.__file__).parent.parent), os.environ.get("PYTHONPATH", "")])}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)

    for setup in (["db", "upgrade"], ["demo"]):
        done = run(str(GBSMART), *setup)
        assert done.returncode == 0, done.stderr
    # a proposal raised before the journey takes DP139, as the portal journey does: the script must not assume it
    taken = run(str(GBSMART), "change", "raise", "--as", "large", "--title", "Raised first in the portal",
                "--problem", "A Draft Proposal that takes the next reference before the journey runs.")
    assert taken.returncode == 0 and "raised DP139" in taken.stdout, taken.stdout + taken.stderr

    journey = run("bash", str(SCRIPT))
    assert journey.returncode == 0, journey.stdout[-3000:] + journey.stderr
    out = journey.stdout
    assert "✓ DP140: Ready to convert → Ready to convert" in out  # the DP the script raised, not DP139
    assert "✓ MP140: Close Change Board vote → Approved" in out
    assert "✓ MP140: Implemented → Implemented" in out
    # the tally by the portal's labels
    assert "Large Suppliers" in out and "Other Parties" in out and "large_supplier" not in out
    assert "valid: Approve" in out
