"""Load seed_data.json (the seed papers, cited record by record) into the configured database, idempotently."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session

from gbsmart.change.enums import ProposalState
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.security import hash_password
from gbsmart.models.change import Proposal, ProposalEvent, ProposalImpact, ProposalInterest, Release
from gbsmart.models.parties import DccUser, DccUserRole, Organisation, Person, PersonRole

SEED_FILE = Path(__file__).with_name("seed_data.json")
DEMO_PASSWORD = "demo-password-2020"  # documented demo sign-in, printed by `gbsmart demo`; not a secret

# One demo sign-in per role (and one Party user per voting category, so a Change Board vote can be valid).
DEMO_USERS = [
    {
        "username": "secas",
        "name": "Sam Secas (demo Code Administrator)",
        "org": "SECAS",
        "roles": ["code_administrator"],
    },
    {"username": "panel", "name": "Pat Panel (demo Panel member)", "org": "SEC Panel", "roles": ["panel_member"]},
    {"username": "csc", "name": "Chris Committee (demo CSC member)", "org": "SECAS", "roles": ["committee_member"]},
    {"username": "dcc", "name": "Dana DCC (demo DCC user)", "org": "Smart DCC", "roles": ["dcc"]},
    {"username": "authority", "name": "Alex Authority (demo)", "org": "Ofgem", "roles": ["authority"]},
    {"username": "large", "name": "Lee Large (demo)", "category": "large_supplier", "roles": ["party_user"]},
    {"username": "small", "name": "Sasha Small (demo)", "category": "small_supplier", "roles": ["party_user"]},
    {
        "username": "electricity",
        "name": "Elle Network (demo)",
        "category": "electricity_network",
        "roles": ["party_user"],
    },
    {"username": "gas", "name": "Gus Network (demo)", "category": "gas_network", "roles": ["party_user"]},
    {"username": "other", "name": "Olly Other (demo)", "category": "other", "roles": ["party_user"]},
]

# Fictional demo DCC User IDs (EUI-64) and User Roles, per Party Category, for the DCC services to come.
DEMO_USER_ROLES = {
    "large_supplier": ["IS", "GS", "ES"],
    "small_supplier": ["IS", "GS"],
    "electricity_network": ["ED"],
    "gas_network": ["GT"],
    "other": ["OU"],
}


@dataclass
class LoadReport:
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)
    users: list[dict[str, str]] = field(default_factory=list)

    def tally(self, what: str, added: bool) -> None:
        a, k = self.counts.get(what, (0, 0))
        self.counts[what] = (a + 1, k) if added else (a, k + 1)


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _username(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".")


def load_demo(ctx: Ctx, data: dict[str, Any] | None = None, progress: bool = False) -> LoadReport:
    """Insert what is missing; leave what exists alone, so a second run changes nothing."""
    data = data or json.loads(SEED_FILE.read_text())
    report = LoadReport()
    s = ctx.session
    steps = [
        ("organisations", _load_orgs),
        ("people", _load_people),
        ("demo sign-ins", _load_users),
        ("releases", _load_releases),
        ("proposals", _load_proposals),
        ("decisions", _load_decisions),
        ("interests", _load_interests),
        ("impacts", _load_impacts),
    ]
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("Loading the seed papers", total=len(steps))
        for label, fn in steps:
            bar.update(task, description=f"Loading {label}")
            fn(ctx, data, report)
            s.flush()
            bar.advance(task)
    from gbsmart.committees.demo import load_committees_demo  # imports LoadReport from here

    load_committees_demo(ctx, report)
    s.flush()
    from gbsmart.assessments.demo import load_assessments_demo  # after the SSC, before the papers name its members

    for what, count in load_assessments_demo(ctx).items():
        report.counts[what] = (count, 0)
    from gbsmart.assessments.demo import PEOPLE as ASSESSMENT_PEOPLE

    report.users.extend({"username": u, "role": ", ".join(roles), "organisation": org}
                        for u, _, org, roles in ASSESSMENT_PEOPLE)
    s.flush()
    from gbsmart.cpl.demo import load_cpl_demo
    from gbsmart.papers.demo import load_papers_demo

    for what, (a, k) in load_papers_demo(ctx).items():
        prev = report.counts.get(what, (0, 0))
        report.counts[what] = (prev[0] + a, prev[1] + k)
    s.flush()
    load_cpl_demo(ctx, report)
    s.flush()
    from gbsmart.gateway.demo import load_gateway_demo

    for what, count in load_gateway_demo(ctx).items():  # the DCC Boxed test organisations, for the RTDS templates
        report.counts[what] = (count, 0)
    _load_dcc_users(ctx, data, report)  # last: every Party, including those the CPL demo adds, gets a User ID
    s.flush()
    from gbsmart.service.demo import load_service_demo  # after the User IDs: incidents belong to their holders

    for what, count in load_service_demo(ctx).items():
        report.counts[what] = (count, 0)
    s.flush()
    from gbsmart.ssi.demo import load_ssi_demo  # the SSI's early access: after the sign-ins

    for what, count in load_ssi_demo(ctx).items():
        report.counts[what] = (count, 0)
    s.flush()
    added = {k: v[0] for k, v in report.counts.items() if v[0]}
    if added:
        record_change(ctx, "demo.load", "dataset", "seed_data.json", None, added)
    return report


def _org(s: Session, name: str) -> Organisation | None:
    return s.scalar(select(Organisation).where(Organisation.name == name))


def _load_orgs(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    for o in data["organisations"]:
        exists = _org(s, o["name"]) is not None
        if not exists:
            s.add(
                Organisation(
                    name=o["name"],
                    short_name=o.get("short_name"),
                    kind=o["kind"],
                    party_category=o.get("party_category"),
                    source=o.get("source"),
                    created_at=ctx.clock.now(),
                )
            )
        report.tally("organisations", not exists)
    for name, kind in (("SEC Panel", "panel"),):
        if _org(s, name) is None:
            s.add(Organisation(name=name, kind=kind, source="demo", created_at=ctx.clock.now()))
            report.tally("organisations", True)


def _load_dcc_users(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    s.flush()
    parties = s.scalars(
        select(Organisation).where(Organisation.party_category.is_not(None)).order_by(Organisation.name)
    ).all()
    for n, org in enumerate(parties, start=1):
        eui = f"90-B3-D5-1F-30-{n // 256:02X}-{n % 256:02X}-00"
        exists = s.scalar(select(DccUser.id).where(DccUser.eui64 == eui)) is not None
        if not exists:
            s.add(
                DccUser(
                    organisation_id=org.id,
                    eui64=eui,
                    role_rows=[DccUserRole(role=r) for r in DEMO_USER_ROLES[org.party_category]],
                )
            )
        report.tally("DCC User IDs", not exists)


def _load_people(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    for p in data["people"]:
        username = _username(p["name"])
        exists = s.scalar(select(Person.id).where(Person.username == username)) is not None
        if not exists:
            org = _org(s, p["organisation"]) if p.get("organisation") else None
            roles = ["committee_member"] if p.get("committee_member", True) else []
            s.add(
                Person(
                    username=username,
                    full_name=p["name"],
                    organisation_id=org.id if org else None,
                    password_hash=None,
                    created_at=ctx.clock.now(),
                    role_rows=[PersonRole(role=r) for r in roles],
                )
            )
        report.tally("people", not exists)


def _load_users(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    for u in DEMO_USERS:
        if "org" in u:
            org = _org(s, u["org"])
        else:  # a named Party of that category first; the papers' own names before fictional demo ones
            candidates = s.scalars(
                select(Organisation).where(Organisation.party_category == u["category"]).order_by(Organisation.name)
            ).all()
            org = sorted(candidates, key=lambda o: (o.name.startswith("Demo "), o.name))[0] if candidates else None
        person = s.scalar(select(Person).where(Person.username == u["username"]))
        if person is None:
            s.add(
                Person(
                    username=u["username"],
                    full_name=u["name"],
                    organisation_id=org.id if org else None,
                    password_hash=hash_password(DEMO_PASSWORD),
                    created_at=ctx.clock.now(),
                    role_rows=[PersonRole(role=r) for r in u["roles"]],
                )
            )
        report.tally("demo sign-ins", person is None)
        report.users.append(
            {"username": u["username"], "role": ", ".join(u["roles"]), "organisation": org.name if org else ""}
        )


def _load_releases(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    for r in data["releases"]:
        exists = s.scalar(select(Release.id).where(Release.name == r["name"])) is not None
        if not exists:
            s.add(
                Release(
                    name=r["name"],
                    release_date=_d(r["release_date"]),
                    kind=r.get("kind", "scheduled"),
                    expected=bool(r.get("expected")),
                    source=r.get("source"),
                )
            )
        report.tally("releases", not exists)


def _load_proposals(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    s.flush()
    for p in data["proposals"]:
        if s.scalar(select(Proposal.id).where(Proposal.reference == p["reference"])) is not None:
            report.tally("proposals", False)
            continue
        proposer = p.get("proposer")
        org = _org(s, proposer) if proposer else None
        release = s.scalar(select(Release).where(Release.name == p["release"])) if p.get("release") else None
        as_of = _d(p.get("as_of")) or ctx.clock.today()
        raised = _d(p.get("date_raised"))
        prop = Proposal(
            reference=p["reference"],
            dp_reference=p.get("dp_reference") or (p["reference"] if p["reference"].startswith("DP") else None),
            title=p["title"],
            state=ProposalState(p["state"]).value,
            path=p.get("path"),
            proposer_org_id=org.id if org else None,
            proposer_name=proposer or "Not given in the papers",
            date_raised=raised or as_of,
            problem_statement=p.get("problem_statement") or "",
            summary=p.get("summary") or "",
            latest_progress=p.get("latest_progress") or "",
            pa_status=p.get("pa_status"),
            change_board_determination=p.get("change_board_determination"),
            change_board_date=_d(p.get("change_board_date")),
            authority_determination=p.get("authority_determination"),
            authority_date=_d(p.get("authority_date")),
            implementation_date=_d(p.get("implementation_date")),
            release_id=release.id if release else None,
            release_status=p.get("release_status"),
            route=p.get("route"),
            source=p.get("source"),
            created_at=ctx.clock.now(),
            updated_at=ctx.clock.now(),
        )
        note = f"Recorded from the seed papers as at {as_of:%d %b %Y}: {p.get('source', '')}."
        if p.get("note"):
            note += f" Note: {p['note']}"
        prop.events.append(
            ProposalEvent(
                seq=1,
                step="recorded",
                from_state=None,
                to_state=prop.state,
                actor_name="gbsmart demo loader",
                at=ctx.clock.now(),
                decided_on=as_of,
                reason=note,
                reference=p.get("source"),
            )
        )
        s.add(prop)
        report.tally("proposals", True)


DECISION_STEPS = {
    "further_development": "further_development",
    "ready_to_convert": "ready_to_convert",
    "noted": "noted",
}


def _load_decisions(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    s.flush()
    for d in data.get("decisions", []):
        prop = s.scalar(select(Proposal).where(Proposal.reference == d["proposal"]))
        if prop is None:
            prop = s.scalar(select(Proposal).where(Proposal.dp_reference == d["proposal"]))
        if prop is None:
            continue
        step = DECISION_STEPS.get(d["decision"], d["decision"])
        exists = any(e.step == step and e.reference == d["meeting"] for e in prop.events)
        if not exists:
            when = _d(d["date"])
            reason = d.get("wording", "")
            if d.get("minute"):
                reason += "\n\n" + d["minute"]
            prop.events.append(
                ProposalEvent(
                    seq=len(prop.events) + 1,
                    step=step,
                    from_state="development",
                    to_state="ready_to_convert" if step == "ready_to_convert" else "development",
                    actor_name=f"{d['meeting'].split()[0]} (recorded by SECAS)",
                    at=ctx.clock.now(),
                    decided_on=when,
                    reason=reason.strip(),
                    reference=d["meeting"],
                    data={"route": d.get("route"), "source": d.get("source")},
                )
            )
            if step == "ready_to_convert" and d.get("route") and not prop.route:
                prop.route = d["route"]
        report.tally("decisions", not exists)


def _load_interests(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    for i in data.get("interests", []):
        prop = s.scalar(select(Proposal).where(Proposal.reference == i["proposal"]))
        if prop is None:
            continue
        when = _d(i["date"])
        exists = (
            s.scalar(
                select(ProposalInterest.id).where(
                    ProposalInterest.proposal_id == prop.id,
                    ProposalInterest.committee == i["committee"],
                    ProposalInterest.noted_on == when,
                )
            )
            is not None
        )
        if not exists:
            s.add(
                ProposalInterest(
                    proposal_id=prop.id,
                    committee=i["committee"],
                    noted_on=when,
                    note=i.get("note", ""),
                    source=i.get("source"),
                )
            )
            s.flush()
        report.tally("interests", not exists)


def _load_impacts(ctx: Ctx, data: dict, report: LoadReport) -> None:
    s = ctx.session
    for i in data.get("impacts", []):
        prop = s.scalar(select(Proposal).where(Proposal.reference == i["proposal"]))
        if prop is None:
            continue
        exists = (
            s.scalar(
                select(ProposalImpact.id).where(
                    ProposalImpact.proposal_id == prop.id,
                    ProposalImpact.group == i["group"],
                    ProposalImpact.area == i["area"],
                )
            )
            is not None
        )
        if not exists:
            s.add(ProposalImpact(proposal_id=prop.id, group=i["group"], area=i["area"]))
            s.flush()
        report.tally("impacts", not exists)
