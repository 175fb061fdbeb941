"""The Panel Information Policy in SQL: the viewer's committee facts, and the filters every paper query uses.

``visible_papers`` and ``visible_appendices`` are the SQL form of ``rules.can_see``: they are built from the
same grants (author, named recipient, committee member -> RED; Code Administrator, committee member's
organisation -> AMBER; SEC community -> GREEN; signed in -> WHITE), so lists, counts, search and exports
never contain a row ``can_see`` would refuse.

Committee membership lives in the committees domain (tables ``committees`` with a ``code`` and
``committee_members`` with ``person_id`` and ``committee_id``). It is read here with SQLAlchemy Core by
reflection when those tables exist, and is taken to be empty when they do not.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, ColumnElement, MetaData, Table, and_, exists, false, inspect, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from gbsmart.core.context import Ctx
from gbsmart.models.papers import Paper, PaperAppendix, PaperRecipient
from gbsmart.models.parties import Organisation, Person
from gbsmart.papers.enums import Classification, PaperStatus
from gbsmart.papers.rules import PaperContext, Viewer, normalise_code

# columns that, when the committees domain has them, bound a membership in time or mark it inactive
_STARTED_COLUMNS = ("from_date", "joined_on", "start_date", "valid_from")
_ENDED_COLUMNS = ("to_date", "left_on", "ended_on", "end_date", "until", "valid_to")
_ACTIVE_COLUMNS = ("active", "is_active")


def reflect(session: Session, *names: str) -> dict[str, Table] | None:
    """The named tables, reflected from the database, or None when any of them does not exist."""
    bind = session.connection()
    insp = inspect(bind)
    if not all(insp.has_table(n) for n in names):
        return None
    md = MetaData()
    return {n: Table(n, md, autoload_with=bind) for n in names}


def _col(table: Table, *candidates: str) -> Column | None:
    for name in candidates:
        if name in table.c:
            return table.c[name]
    return None


def _current_membership(member: Table, today: date) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    active = _col(member, *_ACTIVE_COLUMNS)
    if active is not None:
        conds.append(active == true())
    started = _col(member, *_STARTED_COLUMNS)
    if started is not None:
        conds.append(or_(started.is_(None), started <= today))
    ended = _col(member, *_ENDED_COLUMNS)
    if ended is not None:
        conds.append(or_(ended.is_(None), ended >= today))
    return conds


def committee_codes_of(session: Session, person_ids: list[int] | None = None, organisation_id: int | None = None,
                       today: date | None = None) -> frozenset[str]:
    """Codes of the committees on which any of ``person_ids`` (or anyone of ``organisation_id``) sits."""
    tables = reflect(session, "committees", "committee_members")
    if tables is None:
        return frozenset()
    committees, members = tables["committees"], tables["committee_members"]
    code = _col(committees, "code")
    if code is None or "person_id" not in members.c or "committee_id" not in members.c:
        return frozenset()
    q = select(code).select_from(members.join(committees, members.c.committee_id == committees.c.id))
    if organisation_id is not None:
        q = q.where(members.c.person_id.in_(select(Person.id).where(Person.organisation_id == organisation_id)))
    else:
        q = q.where(members.c.person_id.in_(person_ids or []))
    if today is not None:
        q = q.where(*_current_membership(members, today))
    return frozenset(c for c in (normalise_code(v) for v in session.scalars(q)) if c)


def committee_member_ids(session: Session, committee_code: str, today: date | None = None) -> list[int]:
    """The people who sit on the committee ``committee_code`` (empty when the committees domain has no tables)."""
    tables = reflect(session, "committees", "committee_members")
    if tables is None:
        return []
    committees, members = tables["committees"], tables["committee_members"]
    code = _col(committees, "code")
    if code is None or "person_id" not in members.c:
        return []
    want = normalise_code(committee_code)
    q = select(members.c.person_id, code).select_from(
        members.join(committees, members.c.committee_id == committees.c.id)
    )
    if today is not None:
        q = q.where(*_current_membership(members, today))
    rows = session.execute(q).all()
    return sorted({r[0] for r in rows if normalise_code(r[1]) == want})


def viewer_of(ctx: Ctx) -> Viewer:
    """The acting person as a Viewer, with their committee facts."""
    actor = ctx.actor
    if actor.person_id is None:
        return Viewer(person_id=None, roles=actor.roles)
    kind = None
    if actor.organisation_id is not None:
        kind = ctx.session.scalar(select(Organisation.kind).where(Organisation.id == actor.organisation_id))
    today = ctx.clock.today()
    return Viewer(
        person_id=actor.person_id,
        roles=actor.roles,
        organisation_id=actor.organisation_id,
        organisation_kind=kind,
        committee_codes=committee_codes_of(ctx.session, [actor.person_id], today=today),
        organisation_committee_codes=(
            committee_codes_of(ctx.session, organisation_id=actor.organisation_id, today=today)
            if actor.organisation_id is not None else frozenset()
        ),
    )


def context_of(paper: Paper) -> PaperContext:
    return PaperContext(
        author_id=paper.author_id,
        recipient_ids=frozenset(r.person_id for r in paper.recipients),
        committee_code=paper.committee_code,
        issued=paper.status == PaperStatus.ISSUED,
    )


# ------------------------------------------------------------------------------------------------ SQL


def _cleared_for(viewer: Viewer, level: Classification) -> ColumnElement[bool]:
    """SQL over ``Paper``: the viewer's clearance for the paper is at least ``level`` (rules.clearance)."""
    if level == Classification.WHITE:
        return true()
    red = or_(
        Paper.author_id == viewer.person_id,
        # correlate explicitly: this may sit two queries deep (search in appendices), where auto-correlation
        # would silently bring in a FROM papers of its own and match any paper the viewer is named on
        exists(select(PaperRecipient.id).where(PaperRecipient.paper_id == Paper.id,
                                               PaperRecipient.person_id == viewer.person_id)
               .correlate_except(PaperRecipient)),
        Paper.committee_code.in_(sorted(viewer.committee_codes)) if viewer.committee_codes else false(),
    )
    if level == Classification.RED:
        return red
    amber = or_(
        red,
        true() if viewer.is_code_administrator else false(),
        Paper.committee_code.in_(sorted(viewer.organisation_committee_codes))
        if viewer.organisation_committee_codes else false(),
    )
    if level == Classification.AMBER:
        return amber
    return or_(amber, true() if viewer.in_community else false())


def cleared_for_column(viewer: Viewer, column: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[bool]:
    """SQL: the viewer may see material whose classification is held in ``column`` (of this ``Paper``)."""
    if not viewer.signed_in:
        return false()
    return or_(*(and_(column == level.value, _cleared_for(viewer, level)) for level in Classification))


def visible_papers(viewer: Viewer) -> ColumnElement[bool]:
    """SQL filter on ``Paper``: the papers that exist for ``viewer``."""
    cond = cleared_for_column(viewer, Paper.classification)
    if not viewer.is_code_administrator:
        cond = and_(cond, or_(Paper.status == PaperStatus.ISSUED.value, Paper.author_id == viewer.person_id))
    return cond


def visible_appendices(viewer: Viewer) -> ColumnElement[bool]:
    """SQL filter on ``PaperAppendix`` joined to its ``Paper``: the appendices that exist for ``viewer``."""
    return and_(visible_papers(viewer), cleared_for_column(viewer, PaperAppendix.classification))
