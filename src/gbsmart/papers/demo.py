"""Demo papers from the seeds, loaded idempotently: the two Panel Sub-Committee Reports and DP104's re-classification.

* SECP_77_1402_19 (seed 000, 7 February 2020, Rebecca Jones, SECAS) and the 7 August 2020 report (seed 003,
  Cecily Bain, SECAS; its reference SECP_83_1408_20 is inferred, the extracted text lacks it) as WHITE issued
  papers, each with a RED Appendix A "User Security Assessments – Identified Non-Compliances" whose text is a
  clearly fictional placeholder (the real appendices are confidential). The named recipients are the SSC's
  members when the committees domain holds them, and the demo ``panel`` user; the demo ``secas`` user (a Code
  Administrator) is deliberately not one, so the demo shows both sides of a RED appendix.
* "DP104 Security Improvements – problem statement": a GREEN paper that was RED, with the re-classification
  recorded from the CSC 11_2801 minutes (seed 001).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from gbsmart.committees import queries as committee_queries
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.models.papers import Paper, PaperAppendix, PaperRecipient, PaperReclassification
from gbsmart.models.parties import Organisation, Person
from gbsmart.papers.demo_texts import SECP_77_1402_19, SECP_83_1408_20
from gbsmart.papers.enums import Classification, PaperAction, PaperStatus

APPENDIX_TITLE = "User Security Assessments – Identified Non-Compliances"
REPORT_PURPOSE = (
    "This paper provides the Panel with an update on recent activities from the Panel Sub-Committees. It highlights "
    "the key issues discussed and details specific points the Sub-Committees would like to bring to the Panel’s "
    "attention. The Panel is requested to note the updates."
)


def _placeholder(month: str) -> str:
    return f"""\
> **Fictional demonstration placeholder.** The real Appendix A of this paper is classified RED and is not
> published. Every name and finding below is invented for the gbsmart demo.

Assessments completed by the Security Sub-Committee in {month}, with the non-compliances identified:

| User (fictional) | Assessment | Status set | Non-compliances |
|---|---|---|---|
| Example Supplier One Ltd | Initial Full User Security Assessment | Approved subject to conditions | 2 minor |
| Example Networks Two plc | Second Full User Security Assessment | Compliant | none |
| Example Agent Three Ltd | Verification User Security Assessment | Compliant subject to remediation | 1 medium |

Remediation plans are tracked by the SSC until each non-compliance is closed.
"""


DP104_BODY = """\
**DP104 ‘Security Improvements’** was raised by Gordon Hextall, Independent Chair of the Security Sub-Committee (SSC) \
and Smart Metering Key Infrastructure (SMKI) Policy Management Authority (PMA).

The SSC is aware of circumstances where Users are using SMKI Keys to sign DCC User Interface Specification (DUIS) XML \
format Service Requests as well as the Pre-Command. In order to ensure the proper application of the SEC security \
arrangements, and to help support the Security Controls Framework, the SSC believes a requirement for the DCC to \
validate the separation of these keys should be introduced.

_Text as summarised in the draft minutes of CSC meeting 11_2801 (28 January 2020); the original problem statement \
was classified RED._
"""

DP104_REASON = (
    "Downgraded from RED to GREEN in accordance with the Panel Information Policy, so that the Draft Proposal can be "
    "presented to the Panel for decision on its progression at its February 2020 meeting (SECAS, as noted in the "
    "draft minutes of CSC meeting 11_2801, 28 January 2020)."
)

PAPERS = [
    {
        "reference": "SECP_77_1402_19", "title": "SEC Panel Sub-Committee Report", "author": "Rebecca Jones",
        "date": date(2020, 2, 7), "body": SECP_77_1402_19, "classification": Classification.WHITE,
        "source": "seed 000 (Panel Sub-Committee Report SECP_77_1402_19, 7 Feb 2020)",
        "appendix_month": "January 2020",
    },
    {
        "reference": "SECP_83_1408_20", "title": "SEC Panel Sub-Committee Report", "author": "Cecily Bain",
        "date": date(2020, 8, 7), "body": SECP_83_1408_20, "classification": Classification.WHITE,
        "source": "seed 003 (Panel Sub-Committee Report, 7 Aug 2020); the reference is inferred",
        "appendix_month": "July 2020",
    },
]


def _person(ctx: Ctx, full_name: str) -> Person | None:
    return ctx.session.scalar(select(Person).where(Person.full_name == full_name).order_by(Person.id))


def _org_name(ctx: Ctx, person: Person | None, default: str) -> str:
    if person is None or person.organisation_id is None:
        return default
    return ctx.session.scalar(select(Organisation.name).where(Organisation.id == person.organisation_id)) or default


def _tally(counts: dict[str, tuple[int, int]], what: str, added: bool) -> None:
    a, k = counts.get(what, (0, 0))
    counts[what] = (a + 1, k) if added else (a, k + 1)


def _new_paper(ctx: Ctx, spec: dict, author: Person | None, org_default: str, at: datetime) -> Paper:
    return Paper(
        reference=spec["reference"], title=spec["title"], purpose=spec.get("purpose", REPORT_PURPOSE),
        action=spec.get("action", PaperAction.FOR_INFORMATION).value, author_id=author.id if author else None,
        author_name=author.full_name if author else spec["author"],
        author_organisation=_org_name(ctx, author, spec.get("org", "SECAS")), paper_date=spec["date"],
        committee_code=spec.get("committee"), body=spec["body"], status=PaperStatus.ISSUED.value,
        classification=spec["classification"].value, source=spec["source"], created_at=at, updated_at=at,
        issued_at=at,
    )


def _recipients(ctx: Ctx) -> list[Person]:
    ids = set(committee_queries.members_of(ctx.session, "SSC"))
    people = [ctx.session.get(Person, i) for i in sorted(ids)]
    panel = ctx.session.scalar(select(Person).where(Person.username == "panel"))
    if panel is not None:
        people.append(panel)
    return [p for p in people if p is not None]


def load_papers_demo(ctx: Ctx) -> dict[str, tuple[int, int]]:
    """Add the demo papers that are missing (and any missing named recipients); a second run changes nothing."""
    s = ctx.session
    counts: dict[str, tuple[int, int]] = {}
    for spec in PAPERS:
        paper = s.scalar(select(Paper).where(func.lower(Paper.reference) == spec["reference"].lower()))
        _tally(counts, "papers", paper is None)
        if paper is None:
            at = datetime.combine(spec["date"], datetime.min.time(), tzinfo=UTC).replace(hour=9)
            paper = _new_paper(ctx, spec, _person(ctx, spec["author"]), "SECAS", at)
            paper.appendices.append(PaperAppendix(letter="A", title=APPENDIX_TITLE, body=_placeholder(
                spec["appendix_month"]), classification=Classification.RED.value, created_at=at))
            s.add(paper)
            s.flush()
        for person in _recipients(ctx):
            named = any(r.person_id == person.id for r in paper.recipients)
            if not named:
                paper.recipients.append(PaperRecipient(person_id=person.id, person=person, added_at=ctx.clock.now()))
            _tally(counts, "named recipients", not named)
    _load_dp104(ctx, counts)
    s.flush()
    added = {k: v[0] for k, v in counts.items() if v[0]}
    if added:
        record_change(ctx, "demo.load", "dataset", "papers", None, added)
    return counts


def _load_dp104(ctx: Ctx, counts: dict[str, tuple[int, int]]) -> None:
    s = ctx.session
    reference = "DP104_PS"
    exists = s.scalar(select(Paper.id).where(Paper.reference == reference)) is not None
    _tally(counts, "papers", not exists)
    if exists:
        return
    at = datetime(2020, 1, 28, 9, 0, tzinfo=UTC)
    spec = {
        "reference": reference, "title": "DP104 Security Improvements – problem statement",
        "author": "Gordon Hextall", "org": "Security Sub-Committee", "date": date(2020, 1, 28),
        "purpose": "The problem statement of Draft Proposal DP104 'Security Improvements'.",
        "action": PaperAction.FOR_DECISION, "committee": "CSC", "body": DP104_BODY,
        "classification": Classification.GREEN,
        "source": "seed 001 (CSC 11_2801 draft minutes, 28 Jan 2020), DP104; the paper reference is illustrative",
    }
    paper = _new_paper(ctx, spec, _person(ctx, "Gordon Hextall"), "Security Sub-Committee", at)
    paper.reclassifications.append(PaperReclassification(
        actor_id=None, actor_name="SECAS", at=at, from_classification=Classification.RED.value,
        to_classification=Classification.GREEN.value, reason=DP104_REASON,
    ))
    s.add(paper)
    _tally(counts, "re-classifications", True)
