"""The allowed direction of imports between domain packages (docs/decisions/0014-domain-dependencies.md), and where
enumerations live (docs/decisions/0018-enumerations.md).

Every module's imports are read with ``ast``, function-local ones included, so a cycle cannot hide in a function.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import gbsmart
from gbsmart.core.enums import LabelledEnum

PACKAGE = Path(gbsmart.__file__).parent
DOMAINS = ("parties", "change", "committees", "papers", "cpl", "smi", "gateway", "alerts", "service", "assessments",
           "ssi")
BASE = ("core", "models")  # below every domain: they import none (but models may read a domain's enums module)
#: enumerations defined outside a ``<domain>/enums.py``, each with why; the test fails if one is added or one goes
ENUMS_ELSEWHERE: dict[str, set[str]] = {}
#: known edges against the rule, each with what removes it; the test fails if one is added or one goes unnoticed
KNOWN_EXCEPTIONS = {
    # agendas cite papers (papers.service.visible_by_id, issue 8) while the Panel Information Policy reads committee
    # seats (committees.queries): one domain in ARCHITECTURE.md, two packages here; decision 0014 says what ends it
    ("committees", "papers"),
    # `--as USERNAME` at the command line resolves the person through parties.service.person_by_username
    ("core", "parties"),
    # the gateway process hosts the alerts (issue 11's contract: Gateway.start makes the intake, the Northbound and
    # the outage tracker, and routes POST /api/v1/alerts) while alerts read the gateway's index, XML and keys;
    # what ends it: a gateway extension point (routes and services) filled by a composition module outside domains
    ("gateway", "alerts"),
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


def is_enums_module(module: str) -> bool:
    """``gbsmart.<domain>.enums``: the one module of a domain that ``models`` may import."""
    parts = module.split(".")
    return len(parts) == 3 and parts[1] in DOMAINS and parts[2] == "enums"


def package_edges(*, enums: bool = True) -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> the modules where it happens, for the domain and base packages.

    ``enums=False`` leaves out ``models`` importing a domain's enums module, which decision 0018 allows.
    """
    watched = DOMAINS + BASE
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if len(rel.parts) < 2 or rel.parts[0] not in watched:
            continue
        for module in imported_modules(path):
            target = module.split(".")[1]
            if not enums and rel.parts[0] == "models" and is_enums_module(module):
                continue
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
    """``core`` imports no domain; ``models`` imports a domain's ``enums`` module (decision 0018) and nothing else."""
    edges = package_edges(enums=False)
    wrong = {e: where for e, where in edges.items() if e[0] in BASE and e[1] in DOMAINS and e not in KNOWN_EXCEPTIONS}
    assert wrong == {}
    # the allowance is used (the CHECK constraints name the enumerations) and is no wider than enums modules
    allowed = {e: where for e, where in package_edges().items() if e[0] == "models" and e[1] in DOMAINS}
    assert allowed, "models no longer reads any enums module: narrow the rule back (decision 0018)"
    assert all(where.split(" imports ")[1].endswith(".enums") for wheres in allowed.values() for where in wheres)


def test_the_models_rule_tells_an_enums_module_from_the_rest_of_a_domain():
    assert is_enums_module("gbsmart.cpl.enums")
    assert not is_enums_module("gbsmart.cpl.service")
    assert not is_enums_module("gbsmart.core.enums")  # core is below every domain anyway
    assert not is_enums_module("gbsmart.cpl.enums.extra")


def test_every_enums_module_imports_only_core():
    """A domain's enums module sits below the models, so it may read ``core`` and nothing else of gbsmart."""
    found = {}
    for domain in DOMAINS:
        path = PACKAGE / domain / "enums.py"
        if path.exists():
            found[domain] = sorted(m for m in imported_modules(path) if m.split(".")[1] != "core")
    assert set(DOMAINS) <= set(found)
    assert {d: m for d, m in found.items() if m} == {}


def _labelled_enums() -> dict[str, set[str]]:
    """module -> the LabelledEnum subclasses it defines, for every module of gbsmart (migrations aside)."""
    found: dict[str, set[str]] = {}
    for info in pkgutil.walk_packages(gbsmart.__path__, "gbsmart."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, LabelledEnum) and value is not LabelledEnum
                    and value.__module__ == info.name and value.__name__ == name):
                found.setdefault(info.name, set()).add(name)
    return found


def test_enumerations_are_defined_in_their_domains_enums_module():
    elsewhere = {m: names for m, names in _labelled_enums().items() if not is_enums_module(m)}
    assert elsewhere == ENUMS_ELSEWHERE


def test_no_module_reads_an_enumeration_through_the_models():
    """``from gbsmart.models.cpl import EntryStatus`` works (the model imports it) but names the wrong owner."""
    enum_names = {n for names in _labelled_enums().values() for n in names}
    wrong = []
    for path in sorted(Path(__file__).parents[1].rglob("*.py")) + sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gbsmart.models"):
                wrong += [f"{path.name}: {node.module}.{a.name}" for a in node.names if a.name in enum_names]
    assert wrong == []


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
