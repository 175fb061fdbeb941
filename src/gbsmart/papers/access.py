"""The Panel Information Policy in SQL: the viewer's committee facts, and the filters every paper query uses.

``visible_papers`` and ``visible_appendices`` are the SQL form of ``rules.can_see``: they are built from the
same grants (author, named recipient, committee member -> RED; Code Administrator, committee member's
organisation -> AMBER; SEC community -> GREEN; signed in -> WHITE), so lists, counts, search and exports
never contain a row ``can_see`` would refuse.

Committee membership lives in the committees domain and is read through its read API (``committees.queries``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from gbsmart.committees import queries as committee_queries
from gbsmart.core.context import Ctx
from gbsmart.models.papers import Paper, PaperAppendix, PaperRecipient
from gbsmart.models.parties import Organisation
from gbsmart.papers.enums import Classification, PaperStatus
from gbsmart.papers.rules import PaperContext, Viewer, normalise_code


def committee_codes_of(session: Session, person_ids: list[int] | None = None, organisation_id: int | None = None,
                       today: date | None = None) -> frozenset[str]:
    """Codes of the committees on which any of ``person_ids`` (or anyone of ``organisation_id``) sits."""
    codes = committee_queries.codes_seating(session, person_ids=person_ids, organisation_id=organisation_id, on=today)
    return frozenset(c for c in (normalise_code(v) for v in codes) if c)


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
