"""The allowed direction of imports between domain packages (docs/decisions/0014-domain-dependencies.md).

Every module's imports are read with ``ast``, function-local ones included, so a cycle cannot hide in a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gbsmart

PACKAGE = Path(gbsmart.__file__).parent
DOMAINS = ("parties", "change", "committees", "papers", "cpl", "smi")
BASE = ("core", "models")  # below every domain: they import none
#: known edges against the rule, each with what removes it; the test fails if one is added or one goes unnoticed
KNOWN_EXCEPTIONS = {
    # agendas cite papers (papers.service.visible_by_id, issue 8) while the Panel Information Policy reads committee
    # seats (committees.queries): one domain in ARCHITECTURE.md, two packages here; decision 0014 says what ends it
    ("committees", "papers"),
    # `--as USERNAME` at the command line resolves the person through parties.service.person_by_username
    ("core", "parties"),
}


def imported_modules(path: Path) -> set[str]:
    """The gbsmart modules ``path`` imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            if node.module == "gbsmart":
                found.update(f"gbsmart.{a.name}" for a in node.names)
    return {m for m in found if m.startswith("gbsmart.")}


def package_edges() -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the modules where it happens, for the domain and base packages."""
    watched = DOMAINS + BASE
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2 or rel.parts[0] not in watched:
            continue
        for module in imported_modules(path):
            target = module.split(".")[1]
            if target in watched and target != rel.parts[0]:
                edges.setdefault((rel.parts[0], target), []).append(f"{rel} imports {module}")
    return edges


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Every elementary cycle's packages, found by walking from each package (the graph is tiny)."""
    found: list[list[str]] = []

    def walk(start: str, node: str, path: list[str]) -> None:
        for a, b in sorted(edges):
            if a != node:
                continue
            if b == start:
                found.append(path)
            elif b not in path and b > start:
                walk(start, b, [*path, b])

    for start in sorted({a for a, _ in edges}):
        walk(start, start, [start])
    return found


def test_the_finder_sees_function_local_imports_and_cycles(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from gbsmart.smi.service import x\n    import gbsmart.cpl.rules\n")
    assert imported_modules(module) == {"gbsmart.smi.service", "gbsmart.cpl.rules"}
    assert cycles({("cpl", "smi"), ("smi", "cpl"), ("smi", "parties")}) == [["cpl", "smi"]]
    assert cycles({("smi", "cpl"), ("cpl", "parties")}) == []


def test_core_and_models_import_no_domain():
    edges = package_edges()
    wrong = {e: where for e, where in edges.items() if e[0] in BASE and e[1] in DOMAINS and e not in KNOWN_EXCEPTIONS}
    assert wrong == {}


def test_no_import_cycle_between_domains():
    edges = package_edges()
    domain_edges = {e for e in edges if e[0] in DOMAINS and e[1] in DOMAINS}
    found = cycles({e for e in domain_edges if e not in KNOWN_EXCEPTIONS and e[::-1] not in KNOWN_EXCEPTIONS})
    assert found == [], {tuple(c): [edges[(c[i], c[(i + 1) % len(c)])] for i in range(len(c))] for c in found}
    # the cycle broken by moving the extract exchange to smi stays broken: the CPL never reads the SMI
    assert ("cpl", "smi") not in edges, edges.get(("cpl", "smi"))


def test_every_known_exception_is_still_there():
    """Remove an exception from KNOWN_EXCEPTIONS when the code no longer needs it, so it cannot come back quietly."""
    edges = package_edges()
    assert {e for e in KNOWN_EXCEPTIONS if e not in edges and e[::-1] not in edges} == set()
