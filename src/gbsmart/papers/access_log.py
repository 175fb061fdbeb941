"""The RED access log of a paper: who was given its RED material (the paper or an appendix), when, and how.

Every read of RED material writes a ``RedAccessRecord`` (``service.log_red_access``), and so does every refused
attempt to change who is named on it (``service.update_recipients``); this module reads those records back for one
paper and its appendices, newest first, a keyset page at a time (``at``, then ``id``).

Who may read a paper's log (``rules.may_read_access_log``): its **author** and the **Code Administrators**.
For everyone, SECAS included, the paper behaves as it does everywhere under the Panel Information Policy: when
it does not exist for them the answer is 404, exactly as for an unknown reference (a Code Administrator not
cleared for a RED paper does not learn from its log that it exists); when it does, reading its log without being
its author or a Code Administrator is a 403 that says who may. The log holds no RED content (who, when, the
paper's reference, an appendix letter, the channel); reading it is not itself recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from gbsmart.core.context import Ctx
from gbsmart.core.errors import Forbidden
from gbsmart.core.pagination import encode_cursor
from gbsmart.models.papers import Paper, RedAccessRecord
from gbsmart.models.parties import Organisation, Person
from gbsmart.papers import access, rules
from gbsmart.papers.enums import AccessChannel
from gbsmart.papers.service import MAX_LIMIT as MAX_LIMIT  # the access log pages as the papers list does
from gbsmart.papers.service import REFUSED_RECIPIENTS, _find_visible, check_limit, cursor_key


@dataclass
class AccessEntry:
    """One access to RED material of the paper, with the person's name and organisation as they are today."""

    record: RedAccessRecord
    name: str
    organisation: str | None

    @property
    def part(self) -> str:
        """``Paper``, ``Appendix A``, or a refused change of named recipients in words."""
        if REFUSED_RECIPIENTS in self.record.what:
            words = self.record.what.removeprefix(f"{self.record.paper_reference} ")
            return words[:1].upper() + words[1:]
        return f"Appendix {self.record.appendix_letter}" if self.record.appendix_letter else "Paper"

    @property
    def channel(self) -> AccessChannel:
        return AccessChannel(self.record.channel)


@dataclass
class AccessLog:
    """A page of a paper's RED access log; ``paper_visible`` says whether the reader may also see the paper."""

    paper: Paper
    paper_visible: bool
    entries: list[AccessEntry]
    next_cursor: str | None


def _who_may(paper: Paper) -> str:
    author = f"its author ({paper.author_name})" if paper.author_id is not None else "its author"
    return f"Only {author} or a Code Administrator (SECAS) may read the RED access log of {paper.reference}."


def _paper_for_log(ctx: Ctx, reference: str) -> tuple[Paper, bool]:
    """The paper whose log the caller asks for (404 when it does not exist for them, 403 when they may see it but
    not its log); the flag says the caller may see the paper, which is always so once past these checks."""
    viewer = access.viewer_of(ctx)
    paper = _find_visible(ctx, viewer, reference)  # 404 when it does not exist for the caller, SECAS included
    if not rules.may_read_access_log(viewer, access.context_of(paper)):
        raise Forbidden(_who_may(paper))
    return paper, True


def read_access_log(ctx: Ctx, reference: str, cursor: str | None = None, limit: int = 50) -> AccessLog:
    """The accesses to RED material of paper ``reference`` and its appendices, newest first (author or SECAS)."""
    check_limit(limit)
    after = cursor_key(cursor, datetime.fromisoformat, int)
    paper, visible = _paper_for_log(ctx, reference)
    r = RedAccessRecord
    q = (
        select(r, Person.full_name, Organisation.name)
        .outerjoin(Person, Person.id == r.person_id)
        .outerjoin(Organisation, Organisation.id == Person.organisation_id)
        # by reference (indexed with ``at``) and by id, so a later paper reusing a deleted one's reference
        # does not inherit its log
        .where(r.paper_reference == paper.reference, r.paper_id == paper.id)
        .order_by(r.at.desc(), r.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        q = q.where(or_(r.at < after[0], and_(r.at == after[0], r.id < after[1])))
    rows = ctx.session.execute(q).all()
    entries = [AccessEntry(record=rec, name=full_name or rec.username, organisation=org)
               for rec, full_name, org in rows[:limit]]
    last = entries[-1].record if entries else None
    next_cursor = encode_cursor([last.at.isoformat(), last.id]) if last is not None and len(rows) > limit else None
    return AccessLog(paper=paper, paper_visible=visible, entries=entries, next_cursor=next_cursor)
