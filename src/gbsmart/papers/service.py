"""Use cases of papers: list (keyset pages), count, search, read, export (streamed), create, edit, appendices,
recipients, re-classify, issue.

Every read goes through ``access.visible_papers`` / ``access.visible_appendices`` (and, for single items, is
checked again with ``rules.can_see``): material a person may not see does not exist for them, so it is a
404 (``NotFound``), never a 403. Every change writes a change record in the caller's transaction, and every
read of RED material writes a ``RedAccessRecord``. Takes a Ctx; never commits.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from gbsmart.core.audit import record_change, snapshot
from gbsmart.core.context import Ctx
from gbsmart.core.db import insert_or_conflict, make_sessionmaker, session_scope
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.core.exports import csv_cell
from gbsmart.core.pagination import CURSOR_NOT_OURS, Page, decode_cursor, encode_cursor
from gbsmart.models.papers import Paper, PaperAppendix, PaperRecipient, PaperReclassification, RedAccessRecord
from gbsmart.models.parties import Organisation, Person
from gbsmart.papers import access, rules
from gbsmart.papers.enums import AccessChannel, Classification, PaperStatus
from gbsmart.papers.rules import Viewer
from gbsmart.papers.schemas import (
    AppendixCreate,
    PaperCreate,
    PaperUpdate,
    RecipientsUpdate,
    ReclassifyRequest,
)

AUDITED = (
    "reference", "title", "purpose", "action", "author_id", "author_name", "author_organisation", "paper_date",
    "committee_code", "meeting_id", "status", "classification",
)  # fmt: skip


@dataclass
class PaperFilters:
    q: str | None = None
    classification: str | None = None
    committee: str | None = None
    status: str | None = None


@dataclass
class PaperView:
    """A paper as one viewer may see it: only the appendices and history that exist for them."""

    paper: Paper
    appendices: list[PaperAppendix]
    viewer: Viewer
    history: list[PaperReclassification] = field(default_factory=list)
    recipients: list[Person] | None = None

    @property
    def context(self) -> rules.PaperContext:
        return access.context_of(self.paper)

    @property
    def can_manage(self) -> bool:
        return rules.may_manage(self.viewer, self.context)

    @property
    def can_name_recipients(self) -> bool:
        return rules.may_name_recipients(self.viewer, self.context)

    @property
    def can_add_appendix(self) -> bool:
        return rules.may_add_appendix(self.viewer, self.context)

    @property
    def can_read_access_log(self) -> bool:
        return rules.may_read_access_log(self.viewer, self.context)

    @property
    def marking(self) -> Classification:
        """The strictest classification in what this viewer is given (the print header uses it)."""
        return rules.stricter(self.paper.classification, *(a.classification for a in self.appendices))

    def effective(self, appendix: PaperAppendix) -> Classification:
        return rules.effective(self.paper.classification, appendix.classification)


def _not_found(reference: str) -> NotFound:
    return NotFound(f"No paper {reference!r}. References look like SECP_77_1402_19; see GET /api/v1/papers.")


# ------------------------------------------------------------------------------------------- RED audit


#: how the RED access log words a refused attempt to change who receives a paper's RED material
REFUSED_RECIPIENTS = "refused: change of recipients"


def _red_access_record(ctx: Ctx, paper: Paper, channel: AccessChannel, what: str,
                       appendix: PaperAppendix | None = None) -> RedAccessRecord:
    return RedAccessRecord(
        at=ctx.clock.now(), person_id=ctx.actor.person_id, username=ctx.actor.username, paper_id=paper.id,
        paper_reference=paper.reference, appendix_letter=appendix.letter if appendix else None,
        channel=AccessChannel(channel).value, what=what[:300], request_id=ctx.request_id,
    )


def log_red_access(ctx: Ctx, paper: Paper, channel: AccessChannel, appendix: PaperAppendix | None = None) -> None:
    """Record one access to RED material (the paper itself, or one of its appendices)."""
    what = f"{paper.reference} Appendix {appendix.letter}" if appendix else paper.reference
    ctx.session.add(_red_access_record(ctx, paper, channel, what, appendix))


def _log_refused_recipients(ctx: Ctx, paper: Paper, channel: AccessChannel, asked: str) -> None:
    """Record a refused change of who receives the paper's RED material in its RED access log, in a transaction of
    its own: the boundary rolls the refused request back, and the record must stay."""
    record = _red_access_record(ctx, paper, channel, f"{paper.reference} {REFUSED_RECIPIENTS} ({asked})")
    with session_scope(make_sessionmaker(ctx.session.get_bind().engine)) as own:
        own.add(record)


def _log_view(ctx: Ctx, view: PaperView, channel: AccessChannel) -> None:
    if view.paper.classification == Classification.RED:
        log_red_access(ctx, view.paper, channel)
    for a in view.appendices:
        if view.effective(a) == Classification.RED:
            log_red_access(ctx, view.paper, channel, a)


# ---------------------------------------------------------------------------------------------- reads


def _like(q: str) -> str:
    escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(viewer: Viewer, f: PaperFilters, stmt: Select) -> Select:
    stmt = stmt.where(access.visible_papers(viewer))
    if f.classification:
        stmt = stmt.where(Paper.classification == Classification(f.classification.lower()).value)
    if f.committee:
        stmt = stmt.where(Paper.committee_code == rules.normalise_code(f.committee))
    if f.status:
        stmt = stmt.where(Paper.status == PaperStatus(f.status.lower()).value)
    if f.q and f.q.strip():
        like = _like(f.q)
        other = aliased(PaperAppendix)  # the outer query may itself select appendices (counts)
        in_appendix = (
            select(other.id)
            .where(other.paper_id == Paper.id, access.cleared_for_column(viewer, other.classification),
                   or_(other.title.ilike(like, escape="\\"), other.body.ilike(like, escape="\\")))
            .exists()
        )
        stmt = stmt.where(or_(
            Paper.reference.ilike(like, escape="\\"), Paper.title.ilike(like, escape="\\"),
            Paper.purpose.ilike(like, escape="\\"), Paper.body.ilike(like, escape="\\"),
            Paper.author_name.ilike(like, escape="\\"), in_appendix,
        ))
    return stmt


def _check_filters(f: PaperFilters) -> None:
    try:
        if f.classification:
            Classification(f.classification.lower())
        if f.status:
            PaperStatus(f.status.lower())
    except ValueError as exc:
        raise Invalid(f"Unknown filter value: {exc}. Classifications: white, green, amber, red; "
                      "statuses: draft, issued.") from exc


def _visible_appendices_of(ctx: Ctx, viewer: Viewer, paper_ids: list[int]) -> dict[int, list[PaperAppendix]]:
    out: dict[int, list[PaperAppendix]] = {i: [] for i in paper_ids}
    if not paper_ids:
        return out
    rows = ctx.session.scalars(
        select(PaperAppendix).join(Paper, PaperAppendix.paper_id == Paper.id)
        .where(PaperAppendix.paper_id.in_(paper_ids), access.visible_appendices(viewer))
        .order_by(PaperAppendix.paper_id, PaperAppendix.letter)
    )
    for a in rows:
        out[a.paper_id].append(a)
    return out


#: papers on one page of a list unless the caller asks for another number (at most ``MAX_LIMIT``)
PAGE_SIZE = 50
MAX_LIMIT = 500
#: papers read from the database at a time while an export streams
EXPORT_BATCH = 200

#: the list's order: newest first, then by reference (unique), so a key names one place in it
ORDER = (Paper.paper_date.desc(), Paper.reference)


def cursor_key(cursor: str | None, *parts: Callable[[str], Any]) -> tuple[Any, ...] | None:
    """The key a page cursor continues after, each value read by its part of ``parts`` (``None`` for the first
    page); a cursor gbsmart did not issue is a 422."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        if len(values) != len(parts):
            raise ValueError("a key of another length")
        return tuple(read(str(v)) for read, v in zip(parts, values, strict=True))
    except (TypeError, ValueError) as exc:
        raise Invalid(CURSOR_NOT_OURS, detail=[{"field": "cursor", "message": CURSOR_NOT_OURS}]) from exc


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}.",
                      detail=[{"field": "limit", "message": f"between 1 and {MAX_LIMIT}"}])


def _page(ctx: Ctx, viewer: Viewer, f: PaperFilters, after: tuple[Any, ...] | None, limit: int) -> Page[PaperView]:
    """One keyset page: visibility is in the SQL, so the page is full of papers the viewer may see."""
    stmt = _filtered(viewer, f, select(Paper)).options(selectinload(Paper.recipients))
    if after is not None:
        stmt = stmt.where(or_(Paper.paper_date < after[0],
                              and_(Paper.paper_date == after[0], Paper.reference > after[1])))
    rows = list(ctx.session.scalars(stmt.order_by(*ORDER).limit(limit + 1)))
    papers = rows[:limit]
    next_cursor = (encode_cursor([papers[-1].paper_date.isoformat(), papers[-1].reference])
                   if len(rows) > limit else None)
    appendices = _visible_appendices_of(ctx, viewer, [p.id for p in papers])
    views = []
    for p in papers:
        pctx = access.context_of(p)
        # the SQL filter and the pure rule must agree; a row either refuses is left out, whatever the page's size
        if not rules.can_see(viewer, p.classification, pctx):
            continue
        views.append(PaperView(paper=p, viewer=viewer, appendices=[
            a for a in appendices[p.id] if rules.can_see(viewer, rules.effective(p.classification, a.classification),
                                                         pctx)]))
    return Page(items=views, next_cursor=next_cursor)


def list_papers(ctx: Ctx, f: PaperFilters, channel: AccessChannel, cursor: str | None = None,
                limit: int = PAGE_SIZE) -> Page[PaperView]:
    """One page of the papers (and their appendices) that exist for the caller, newest first, paged by key.

    Pass a page's ``next_cursor`` as ``cursor`` for the next page; it is ``None`` on the last page.
    """
    _check_filters(f)
    check_limit(limit)
    after = cursor_key(cursor, date.fromisoformat, str)
    viewer = access.viewer_of(ctx)
    page = _page(ctx, viewer, f, after, limit)
    log_channel = AccessChannel.SEARCH if f.q and channel != AccessChannel.EXPORT else channel
    for v in page.items:
        _log_view(ctx, v, log_channel)
    return page


def count_papers(ctx: Ctx, f: PaperFilters) -> dict:
    """How many papers and appendices of each classification exist for the caller."""
    _check_filters(f)
    viewer = access.viewer_of(ctx)
    papers = dict(ctx.session.execute(
        _filtered(viewer, f, select(Paper.classification, func.count(Paper.id))).group_by(Paper.classification)
    ).all())
    appendices = dict(ctx.session.execute(
        _filtered(viewer, f, select(PaperAppendix.classification, func.count(PaperAppendix.id))
                  .select_from(PaperAppendix).join(Paper, PaperAppendix.paper_id == Paper.id))
        .where(access.visible_appendices(viewer)).group_by(PaperAppendix.classification)
    ).all())
    levels = [c.value for c in Classification]
    return {
        "papers": {c: int(papers.get(c, 0)) for c in levels},
        "appendices": {c: int(appendices.get(c, 0)) for c in levels},
        "total": int(sum(papers.values())),
    }


def _find_visible(ctx: Ctx, viewer: Viewer, reference: str) -> Paper:
    paper = ctx.session.scalar(
        select(Paper).where(func.lower(Paper.reference) == reference.strip().lower(), access.visible_papers(viewer))
    )
    # the SQL filter and the pure rule must agree; either refusing means the paper does not exist here
    if paper is None or not rules.can_see(viewer, paper.classification, access.context_of(paper)):
        raise _not_found(reference)
    return paper


def visible_by_id(ctx: Ctx, paper_ids: list[int | None]) -> dict[int, Paper]:
    """The papers among ``paper_ids`` that exist for the caller, by id (agenda items cite papers by id)."""
    ids = sorted({i for i in paper_ids if i is not None})
    if not ids:
        return {}
    viewer = access.viewer_of(ctx)
    found = ctx.session.scalars(select(Paper).where(Paper.id.in_(ids), access.visible_papers(viewer))
                                .options(selectinload(Paper.recipients)))
    return {p.id: p for p in found if rules.can_see(viewer, p.classification, access.context_of(p))}


def get_view(ctx: Ctx, reference: str, channel: AccessChannel | None) -> PaperView:
    """The paper ``reference`` as the caller may see it; logs RED access when ``channel`` is given."""
    viewer = access.viewer_of(ctx)
    paper = _find_visible(ctx, viewer, reference)
    pctx = access.context_of(paper)
    appendices = [a for a in _visible_appendices_of(ctx, viewer, [paper.id])[paper.id]
                  if rules.can_see(viewer, rules.effective(paper.classification, a.classification), pctx)]
    shown = {a.id for a in appendices}
    view = PaperView(
        paper=paper, appendices=appendices, viewer=viewer,
        history=[r for r in paper.reclassifications if r.appendix_id is None or r.appendix_id in shown],
    )
    if view.can_manage or rules.clearance(viewer, pctx) == Classification.RED:
        view.recipients = [r.person for r in paper.recipients]
    if channel is not None:
        _log_view(ctx, view, channel)
    return view


def get_appendix(ctx: Ctx, reference: str, letter: str, channel: AccessChannel) -> tuple[PaperView, PaperAppendix]:
    view = get_view(ctx, reference, None)
    found = next((a for a in view.appendices if a.letter == letter.strip().upper()), None)
    if found is None:
        raise NotFound(f"No appendix {letter!r} of paper {view.paper.reference}.")
    if view.effective(found) == Classification.RED:
        log_red_access(ctx, view.paper, channel, found)
    return view, found


EXPORT_HEADINGS = ["reference", "title", "classification", "action", "status", "author", "author_organisation",
                   "paper_date", "committee", "appendices"]


def export_csv(ctx: Ctx, f: PaperFilters, batch: int = EXPORT_BATCH) -> Iterator[str]:
    """The visible papers as CSV text (their visible appendices listed as 'A (RED) title'), streamed.

    Bad filters raise ``Invalid`` here, before any text is produced. The iterator yields the headings, then one
    chunk per keyset page of ``batch`` papers; the RED access of a page is added to ``ctx.session`` before its
    chunk is yielded, so a caller that commits before sending each chunk on never sends unrecorded RED material.
    """
    _check_filters(f)
    check_limit(batch)
    return _export_chunks(ctx, f, batch)


def _export_chunks(ctx: Ctx, f: PaperFilters, batch: int) -> Iterator[str]:
    out = io.StringIO()
    w = csv.writer(out)

    def taken() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    w.writerow(EXPORT_HEADINGS)
    yield taken()
    cursor = None
    while True:
        page = list_papers(ctx, f, AccessChannel.EXPORT, cursor, batch)
        for v in page.items:
            p = v.paper
            w.writerow([csv_cell(x) for x in (
                p.reference, p.title, Classification(p.classification).label, p.action, p.status, p.author_name,
                p.author_organisation, p.paper_date.isoformat(), p.committee_code or "",
                "; ".join(f"{a.letter} ({Classification(a.classification).label}) {a.title}" for a in v.appendices))])
        if page.items:
            yield taken()
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# -------------------------------------------------------------------------------------------- changes


def find_person(ctx: Ctx, key: str | int, field_name: str) -> Person:
    """A person by id or username; unknown ones are a 422 on ``field_name``."""
    s = ctx.session
    person = s.get(Person, int(key)) if isinstance(key, int) or str(key).isdigit() else s.scalar(
        select(Person).where(Person.username == str(key).strip()))
    if person is None:
        raise Invalid(f"No person {key!r}.", detail=[{"field": field_name, "message": f"no person {key!r}"}])
    return person


def _manageable(ctx: Ctx, reference: str) -> PaperView:
    view = get_view(ctx, reference, None)
    if not view.can_manage:
        raise Forbidden(f"Only the author of {view.paper.reference} or a Code Administrator may change it.")
    return view


def _require_draft(paper: Paper, what: str) -> None:
    if paper.status != PaperStatus.DRAFT:
        raise Conflict(f"{paper.reference} is issued, so its {what} can no longer change; allowed now: "
                       "re-classify it or change its named recipients.")


#: letters and digits of a reference's tag, without the look-alikes 0/O and 1/I
TAG_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
TAG_LENGTH = 4


def _taken(ctx: Ctx, reference: str) -> bool:
    return ctx.session.scalar(select(Paper.id).where(func.lower(Paper.reference) == reference.lower())) is not None


def hides_papers_from(ctx: Ctx, viewer: Viewer) -> bool:
    """Some paper the viewer did not create does not exist for them (neither which one nor how many is asked).

    Papers the viewer created are left out: they were given its reference when they created it.
    """
    visible = select(Paper.id).where(access.visible_papers(viewer))
    hidden = select(Paper.id).where(Paper.id.not_in(visible), or_(Paper.created_by_id.is_(None),
                                                                   Paper.created_by_id != viewer.person_id))
    return ctx.session.scalar(hidden.limit(1)) is not None


def reference_for(ctx: Ctx, viewer: Viewer, wanted: str) -> str:
    """The reference a new paper takes (docs/decisions/0012-no-existence-oracle.md).

    A person for whom every paper exists (but those they created) gets ``wanted``, or a 409 when a paper they can
    see or created holds it. Anyone else gets ``wanted`` with a random tag (``SSC_13-7KQ2``), whether or not
    ``wanted`` is taken, so the answer never depends on a paper they may not see; a tag that is taken is drawn
    again, which the caller cannot notice.
    """
    if not hides_papers_from(ctx, viewer):
        if _taken(ctx, wanted):
            raise Conflict(f"A paper {wanted!r} already exists; choose another reference.")
        return wanted
    while True:
        tag = "".join(secrets.choice(TAG_ALPHABET) for _ in range(TAG_LENGTH))
        reference = f"{wanted[:40 - TAG_LENGTH - 1]}-{tag}"
        if not _taken(ctx, reference):
            return reference


def create_paper(ctx: Ctx, data: PaperCreate) -> Paper:
    """A new draft paper; only a Code Administrator creates papers."""
    if not ctx.actor.has_role(rules.CODE_ADMINISTRATOR):
        raise Forbidden("Only a Code Administrator (SECAS) may create papers.")
    s = ctx.session
    reference = reference_for(ctx, access.viewer_of(ctx), data.reference)
    exists = Conflict(f"A paper {reference!r} already exists; choose another reference.")
    author = find_person(ctx, data.author, "author") if data.author else (
        s.get(Person, ctx.actor.person_id) if ctx.actor.person_id else None)
    org = s.get(Organisation, author.organisation_id) if author and author.organisation_id else None
    now = ctx.clock.now()
    paper = Paper(
        reference=reference, title=data.title, purpose=data.purpose, action=data.action.value,
        author_id=author.id if author else None, author_name=author.full_name if author else ctx.actor.name,
        author_organisation=data.author_organisation or (org.name if org else ""),
        paper_date=data.paper_date or ctx.clock.today(), committee_code=rules.normalise_code(data.committee_code),
        meeting_id=data.meeting_id, body=data.body, status=PaperStatus.DRAFT.value,
        classification=data.classification.value, created_by_id=ctx.actor.person_id, created_at=now, updated_at=now,
    )
    insert_or_conflict(s, paper, exists)
    for key in data.recipients:
        _add_recipient(ctx, paper, find_person(ctx, key, "recipients"))
    record_change(ctx, "paper.create", "paper", paper.reference, None,
                  {**snapshot(paper, *AUDITED), "recipients": _recipient_names(paper)})
    return paper


def update_paper(ctx: Ctx, reference: str, data: PaperUpdate, channel: AccessChannel) -> Paper:
    """Edit a draft; moving it to another committee changes who receives its RED material, so it is asked of
    those who may name its recipients (``rules.may_name_recipients``), and a refusal is logged."""
    view = _manageable(ctx, reference)
    paper = view.paper
    _require_draft(paper, "text")
    before = snapshot(paper, *AUDITED, "body")
    changes = data.model_dump(exclude_unset=True)
    moved_to = rules.normalise_code(changes.get("committee_code", paper.committee_code))
    if moved_to != rules.normalise_code(paper.committee_code) and not view.can_name_recipients:
        _log_refused_recipients(ctx, paper, channel, f"move to committee {moved_to or 'none'}")
        raise Forbidden(_who_may_name(paper))
    for name, value in changes.items():
        if value is None and name in ("title", "purpose", "action", "author_organisation", "paper_date", "body"):
            continue
        if name == "committee_code":
            value = rules.normalise_code(value)
        setattr(paper, name, value.value if hasattr(value, "value") else value)
    paper.updated_at = ctx.clock.now()
    record_change(ctx, "paper.update", "paper", paper.reference, before, snapshot(paper, *AUDITED, "body"))
    return paper


def _next_letter(paper: Paper) -> str:
    used = {a.letter for a in paper.appendices}
    for n in range(26 * 27):
        letter = chr(65 + n) if n < 26 else chr(64 + n // 26) + chr(65 + n % 26)
        if letter not in used:
            return letter
    raise Conflict("This paper has run out of appendix letters.")


def add_appendix(ctx: Ctx, reference: str, data: AppendixCreate) -> PaperAppendix:
    """Add an appendix to a draft paper; it may be stricter than the paper, never less strict."""
    view = _manageable(ctx, reference)
    paper = view.paper
    if not view.can_add_appendix:
        raise Forbidden(f"Only the author of {paper.reference} ({paper.author_name}), or a Code Administrator cleared "
                        "for all of its material, may add appendices to it: its appendices share one set of letters.")
    _require_draft(paper, "appendices")
    if data.classification.rank < Classification(paper.classification).rank:
        raise Invalid(
            f"An appendix cannot be less strict than its paper ({Classification(paper.classification).label}).",
            detail=[{"field": "classification", "message": "must be at least the paper's classification"}])
    letter = data.letter or _next_letter(paper)
    taken = Conflict(f"{paper.reference} already has an Appendix {letter}; leave the letter out to take the next.")
    if any(a.letter == letter for a in paper.appendices):
        raise taken
    appendix = PaperAppendix(paper_id=paper.id, letter=letter, title=data.title.strip(), body=data.body,
                             classification=data.classification.value, created_at=ctx.clock.now())
    paper.updated_at = ctx.clock.now()
    insert_or_conflict(ctx.session, appendix, taken)
    ctx.session.expire(paper, ["appendices"])
    record_change(ctx, "paper.appendix.add", "paper", paper.reference, None,
                  {"appendix": letter, "title": appendix.title, "classification": appendix.classification})
    return appendix


def reclassify(ctx: Ctx, reference: str, data: ReclassifyRequest) -> PaperReclassification:
    """Change the classification of a paper or one of its appendices, with a record of who, when and why."""
    view = _manageable(ctx, reference)
    paper = view.paper
    target: PaperAppendix | None = None
    if data.appendix:
        target = next((a for a in view.appendices if a.letter == data.appendix.strip().upper()), None)
        if target is None:
            raise NotFound(f"No appendix {data.appendix!r} of paper {paper.reference}.")
        if data.classification.rank < Classification(paper.classification).rank:
            raise Invalid("An appendix cannot be less strict than its paper.",
                          detail=[{"field": "classification", "message": "must be at least the paper's"}])
    old = Classification(target.classification if target else paper.classification)
    problem = rules.reclassification_problem(old, data.classification, data.reason)
    if problem:
        if old == data.classification:
            raise Conflict(problem)
        raise Invalid(problem, detail=[{"field": "reason", "message": "give the reason for lowering it"}])
    record = PaperReclassification(
        appendix_id=target.id if target else None, appendix_letter=target.letter if target else None,
        actor_id=ctx.actor.person_id, actor_name=ctx.actor.name, at=ctx.clock.now(),
        from_classification=old.value, to_classification=data.classification.value, reason=data.reason.strip(),
    )
    paper.reclassifications.append(record)
    (target or paper).classification = data.classification.value
    paper.updated_at = ctx.clock.now()
    ctx.session.flush()
    what = f"{paper.reference} Appendix {target.letter}" if target else paper.reference
    record_change(ctx, "paper.reclassify", "paper", paper.reference, {"object": what, "classification": old.value},
                  {"object": what, "classification": data.classification.value, "reason": record.reason})
    return record


def _recipient_names(paper: Paper) -> list[str]:
    return sorted(r.person.username for r in paper.recipients)


def _add_recipient(ctx: Ctx, paper: Paper, person: Person) -> None:
    if any(r.person_id == person.id for r in paper.recipients):
        return
    recipient = PaperRecipient(paper_id=paper.id, person_id=person.id, person=person,
                               added_by_id=ctx.actor.person_id, added_at=ctx.clock.now())
    insert_or_conflict(ctx.session, recipient, Conflict(
        f"{person.username} was named a recipient of {paper.reference} by someone else at the same time; reload it."))
    ctx.session.expire(paper, ["recipients"])


def _who_may_name(paper: Paper) -> str:
    committee = f" or a Code Administrator on its committee ({paper.committee_code})" if paper.committee_code else ""
    return (f"Only the author of {paper.reference} ({paper.author_name}){committee} may change who receives its RED "
            "material (its named recipients and its committee); this attempt has been recorded in its RED access log.")


def update_recipients(ctx: Ctx, reference: str, data: RecipientsUpdate, channel: AccessChannel) -> list[Person]:
    """Name or remove recipients of the paper's RED material (``rules.may_name_recipients``); a refusal is logged."""
    view = get_view(ctx, reference, None)
    paper = view.paper
    if not view.can_name_recipients:
        asked = "; ".join(f"{verb} {', '.join(str(k) for k in keys)}" for verb, keys in
                          (("add", data.add), ("remove", data.remove)) if keys) or "nothing"
        _log_refused_recipients(ctx, paper, channel, asked)
        raise Forbidden(_who_may_name(paper))
    before = _recipient_names(paper)
    for key in data.add:
        _add_recipient(ctx, paper, find_person(ctx, key, "add"))
    for key in data.remove:
        person = find_person(ctx, key, "remove")
        for r in [r for r in paper.recipients if r.person_id == person.id]:
            paper.recipients.remove(r)
    ctx.session.flush()
    after = _recipient_names(paper)
    if after != before:
        record_change(ctx, "paper.recipients", "paper", paper.reference, {"recipients": before},
                      {"recipients": after})
    return [r.person for r in paper.recipients]


def issue(ctx: Ctx, reference: str) -> Paper:
    view = _manageable(ctx, reference)
    paper = view.paper
    if paper.status == PaperStatus.ISSUED:
        raise Conflict(f"{paper.reference} is already issued.")
    before = snapshot(paper, "status")
    paper.status = PaperStatus.ISSUED.value
    paper.issued_at = paper.updated_at = ctx.clock.now()
    record_change(ctx, "paper.issue", "paper", paper.reference, before, snapshot(paper, "status", "issued_at"))
    return paper
