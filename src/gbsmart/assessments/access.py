"""Who may see what of the User Security Assessments: findings and everything about one User's assessments are RED.

They are for the Security Sub-Committee's members, the Code Administrator (SECAS) and the assessed User's own
people; for a finding on a Shared Resource, also the Shared Resource Provider's people (SECMP0044). Everyone else
sees counts only, as the Panel Sub-Committee Reports do (seeds 000, 003). These SQL filters are the only way the
service reads assessments, so a list, a search, a count, an export or a page never holds a row the reader may not
see.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from gbsmart.committees import queries as committee_queries
from gbsmart.core.context import Ctx
from gbsmart.models.assessments import AssessedUser, AssessmentFinding, SecurityAssessment

SSC = "SSC"
CODE_ADMINISTRATOR = "code_administrator"


@dataclass(frozen=True)
class Reader:
    person_id: int | None
    organisation_id: int | None
    #: SSC member, Code Administrator (or the system itself): sees every assessment
    all_of_it: bool

    @property
    def signed_in(self) -> bool:
        return self.person_id is not None or self.all_of_it


def reader_of(ctx: Ctx) -> Reader:
    actor = ctx.actor
    everything = actor.has_role(CODE_ADMINISTRATOR, "system")
    if not everything and actor.person_id is not None:
        seats = committee_queries.codes_seating(ctx.session, person_ids=[actor.person_id], on=ctx.clock.today())
        everything = any((c or "").strip().upper() == SSC for c in seats)
    return Reader(actor.person_id, actor.organisation_id, everything)


def _own(reader: Reader) -> ColumnElement[bool]:
    return AssessedUser.organisation_id == reader.organisation_id if reader.organisation_id else false()


def _provided(reader: Reader) -> ColumnElement[bool]:
    return AssessedUser.provider_id == reader.organisation_id if reader.organisation_id else false()


def visible_users(reader: Reader) -> ColumnElement[bool]:
    """SQL on ``AssessedUser``: the Users whose cycle the reader may see (their own; all for the SSC and SECAS)."""
    if reader.all_of_it:
        return true()
    return _own(reader)


def visible_assessments(reader: Reader) -> ColumnElement[bool]:
    """SQL on ``SecurityAssessment`` joined to ``AssessedUser``: its own assessments, and a served User's that
    hold a finding on the Shared Resource for its provider."""
    if reader.all_of_it:
        return true()
    on_shared = exists(select(AssessmentFinding.id).where(
        AssessmentFinding.assessment_id == SecurityAssessment.id, AssessmentFinding.on_shared_resource.is_(True))
        .correlate_except(AssessmentFinding))
    return or_(_own(reader), and_(_provided(reader), on_shared))


def visible_findings(reader: Reader) -> ColumnElement[bool]:
    """SQL on ``AssessmentFinding`` joined to its assessment and ``AssessedUser``."""
    if reader.all_of_it:
        return true()
    return or_(_own(reader), and_(_provided(reader), AssessmentFinding.on_shared_resource.is_(True)))


def sees_whole(reader: Reader, user: AssessedUser) -> bool:
    """Python form for one loaded assessment: everything of it (not only the Shared Resource's findings)."""
    return reader.all_of_it or (reader.organisation_id is not None and user.organisation_id == reader.organisation_id)
