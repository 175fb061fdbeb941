"""mypy over src/gbsmart with the settings in pyproject.toml: zero errors in the strict modules, a ratchet elsewhere.

The strict modules (core/, models/, web/ and every rules.py and service.py) must have no error at all. Every other
module may have at most the number of errors tests/mypy_ratchet.json records for it, and that figure is lowered as
errors are fixed, so the count only goes down. docs/testing.md says how to run mypy by hand.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RATCHET = Path(__file__).with_name("mypy_ratchet.json")
STRICT_DIRS = ("src/gbsmart/core/", "src/gbsmart/models/", "src/gbsmart/web/", "src/gbsmart/gateway/")
STRICT_FILES = ("rules.py", "service.py")
ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+(?::\d+)?: error: ")


def is_strict(path: str) -> bool:
    return path.startswith(STRICT_DIRS) or path.rsplit("/", 1)[-1] in STRICT_FILES


def error_lines(output: str) -> dict[str, list[str]]:
    """mypy's error lines, by module path (notes, which follow their error, are left out)."""
    out: dict[str, list[str]] = {}
    for line in output.splitlines():
        if m := ERROR.match(line):
            out.setdefault(m["path"].replace("\\", "/"), []).append(line)
    return out


def ratchet_problems(counts: Counter[str], allowed: dict[str, int]) -> tuple[list[str], list[str]]:
    """(modules whose error count went up or that are strict yet have errors, modules whose count went down)."""
    up, down = [], []
    for path in sorted(set(counts) | set(allowed)):
        have, may = counts.get(path, 0), 0 if is_strict(path) else allowed.get(path, 0)
        if have > may:
            up.append(f"{path}: {have} errors, {may} allowed")
        elif have < may:
            down.append(f"{path}: {have} errors, the ratchet still allows {may}")
    return up, down


@pytest.fixture(scope="module")
def mypy_errors() -> dict[str, list[str]]:
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy is not installed: it is in the test extra, so run scripts/test (or pip install -e '.[test]')")
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    if run.returncode not in (0, 1) or (run.returncode == 1 and not error_lines(run.stdout)):
        pytest.fail(f"mypy did not run (exit {run.returncode}):\n{run.stdout}{run.stderr}")
    return error_lines(run.stdout)


def test_the_strict_modules_have_no_type_errors(mypy_errors: dict[str, list[str]]) -> None:
    errors = [line for path, lines in sorted(mypy_errors.items()) if is_strict(path) for line in lines]
    assert not errors, ("mypy finds errors in modules that must have none (core/, models/, web/, rules.py, "
                        "service.py); fix them:\n" + "\n".join(errors))


def test_no_other_module_has_more_type_errors_than_the_ratchet_allows(mypy_errors: dict[str, list[str]]) -> None:
    allowed = json.loads(RATCHET.read_text())
    counts = Counter({path: len(lines) for path, lines in mypy_errors.items() if not is_strict(path)})
    up, _ = ratchet_problems(counts, allowed)
    details = [line for entry in up for line in mypy_errors.get(entry.split(":", 1)[0], [])]
    assert not up, (f"more mypy errors than {RATCHET.relative_to(ROOT)} allows (fix the new ones; the figures may "
                    "only go down):\n" + "\n".join(up) + "\n\n" + "\n".join(details))


def test_the_ratchet_figures_are_lowered_as_errors_are_fixed(mypy_errors: dict[str, list[str]]) -> None:
    allowed = json.loads(RATCHET.read_text())
    counts = Counter({path: len(lines) for path, lines in mypy_errors.items() if not is_strict(path)})
    _, down = ratchet_problems(counts, allowed)
    current = {path: min(n, allowed[path]) for path, n in sorted(counts.items()) if n and path in allowed}
    assert not down, (f"fewer mypy errors than {RATCHET.relative_to(ROOT)} allows: well done; lower its figures "
                      "so they cannot creep back up:\n" + "\n".join(down) + "\n\nthe file should now read:\n"
                      + json.dumps(current, indent=2))


def test_the_ratchet_refuses_a_rise_and_asks_for_a_fall() -> None:
    allowed = {"src/gbsmart/cpl/pages.py": 3, "src/gbsmart/cli.py": 2}
    up, down = ratchet_problems(Counter({"src/gbsmart/cpl/pages.py": 4, "src/gbsmart/cli.py": 1,
                                         "src/gbsmart/new.py": 1, "src/gbsmart/smi/service.py": 1}), allowed)
    assert up == ["src/gbsmart/cpl/pages.py: 4 errors, 3 allowed", "src/gbsmart/new.py: 1 errors, 0 allowed",
                  "src/gbsmart/smi/service.py: 1 errors, 0 allowed"]
    assert down == ["src/gbsmart/cli.py: 1 errors, the ratchet still allows 2"]
    assert ratchet_problems(Counter(allowed), allowed) == ([], [])
