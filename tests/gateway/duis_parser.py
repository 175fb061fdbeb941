"""``@smartdcc/duis-parser``, fetched from the npm registry at test time, run on DUIS files by parse_duis.js.

The package and its dependencies (``fast-xml-parser``, ``strnum``) are fetched with ``npm pack`` (pinned
versions, no install scripts run) into the pytest cache, unpacked into a ``node_modules`` tree, and nothing of
theirs is committed. Skipped, saying why, when the npm registry cannot be reached (``boxed._npm_pack``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gateway.boxed import _extract, _npm_pack

#: the parser and what it requires, pinned (duis-parser 0.6.0 asks for fast-xml-parser ^4.0.9, which asks strnum ^1)
PACKAGES = {"@smartdcc/duis-parser": "0.6.0", "fast-xml-parser": "4.5.3", "strnum": "1.1.2"}
SCRIPT = Path(__file__).with_name("parse_duis.js")


@dataclass(frozen=True)
class DuisParser:
    node_modules: Path

    def parse(self, files: dict[str, bytes], work: Path) -> dict[str, dict]:
        """Each file (name -> XML) parsed by the DCC's parser: name -> its JSON line."""
        work.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, data in files.items():
            paths[str(work / name)] = name
            (work / name).write_bytes(data)
        run = subprocess.run(["node", str(SCRIPT), *paths], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "NODE_PATH": str(self.node_modules)})
        assert run.returncode == 0, run.stderr
        lines = [json.loads(line) for line in run.stdout.splitlines()]
        return {paths[line["file"]]: line for line in lines}


@pytest.fixture(scope="session")
def duis_parser(request) -> DuisParser:
    if shutil.which("node") is None:
        pytest.fail("node is needed to run @smartdcc/duis-parser (the interop test of gbsmart's responses)")
    cache = Path(request.config.cache.mkdir(f"duis-parser-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"))
    modules = cache / "node_modules"
    for name, version in PACKAGES.items():
        target = modules / name
        if not (target / "package.json").exists():
            unpacked = _extract(_npm_pack(f"{name}@{version}", cache), cache / f"unpacked-{name.replace('/', '-')}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(unpacked, target, dirs_exist_ok=True)
    return DuisParser(modules)
