"""Accessibility checks with axe-core (issue 15 point 8), fetched from the npm registry at test time with
``npm pack`` into the pytest cache, as the DCC's tools are (nothing of axe's is committed).

* ``axe`` (session) - a function ``axe(page) -> list[dict]``: injects axe-core into the page, runs it against WCAG
  2.0/2.1 A and AA, and returns the violations of impact ``serious`` or ``critical``, each as
  ``{"id", "impact", "help", "targets"}`` (the first few elements' selectors), so a failing assertion says what to fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

AXE = "axe-core@4.10.3"
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="session")
def axe(request: pytest.FixtureRequest) -> Callable[[Any], list[dict[str, Any]]]:
    from tests.gateway.boxed import _extract, _npm_pack

    cache = Path(request.config.cache.mkdir(f"axe-npm-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"))
    script = _extract(_npm_pack(AXE, cache), cache / "axe") / "axe.min.js"
    assert script.exists(), f"{AXE} has no axe.min.js at {script}"
    source = script.read_text(encoding="utf-8")

    def check(page: Any) -> list[dict[str, Any]]:
        page.add_script_tag(content=source)
        result = page.evaluate("""async () => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                           targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }""")
        return [v for v in result if v["impact"] in SERIOUS]

    return check
