"""The demo dataset extracted from the four seed papers (src/gbsmart/demo/seed_data.json).

Checks its shape, its internal references, and its coverage against the seed texts themselves
(read from $GBSMART_SEEDS_DIR, default /work/shared/seeds; those tests skip when the texts are absent).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

DATA_PATH = Path(__file__).resolve().parents[2] / "src" / "gbsmart" / "demo" / "seed_data.json"
SEEDS_DIR = Path(os.environ.get("GBSMART_SEEDS_DIR", "/work/shared/seeds"))

ORG_KINDS = {"sec_party", "dcc", "secas", "authority", "consumer", "panel"}
PARTY_CATEGORIES = {"large_supplier", "small_supplier", "electricity_network", "gas_network", "other"}
STATES = {
    "development",
    "ready_to_convert",
    "awaiting_path",
    "refinement",
    "refinement_consultation",
    "report_phase",
    "mr_consultation",
    "final_report",
    "change_board",
    "panel_decision",
    "authority_determination",
    "approved",
    "rejected",
    "implemented",
    "withdrawn",
}
PATHS = {"path_1", "path_2", "path_3", "fast_track", "urgent"}
RELEASE_KINDS = {"scheduled", "adhoc"}
RELEASE_STATUSES = {"Targeted", "Approved", "Approved (31 Oct 18)"}
DETERMINATIONS = {"Approved", "Rejected"}
DECISIONS = {"further_development", "ready_to_convert", "noted"}
ROUTES = {"refinement", "report_phase"}
IMPACT_GROUPS = {"parties", "sec", "subsidiary"}
REF_RE = re.compile(r"^(DP\d{3}|MP\d{3}|SECMP\d{4})$")

REQUIRED = {
    "organisations": {"name", "short_name", "kind", "party_category", "source"},
    "people": {"name", "organisation", "represents", "source"},
    "releases": {"name", "release_date", "kind", "expected", "source"},
    "proposals": {
        "reference",
        "dp_reference",
        "title",
        "proposer",
        "date_raised",
        "state",
        "path",
        "pa_status",
        "summary",
        "latest_progress",
        "change_board_determination",
        "change_board_date",
        "authority_determination",
        "authority_date",
        "implementation_date",
        "release",
        "release_status",
        "as_of",
        "source",
    },
    "decisions": {"proposal", "meeting", "date", "decision", "route", "wording", "minute", "source"},
    "interests": {"proposal", "committee", "date", "note", "source"},
    "impacts": {"proposal", "group", "area"},
    "register": {"reference", "note"},
}
DATE_FIELDS = {
    "releases": ["release_date"],
    "proposals": ["date_raised", "change_board_date", "authority_date", "implementation_date", "as_of"],
    "decisions": ["date"],
    "interests": ["date"],
}
# Column widths of the models the demo loader fills (gbsmart.models.parties / gbsmart.models.change).
MAX_LEN = {
    ("organisations", "name"): 200,
    ("organisations", "short_name"): 50,
    ("organisations", "source"): 200,
    ("releases", "name"): 100,
    ("releases", "source"): 200,
    ("proposals", "reference"): 20,
    ("proposals", "dp_reference"): 20,
    ("proposals", "title"): 300,
    ("proposals", "pa_status"): 50,
    ("proposals", "change_board_determination"): 50,
    ("proposals", "authority_determination"): 50,
    ("proposals", "release_status"): 50,
    ("proposals", "source"): 300,
    ("interests", "committee"): 30,
    ("interests", "source"): 200,
    ("impacts", "group"): 30,
    ("impacts", "area"): 120,
}
READY_TO_CONVERT = {"DP098", "DP101", "DP106", "DP110"}
CSC_DPS = {
    "DP094",
    "DP095",
    "DP096",
    "DP098",
    "DP100",
    "DP101",
    "DP104",
    "DP106",
    "DP107",
    "DP108",
    "DP109",
    "DP110",
    "DP111",
}

# Garbling in the seed texts (see the dataset's top-level "notes"). The four register rows whose printed numbers
# disagree with their titles are remapped first; every other IECMPnnnn is SECMPnnnn.
REGISTER_REMAP = {
    "IECMP0003": "SECMP0005",
    "IECMP0011": "SECMP0012",
    "IECMP0012": "SECMP0013",
    "IECMP0016": "SECMP0018",
}
FIXES = {"SECMPO0067": "SECMP0067", "SECMPQ0024": "SECMP0024"}


@pytest.fixture(scope="module")
def data() -> dict:
    with DATA_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def seeds() -> dict[str, str]:
    files = sorted(SEEDS_DIR.glob("00[0-4]_*.txt"))
    if len(files) != 4:
        pytest.skip(f"seed texts not found in {SEEDS_DIR}")
    return {f.name[:3]: f.read_text(encoding="utf-8") for f in files}


def by_ref(data) -> dict[str, dict]:
    return {p["reference"]: p for p in data["proposals"]}


def correct(text: str) -> str:
    text = re.sub(r"IECMP\d{4}", lambda m: REGISTER_REMAP.get(m.group(0), "SECMP" + m.group(0)[5:]), text)
    for bad, good in FIXES.items():
        text = text.replace(bad, good)
    return text


def named_references(text: str) -> set[str]:
    text = correct(text)
    refs = {m.group(0) for m in re.finditer(r"\b(?:DP|MP)\d{3}\b", text)}
    refs |= {"SECMP" + m.group(1) for m in re.finditer(r"SECMP ?(\d{4})", text)}
    refs |= {"DP" + m.group(1) for m in re.finditer(r"Draft Proposal (\d{3})\b", text)}
    return refs


def normalise(text: str) -> str:
    text = text.replace("**", "")
    text = re.sub(r"^\s*-\s+", " ", text, flags=re.M)
    return re.sub(r"\s+", " ", text)


# ------------------------------------------------------------------------------------------------ shape


def test_top_level_sections(data):
    assert set(REQUIRED) <= set(data)
    assert isinstance(data.get("notes"), list) and data["notes"] and all(isinstance(n, str) for n in data["notes"])
    for section in REQUIRED:
        assert isinstance(data[section], list) and data[section], section


@pytest.mark.parametrize("section", sorted(REQUIRED))
def test_required_keys_and_sources(data, section):
    for rec in data[section]:
        missing = REQUIRED[section] - set(rec)
        assert not missing, (section, rec.get("reference") or rec.get("name") or rec.get("proposal"), missing)
        assert isinstance(rec.get("source"), str) and rec["source"].strip(), (section, rec)


@pytest.mark.parametrize("section", sorted(DATE_FIELDS))
def test_dates_are_iso(data, section):
    for rec in data[section]:
        for field in DATE_FIELDS[section]:
            value = rec[field]
            if value is None and field not in ("release_date", "as_of", "date"):
                continue
            assert isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), (section, field, value)
            date.fromisoformat(value)


def test_column_widths(data):
    for (section, field), width in MAX_LEN.items():
        for rec in data[section]:
            value = rec.get(field)
            assert value is None or len(value) <= width, (section, field, value)


def test_enums(data):
    for o in data["organisations"]:
        assert o["kind"] in ORG_KINDS, o
        if o["kind"] == "sec_party":
            assert o["party_category"] in PARTY_CATEGORIES, o
        else:
            assert o["party_category"] is None, o
    for r in data["releases"]:
        assert r["kind"] in RELEASE_KINDS and isinstance(r["expected"], bool), r
    for p in data["proposals"]:
        assert REF_RE.match(p["reference"]), p["reference"]
        assert p["dp_reference"] is None or re.fullmatch(r"DP\d{3}", p["dp_reference"]), p
        assert isinstance(p["title"], str) and p["title"].strip(), p["reference"]
        assert p["state"] in STATES, p
        assert p["path"] is None or p["path"] in PATHS, p
        assert p["pa_status"] is None or re.fullmatch(r"PA \d", p["pa_status"]), p
        assert p["change_board_determination"] in DETERMINATIONS | {None}, p
        assert p["authority_determination"] in DETERMINATIONS | {None}, p
        assert p["release_status"] in RELEASE_STATUSES | {None}, p
        assert (p["release"] is None) == (p["release_status"] is None), p
    for d in data["decisions"]:
        assert d["decision"] in DECISIONS and d["route"] in ROUTES | {None}, d
        assert (d["route"] is not None) == (d["decision"] == "ready_to_convert"), d
    committees = {o["short_name"] for o in data["organisations"] if o["kind"] == "panel"}
    for i in data["interests"]:
        assert i["committee"] in committees, i
    for i in data["impacts"]:
        assert i["group"] in IMPACT_GROUPS, i


# ------------------------------------------------------------------------------------------------ integrity


def test_no_duplicates(data):
    def dupes(values):
        return [v for v, n in Counter(values).items() if n > 1]

    assert not dupes(p["reference"] for p in data["proposals"])
    assert not dupes(p["dp_reference"] for p in data["proposals"] if p["dp_reference"])
    assert not dupes(o["name"] for o in data["organisations"])
    assert not dupes(p["name"] for p in data["people"])
    assert not dupes(r["name"] for r in data["releases"])
    assert not dupes(d["proposal"] for d in data["decisions"])
    assert not dupes((i["proposal"], i["committee"], i["date"]) for i in data["interests"])
    assert not dupes((i["proposal"], i["group"], i["area"]) for i in data["impacts"])
    assert not dupes(r["reference"] for r in data["register"])


def test_references_resolve(data):
    refs = set(by_ref(data))
    releases = {r["name"] for r in data["releases"]}
    for section in ("decisions", "interests", "impacts"):
        for rec in data[section]:
            assert rec["proposal"] in refs, (section, rec)
    for r in data["register"]:
        assert r["reference"] in refs, r
    for p in data["proposals"]:
        assert p["release"] is None or p["release"] in releases, p


def test_organisations_resolve(data):
    orgs = {o["name"] for o in data["organisations"]}
    people = {p["name"] for p in data["people"]}
    for person in data["people"]:
        assert person["organisation"] in orgs, person
        assert person["represents"].strip(), person
    for p in data["proposals"]:
        assert p["proposer"] is None or p["proposer"] in orgs | people, (p["reference"], p["proposer"])


def test_every_party_category_has_two_parties(data):
    counts = Counter(o["party_category"] for o in data["organisations"] if o["kind"] == "sec_party")
    for category in PARTY_CATEGORIES:
        assert counts[category] >= 2, (category, counts[category])


def test_fictional_records_are_labelled(data):
    for o in data["organisations"]:
        if o["name"].startswith("Demo "):
            assert o["source"] == "demo (fictional)", o
    orgs = {o["name"]: o for o in data["organisations"]}
    for person in data["people"]:
        if orgs[person["organisation"]]["source"] == "demo (fictional)":
            assert "fictional" in person.get("note", ""), person


def test_csc_decisions_of_28_january_2020(data):
    props = by_ref(data)
    decided = {d["proposal"]: d for d in data["decisions"] if d["meeting"] == "CSC 11_2801"}
    assert set(decided) == CSC_DPS
    for ref, d in decided.items():
        assert d["date"] == "2020-01-28"
        expected = "ready_to_convert" if ref in READY_TO_CONVERT else "development"
        assert props[ref]["state"] == expected, (ref, props[ref]["state"])
        assert props[ref]["as_of"] == "2020-01-28", ref
        assert d["decision"] == (
            "ready_to_convert" if ref in READY_TO_CONVERT else "noted" if ref == "DP104" else "further_development"
        ), d
    assert decided["DP098"]["route"] == decided["DP110"]["route"] == "report_phase"
    assert decided["DP101"]["route"] == decided["DP106"]["route"] == "refinement"
    assert props["DP094"]["proposer"] == "Utilita"
    assert props["DP095"]["proposer"] == "EDF Energy"
    assert props["DP104"]["proposer"] == "Gordon Hextall"


def test_unknown_titles_only_where_the_papers_give_none(data):
    for p in data["proposals"]:
        if p["title"].startswith("Unknown title"):
            assert p["reference"] in {"SECMP0001", "SECMP0003", "SECMP0004", "SECMP0011", "MP115"}, p["reference"]


# ------------------------------------------------------------------------------------------------ against the seeds


def test_every_named_proposal_is_present(data, seeds):
    named = set().union(*(named_references(t) for t in seeds.values()))
    have = {p["reference"] for p in data["proposals"]}
    have |= {p["dp_reference"] for p in data["proposals"] if p["dp_reference"]}
    assert not named - have, sorted(named - have)
    # the corrections did their job: nothing garbled survives among the names we compare
    assert all(REF_RE.match(r) for r in named), sorted(r for r in named if not REF_RE.match(r))


def test_decision_wording_is_verbatim(data, seeds):
    minutes = normalise(seeds["001"])
    for d in data["decisions"]:
        assert normalise(d["wording"]) in minutes, d["proposal"]


def test_open_modifications_list(data, seeds):
    text = seeds["004"]
    rows = re.findall(r"^(SECMP\d{4})\t([^\t\n]+)\t([^\t\n]+)$", text, flags=re.M)
    assert len(rows) == 38
    props = by_ref(data)
    for ref, title, update in rows:
        p = props[ref]
        assert p["title"] == title.strip(), ref
        assert p["latest_progress"] == update.strip(), ref
        if update.startswith("Pending implementation"):
            assert p["state"] == "approved" and p["implementation_date"], ref
        elif "Change Board will vote" in update:
            assert p["state"] == "change_board", ref
        elif "out for WGC" in update:
            assert p["state"] == "refinement_consultation", ref
        elif re.match(r"The (updated )?[DI]MR .*presented to the Panel", update):  # a later DMR is still refinement
            assert p["state"] == "report_phase", ref
        else:
            assert p["state"] == "refinement", ref


def test_release_landscape(data, seeds):
    text = seeds["004"]
    block = text[text.index("# The releases landscape") : text.index("# Modification Proposals of note")]
    headings = re.findall(r"^(.+?) – (?:Exp'd )?(\d\d \w\w\w \d\d)\s*$", block, flags=re.M)
    entries = dict(re.findall(r"^(SECMP\d{4})\t(.+?)\s*$", block, flags=re.M))
    assert len(headings) == len(data["releases"]) == 9
    linked = {p["reference"]: p["release_status"] for p in data["proposals"] if p["release"]}
    assert linked == entries


def test_impact_matrix_reparsed(data, seeds):
    text = seeds["004"]
    block = text[text.index("## Impact Matrix") :]
    block = block[: block.index("# Where can you find")]
    groups = {"Parties": "parties", "SEC": "sec", "Subsidiary Documents": "subsidiary"}
    expected, group, cols = set(), None, None
    for line in block.splitlines():
        cells = line.split("\t")
        if len(cells) < 2:
            continue
        label = cells[0].strip()
        if label == "Area of impact":
            cols = ["SECMP" + c.replace("SECMP", "").strip() for c in cells[1:]]
            continue
        heading = re.sub(r"<.*?>", "", label)
        if label.startswith("<b>"):
            group = groups.get(heading, group)
            continue
        assert len(cells) == 13, label  # label + SECMP0001..SECMP0012, blanks included
        expected |= {(ref, group, label) for ref, cell in zip(cols, cells[1:], strict=True) if cell.strip() == "X"}
    got = {(i["proposal"], i["group"], i["area"]) for i in data["impacts"]}
    assert got == expected
    assert ("SECMP0001", "sec", "Section D - Modification Process") in got
    assert ("SECMP0010", "subsidiary", "Appendix H - CH Handover Support Materials") in got
    assert ("SECMP0001", "parties", "Suppliers") not in got


def test_register_rows(data, seeds):
    printed = set(re.findall(r"^(IECMP\d{4})\t", seeds["004"], flags=re.M))
    assert len(data["register"]) == len(printed) == 13
    props = by_ref(data)
    for row in data["register"]:
        if "printed_reference" in row:
            assert row["printed_reference"] in printed
            assert correct(row["printed_reference"]) == row["reference"]
        p = props[row["reference"]]
        assert p["date_raised"] and p["pa_status"], row["reference"]
