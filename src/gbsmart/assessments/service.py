"""User Security Assessments, the use cases: put Users under the cycle, record assessments, findings, conditions
and remediation actions, the SSC's decisions (minuted at its meetings) and Director's Letters; read them back
through ``access`` only.

Who may write: the Code Administrator and the SSC's members (``access.Reader.all_of_it``). Who may read: see
``access``. A reference the reader may not see is "not found", worded as for one that does not exist.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from gbsmart.assessments import access, rules
from gbsmart.assessments.enums import (
    ActionKind,
    AssessmentKind,
    AssessmentStatus,
    ItemStatus,
    SscStatus,
    StatusKind,
    UserSize,
    UserType,
)
from gbsmart.assessments.schemas import (
    ActionCreate,
    AssessedUserCreate,
    AssessmentCreate,
    DecisionCreate,
    FindingCreate,
    LetterCreate,
    LetterReview,
    PortfolioCreate,
)
from gbsmart.committees import service as committees
from gbsmart.committees.enums import DecisionWord
from gbsmart.committees.schemas import MinuteDecisionCreate
from gbsmart.core.audit import record_change
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.core.exports import csv_cell
from gbsmart.core.pagination import Page, decode_cursor, encode_cursor
from gbsmart.models.assessments import (
    AssessedUser,
    AssessmentAction,
    AssessmentDecision,
    AssessmentFinding,
    AssessmentPortfolio,
    DirectorsLetter,
    SecurityAssessment,
)
from gbsmart.models.committees import Decision, Meeting
from gbsmart.models.parties import Organisation
from gbsmart.parties import service as parties

PAGE_SIZE = 50


def cycle_rules(ctx: Ctx) -> rules.CycleRules:
    s = ctx.settings
    return rules.load_rules(s.assessment_cycle_file or rules.CYCLE_FILE, s.assessment_cycle_variant)


def _invalid(exc: rules.RuleError) -> Invalid:
    return Invalid(str(exc), detail=[{"field": exc.field, "message": str(exc)}])


def _field(message: str, name: str) -> Invalid:
    return Invalid(message, detail=[{"field": name, "message": message}])


def require_writer(ctx: Ctx, what: str) -> access.Reader:
    reader = access.reader_of(ctx)
    if not reader.all_of_it:
        raise Forbidden(f"Only the Code Administrator (SECAS) or a member of the Security Sub-Committee may {what}.")
    return reader


# ------------------------------------------------------------------------------------------------ Users


def _user_by_org(session: Session, org: Organisation) -> AssessedUser | None:
    return session.scalar(select(AssessedUser).where(AssessedUser.organisation_id == org.id))


def get_user(ctx: Ctx, name: str) -> AssessedUser:
    """The User named, if the reader may see its cycle; unknown and unseen read alike."""
    reader = access.reader_of(ctx)
    org = parties.find_organisation(ctx.session, name)
    user = None if org is None else ctx.session.scalar(
        select(AssessedUser).where(AssessedUser.organisation_id == org.id, access.visible_users(reader)))
    if user is None:
        raise NotFound(f"No User under the assessment cycle called {name!r} that you can see; "
                       "`gbsmart assessments users` lists those you can.")
    return user


def portfolio_on(user: AssessedUser, on: date) -> AssessmentPortfolio:
    """The portfolio in force on ``on``: the latest declared at or before it (the first one before any)."""
    before = [p for p in user.portfolios if p.as_of <= on]
    return before[-1] if before else user.portfolios[0]


def size_on(r: rules.CycleRules, user: AssessedUser, on: date) -> UserSize:
    """The User's size for the cycle that ``on`` falls in: its portfolio at that cycle's start (SECMP0044)."""
    start = rules.position(user.user_entry_date, max(on, user.user_entry_date)).cycle_start
    p = portfolio_on(user, start)
    return rules.size_of(r, p.domestic_premises, p.non_domestic_premises)


def row_on(r: rules.CycleRules, user: AssessedUser, on: date) -> str:
    return rules.row_of(UserType(user.user_type), size_on(r, user, on))


def register_user(ctx: Ctx, data: AssessedUserCreate) -> AssessedUser:
    require_writer(ctx, "put a User under the assessment cycle")
    s = ctx.session
    org = parties.organisation_by_name(s, data.organisation)
    if _user_by_org(s, org) is not None:
        raise Conflict(f"{org.name} is already under the assessment cycle; record a new portfolio instead "
                       "(`gbsmart assessments portfolio`).")
    provider = None
    if data.shared_resource_provider:
        provider = parties.organisation_by_name(s, data.shared_resource_provider)
        known = _user_by_org(s, provider)
        if known is None or not known.is_shared_resource_provider:
            raise _field(f"{provider.name} is not a Shared Resource Provider under the cycle: register it first, "
                         "with is_shared_resource_provider.", "shared_resource_provider")
        if provider.id == org.id:
            raise _field("A User cannot be its own Shared Resource Provider.", "shared_resource_provider")
    now = ctx.clock.now()
    user = AssessedUser(organisation_id=org.id, organisation=org, user_type=data.user_type.value,
                        user_entry_date=data.user_entry_date, user_roles=data.user_roles,
                        is_shared_resource_provider=data.is_shared_resource_provider,
                        provider_id=provider.id if provider else None, provider=provider, created_at=now,
                        updated_at=now)
    user.portfolios.append(AssessmentPortfolio(as_of=data.user_entry_date, domestic_premises=data.domestic_premises,
                                               non_domestic_premises=data.non_domestic_premises, created_at=now))
    s.add(user)
    s.flush()
    record_change(ctx, "assessments.user", "assessed_user", org.name, None,
                  {"user_type": data.user_type.value, "user_entry_date": data.user_entry_date})
    return user


def add_portfolio(ctx: Ctx, name: str, data: PortfolioCreate) -> AssessmentPortfolio:
    """A new portfolio from ``as_of``; one that changes the User's size must start a cycle (SECMP0044)."""
    require_writer(ctx, "record a User's portfolio")
    user = get_user(ctx, name)
    r = cycle_rules(ctx)
    if data.as_of < user.user_entry_date:
        raise _field(f"{data.as_of.isoformat()} is before {user.organisation.name}'s User Entry date "
                     f"{user.user_entry_date.isoformat()}.", "as_of")
    if any(p.as_of == data.as_of for p in user.portfolios):
        raise _field(f"A portfolio as of {data.as_of.isoformat()} is already recorded.", "as_of")
    new = rules.size_of(r, data.domestic_premises, data.non_domestic_premises)
    try:
        rules.check_size_change(r, user.organisation.name, user.user_entry_date, size_on(r, user, data.as_of),
                                data.as_of, new)
    except rules.RuleError as exc:
        raise _invalid(exc) from exc
    p = AssessmentPortfolio(as_of=data.as_of, domestic_premises=data.domestic_premises,
                            non_domestic_premises=data.non_domestic_premises, created_at=ctx.clock.now())
    user.portfolios.append(p)
    user.portfolios.sort(key=lambda x: x.as_of)
    ctx.session.flush()
    record_change(ctx, "assessments.portfolio", "assessed_user", user.organisation.name, None,
                  {"as_of": data.as_of, "size": new.value})
    return p


def list_users(ctx: Ctx) -> list[AssessedUser]:
    reader = access.reader_of(ctx)
    return list(ctx.session.scalars(
        select(AssessedUser).join(Organisation, AssessedUser.organisation_id == Organisation.id)
        .where(access.visible_users(reader)).order_by(Organisation.name)))


# ------------------------------------------------------------------------------------------------ assessments


def _visible(reader: access.Reader) -> Select:
    return (select(SecurityAssessment).join(AssessedUser, SecurityAssessment.user_id == AssessedUser.id)
            .where(access.visible_assessments(reader)))


def _not_found(reference: str) -> NotFound:
    return NotFound(f"No assessment {reference!r} that you can see; `gbsmart assessments list` lists those you can.")


def get_assessment(ctx: Ctx, reference: str) -> SecurityAssessment:
    reader = access.reader_of(ctx)
    found: SecurityAssessment | None = ctx.session.scalar(
        _visible(reader).where(func.upper(SecurityAssessment.reference) == reference.upper()))
    if found is None:
        raise _not_found(reference)
    return found


def _next_reference(session: Session, year: int) -> str:
    prefix = f"USA-{year}-"
    last = session.scalar(select(func.max(SecurityAssessment.reference))
                          .where(SecurityAssessment.reference.like(f"{prefix}%")))
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:03d}"


def _earlier_full(session: Session, user: AssessedUser, before: date) -> bool:
    return session.scalar(select(SecurityAssessment.id).where(
        SecurityAssessment.user_id == user.id, SecurityAssessment.kind == AssessmentKind.FULL.value,
        SecurityAssessment.start_date < before).limit(1)) is not None


def create_assessment(ctx: Ctx, data: AssessmentCreate) -> SecurityAssessment:
    """Record an assessment; its kind must be the one the User's cycle calls for in that year."""
    require_writer(ctx, "record User Security Assessments")
    s = ctx.session
    r = cycle_rules(ctx)
    try:
        user = get_user(ctx, data.user)
    except NotFound as exc:
        raise _field(str(exc), "user") from exc
    name = user.organisation.name
    try:
        at = rules.position(user.user_entry_date, data.start_date)
        row = row_on(r, user, data.start_date)
        rules.check_kind(r, row, at, data.kind, name)
    except rules.RuleError as exc:
        raise _invalid(exc) from exc
    follows = reuses = None
    if data.follows:
        follows = s.scalar(select(SecurityAssessment).where(
            func.upper(SecurityAssessment.reference) == data.follows.upper()))
        if follows is None or follows.user_id != user.id:
            raise _field(f"{name} has no assessment {data.follows!r} for this one to follow.", "follows")
        if follows.start_date > data.start_date:
            raise _field(f"A Follow-up starts after the assessment it follows ({follows.start_date.isoformat()}).",
                         "start_date")
    if data.reuses:
        reuses = s.scalar(select(SecurityAssessment).where(
            func.upper(SecurityAssessment.reference) == data.reuses.upper()))
        if reuses is None or user.provider_id is None or reuses.user.organisation_id != user.provider_id:
            raise _field(f"{data.reuses!r} is not an assessment of {name}'s Shared Resource Provider.", "reuses")
    initial = data.kind == AssessmentKind.FULL and at.cycle_number == 1 and at.cycle_year == 1 \
        and not _earlier_full(s, user, data.start_date)
    now = ctx.clock.now()
    a = SecurityAssessment(
        reference=_next_reference(s, data.start_date.year), user_id=user.id, user=user, kind=data.kind.value,
        initial=initial, cycle_number=at.cycle_number, cycle_year=at.cycle_year,
        size=size_on(r, user, data.start_date).value, user_role=data.user_role or user.user_roles,
        assessor=data.assessor, start_date=data.start_date, end_date=data.end_date, status=data.status.value,
        summary=data.summary, follows_id=follows.id if follows else None, reuses_id=reuses.id if reuses else None,
        created_at=now, updated_at=now)
    s.add(a)
    s.flush()
    record_change(ctx, "assessments.assessment", "security_assessment", a.reference, None,
                  {"kind": a.kind, "cycle_year": a.cycle_year, "status": a.status})
    return a


def kind_phrase(a: SecurityAssessment) -> str:
    kind = AssessmentKind(a.kind)
    if kind == AssessmentKind.FULL:
        return f"{'Initial' if a.initial else 'Second or subsequent'} {kind.label}"
    return kind.label


def add_finding(ctx: Ctx, reference: str, data: FindingCreate) -> AssessmentFinding:
    require_writer(ctx, "record findings")
    a = get_assessment(ctx, reference)
    if data.on_shared_resource and a.user.provider_id is None:
        raise _field(f"{a.user.organisation.name} uses no Shared Resource Provider.", "on_shared_resource")
    f = AssessmentFinding(number=len(a.findings) + 1, severity=data.severity.value, text=data.text,
                          sec_reference=data.sec_reference, on_shared_resource=data.on_shared_resource,
                          status=ItemStatus.OPEN.value, created_at=ctx.clock.now())
    a.findings.append(f)
    ctx.session.flush()
    record_change(ctx, "assessments.finding", "security_assessment", a.reference, None, {"number": f.number})
    return f


def add_action(ctx: Ctx, reference: str, data: ActionCreate) -> AssessmentAction:
    require_writer(ctx, "set conditions and remediation actions")
    a = get_assessment(ctx, reference)
    finding = None
    if data.finding is not None:
        finding = next((f for f in a.findings if f.number == data.finding), None)
        if finding is None:
            raise _field(f"{a.reference} has no finding {data.finding}.", "finding")
    elif data.kind == ActionKind.REMEDIATION:
        raise _field("A remediation action remedies a finding: give its number.", "finding")
    act = AssessmentAction(finding_id=finding.id if finding else None, finding=finding, kind=data.kind.value,
                           text=data.text, due_date=data.due_date, status=ItemStatus.OPEN.value,
                           created_at=ctx.clock.now())
    a.actions.append(act)
    ctx.session.flush()
    record_change(ctx, "assessments.action", "security_assessment", a.reference, None,
                  {"kind": act.kind, "due_date": act.due_date})
    return act


def close_action(ctx: Ctx, reference: str, action_id: int, on: date | None = None) -> AssessmentAction:
    require_writer(ctx, "close conditions and remediation actions")
    a = get_assessment(ctx, reference)
    act = next((x for x in a.actions if x.id == action_id), None)
    if act is None:
        raise NotFound(f"{a.reference} has no condition or action {action_id}.")
    if act.status == ItemStatus.CLOSED:
        raise Conflict(f"That {ActionKind(act.kind).label.lower()} was closed on {act.closed_on}.")
    act.status, act.closed_on = ItemStatus.CLOSED.value, on or ctx.clock.today()
    if act.finding is not None and all(x.status == ItemStatus.CLOSED for x in a.actions if x.finding_id ==
                                       act.finding_id):
        act.finding.status, act.finding.closed_on = ItemStatus.CLOSED.value, act.closed_on
    ctx.session.flush()
    record_change(ctx, "assessments.action_closed", "security_assessment", a.reference, None, {"action": act.id})
    return act


def overdue(ctx: Ctx) -> list[tuple[SecurityAssessment, AssessmentAction]]:
    """Open conditions and remediation actions past their due date, oldest first: those of the reader's own
    assessments (a provider: those on its Shared Resource findings); all of them for the SSC and SECAS."""
    reader = access.reader_of(ctx)
    stmt = (select(SecurityAssessment, AssessmentAction)
            .join(AssessedUser, SecurityAssessment.user_id == AssessedUser.id)
            .join(AssessmentAction, AssessmentAction.assessment_id == SecurityAssessment.id)
            .outerjoin(AssessmentFinding, AssessmentAction.finding_id == AssessmentFinding.id)
            .where(access.visible_findings(reader), AssessmentAction.status == ItemStatus.OPEN.value,
                   AssessmentAction.due_date < ctx.clock.today())
            .order_by(AssessmentAction.due_date, AssessmentAction.id))
    return [(a, act) for a, act in ctx.session.execute(stmt).all()]


# ------------------------------------------------------------------------------------------------ SSC decisions


def _ssc_meeting(ctx: Ctx, reference: str) -> Meeting:
    try:
        return committees.get_meeting(ctx.session, access.SSC, reference.removeprefix("SSC ").strip())
    except NotFound as exc:
        raise _field(f"No SSC meeting {reference!r}: create it under Committees → SSC first.", "meeting") from exc


def _assurance_of(session: Session, user: AssessedUser, before: SecurityAssessment) -> AssessmentDecision | None:
    return session.scalar(
        select(AssessmentDecision).join(SecurityAssessment, AssessmentDecision.assessment_id == SecurityAssessment.id)
        .where(SecurityAssessment.user_id == user.id, AssessmentDecision.status_kind == StatusKind.ASSURANCE.value,
               AssessmentDecision.status.in_([s.value for s in rules.ASSURED]))
        .order_by(AssessmentDecision.decided_on.desc()).limit(1))


def status_kind_of(a: SecurityAssessment) -> StatusKind:
    follows = None
    if a.follows is not None:
        follows = rules.status_kind_for(AssessmentKind(a.follows.kind), a.follows.initial)
    return rules.status_kind_for(AssessmentKind(a.kind), a.initial, follows)


def _minute(ctx: Ctx, meeting: Meeting, agenda_item: str, text: str, word: DecisionWord) -> Decision:
    try:
        return committees.record_decision(ctx, meeting, MinuteDecisionCreate(
            word=word, text=text, agenda_item=agenda_item, take_step=False))
    except NotFound as exc:
        raise _field(str(exc), "agenda_item") from exc


def decide(ctx: Ctx, reference: str, data: DecisionCreate) -> AssessmentDecision:
    """The SSC sets the assessment's status at one of its meetings; the minute says only that it did (the status
    and the User are RED, in the assessment's record)."""
    require_writer(ctx, "record the SSC's decisions")
    s = ctx.session
    a = get_assessment(ctx, reference)
    kind = status_kind_of(a)
    try:
        rules.check_status(kind, data.status, f"{kind_phrase(a)} {a.reference}")
    except rules.RuleError as exc:
        raise _invalid(exc) from exc
    if kind == StatusKind.COMPLIANCE and _assurance_of(s, a.user, a) is None:
        raise _field(f"A compliance status comes after an assurance status, and {a.user.organisation.name} has none: "
                     "the SSC first sets an assurance status (Approved, or Approved subject to conditions) after "
                     "its initial Full User Security Assessment.", "status")
    if any(d.status_kind == kind.value for d in a.decisions) and kind != StatusKind.REVIEW:
        raise Conflict(f"The SSC already set the {kind.label.lower()} of {a.reference}; a new status needs a "
                       "Follow-up Security Assessment.")
    meeting = _ssc_meeting(ctx, data.meeting)
    if meeting.meeting_date < a.start_date:
        raise _field(f"SSC {meeting.reference} ({meeting.meeting_date}) is before the assessment began.", "meeting")
    text = (f"the {kind.label.lower()} following User Security Assessment {a.reference} ({kind_phrase(a)}); the "
            "status and the details are RED and held in the assessment's record") if kind != StatusKind.REVIEW else (
        f"its review of {kind_phrase(a)} {a.reference}; the details are RED and held in the assessment's record")
    minute = _minute(ctx, meeting, data.agenda_item, text,
                     DecisionWord.APPROVED if kind != StatusKind.REVIEW else DecisionWord.NOTED)
    d = AssessmentDecision(status_kind=kind.value, status=data.status.value, decision_id=minute.id,
                           meeting_reference=committees.minute_reference(meeting), decided_on=meeting.meeting_date,
                           created_at=ctx.clock.now())
    a.decisions.append(d)
    a.status = AssessmentStatus.DECIDED.value
    a.updated_at = ctx.clock.now()
    s.flush()
    record_change(ctx, "assessments.decision", "security_assessment", a.reference, None,
                  {"status_kind": kind.value, "meeting": d.meeting_reference})
    return d


# ------------------------------------------------------------------------------------------------ Director's Letters


def add_letter(ctx: Ctx, data: LetterCreate) -> DirectorsLetter:
    require_writer(ctx, "record Director's Letters")
    s = ctx.session
    a = s.scalar(select(SecurityAssessment).where(func.upper(SecurityAssessment.reference) == data.assessment.upper()))
    if a is None:
        raise _field(f"A Director's Letter follows an assessment, and there is no assessment {data.assessment!r}: "
                     "record the assessment first (`gbsmart assessments list` lists them).", "assessment")
    if data.received_on < a.start_date:
        raise _field(f"The letter is dated before {a.reference} began ({a.start_date}).", "received_on")
    prefix = f"DL-{data.received_on.year}-"
    last = s.scalar(select(func.max(DirectorsLetter.reference)).where(DirectorsLetter.reference.like(f"{prefix}%")))
    n = int(last.rsplit("-", 1)[1]) if last else 0
    letter = DirectorsLetter(reference=f"{prefix}{n + 1:03d}", assessment_id=a.id, assessment=a,
                             received_on=data.received_on, summary=data.summary, created_at=ctx.clock.now())
    s.add(letter)
    s.flush()
    record_change(ctx, "assessments.letter", "directors_letter", letter.reference, None, {"assessment": a.reference})
    return letter


def _visible_letters(reader: access.Reader) -> Select:
    return (select(DirectorsLetter).join(SecurityAssessment, DirectorsLetter.assessment_id == SecurityAssessment.id)
            .join(AssessedUser, SecurityAssessment.user_id == AssessedUser.id)
            .where(access.visible_users(reader)))


def get_letter(ctx: Ctx, reference: str) -> DirectorsLetter:
    found: DirectorsLetter | None = ctx.session.scalar(_visible_letters(access.reader_of(ctx))
                               .where(func.upper(DirectorsLetter.reference) == reference.upper()))
    if found is None:
        raise NotFound(f"No Director's Letter {reference!r} that you can see.")
    return found


def list_letters(ctx: Ctx) -> list[DirectorsLetter]:
    return list(ctx.session.scalars(_visible_letters(access.reader_of(ctx)).order_by(DirectorsLetter.received_on)))


def review_letter(ctx: Ctx, reference: str, data: LetterReview) -> DirectorsLetter:
    require_writer(ctx, "record the SSC's review of a Director's Letter")
    letter = get_letter(ctx, reference)
    if letter.reviewed_on is not None:
        raise Conflict(f"The SSC reviewed {letter.reference} at {letter.reviewed_meeting} on {letter.reviewed_on}.")
    meeting = _ssc_meeting(ctx, data.meeting)
    minute = _minute(ctx, meeting, data.agenda_item,
                     f"its review of Director's Letter {letter.reference}, following a "
                     f"{AssessmentKind(letter.assessment.kind).label} ({letter.assessment.reference})",
                     DecisionWord.NOTED)
    letter.reviewed_decision_id = minute.id
    letter.reviewed_meeting = committees.minute_reference(meeting)
    letter.reviewed_on = meeting.meeting_date
    ctx.session.flush()
    record_change(ctx, "assessments.letter_reviewed", "directors_letter", letter.reference, None,
                  {"meeting": letter.reviewed_meeting})
    return letter


# ------------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Filters:
    q: str | None = None
    kind: AssessmentKind | None = None
    year: int | None = None


def _filtered(reader: access.Reader, f: Filters) -> Select:
    stmt = _visible(reader).join(Organisation, AssessedUser.organisation_id == Organisation.id)
    if f.kind is not None:
        stmt = stmt.where(SecurityAssessment.kind == f.kind.value)
    if f.year is not None:
        stmt = stmt.where(SecurityAssessment.start_date >= date(f.year, 1, 1),
                          SecurityAssessment.start_date <= date(f.year, 12, 31))
    if f.q:
        like = "%" + f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # findings are searched only where the reader may see them
        in_findings = select(AssessmentFinding.id).where(
            AssessmentFinding.assessment_id == SecurityAssessment.id, func.lower(AssessmentFinding.text)
            .like(like, escape="\\"), access.visible_findings(reader)).correlate_except(AssessmentFinding).exists()
        stmt = stmt.where(or_(func.lower(SecurityAssessment.reference).like(like, escape="\\"),
                              func.lower(Organisation.name).like(like, escape="\\"),
                              func.lower(SecurityAssessment.summary).like(like, escape="\\")
                              if reader.all_of_it else func.lower(SecurityAssessment.reference) == "",
                              in_findings))
    return stmt


def list_assessments(ctx: Ctx, f: Filters, cursor: str | None = None, limit: int = PAGE_SIZE
                     ) -> Page[SecurityAssessment]:
    """The assessments the reader may see, newest first, paged by key."""
    reader = access.reader_of(ctx)
    stmt = _filtered(reader, f)
    after = decode_cursor(cursor)
    if after:
        try:
            if len(after) != 2:
                raise ValueError("a key of another length")
            day, ident = date.fromisoformat(str(after[0])), int(str(after[1]))
        except (TypeError, ValueError) as exc:
            raise _field("That cursor is not one this list gave: start again from the first page.", "cursor") from exc
        stmt = stmt.where(or_(SecurityAssessment.start_date < day,
                              (SecurityAssessment.start_date == day) & (SecurityAssessment.id < ident)))
    rows = list(ctx.session.scalars(stmt.order_by(SecurityAssessment.start_date.desc(), SecurityAssessment.id.desc())
                                    .limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor([rows[-1].start_date.isoformat(), rows[-1].id]) if more and rows else None
    return Page(items=rows, next_cursor=nxt)


def count_visible(ctx: Ctx, f: Filters) -> dict[str, int]:
    """How many of the reader's visible assessments match, by kind (a list's counts: never the others')."""
    reader = access.reader_of(ctx)
    sub = _filtered(reader, Filters(q=f.q, year=f.year)).subquery()
    rows = ctx.session.execute(select(sub.c.kind, func.count()).group_by(sub.c.kind)).all()
    return {k: n for k, n in rows}


def visible_findings(ctx: Ctx, a: SecurityAssessment) -> list[AssessmentFinding]:
    reader = access.reader_of(ctx)
    if access.sees_whole(reader, a.user):
        return list(a.findings)
    return [f for f in a.findings if f.on_shared_resource and a.user.provider_id == reader.organisation_id]


def export_csv(ctx: Ctx, f: Filters) -> Iterator[str]:
    """The visible assessments and their visible findings, one row per finding (or one for none)."""
    reader = access.reader_of(ctx)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["reference", "user", "kind", "cycle", "year of cycle", "start date", "status", "SSC status",
                "finding", "severity", "finding text", "finding status"])
    yield buf.getvalue()
    cursor = None
    while True:
        page = list_assessments(ctx, f, cursor, 500)
        for a in page.items:
            buf.seek(0)
            buf.truncate()
            whole = access.sees_whole(reader, a.user)
            status = "; ".join(SscStatus(d.status).label for d in a.decisions) if whole else ""
            base = [a.reference, a.user.organisation.name, kind_phrase(a), a.cycle_number, a.cycle_year,
                    a.start_date.isoformat(), AssessmentStatus(a.status).label if whole else "", status]
            found: list[AssessmentFinding | None] = list(visible_findings(ctx, a)) or [None]
            for x in found:
                extra = [x.number, x.severity, x.text, x.status] if x is not None else ["", "", "", ""]
                w.writerow([csv_cell(v) for v in base + extra])
            yield buf.getvalue()
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# ------------------------------------------------------------------------------------------------ the calendar


@dataclass
class Owed:
    user: AssessedUser
    row: str
    entry: rules.CalendarEntry


@dataclass
class Calendar:
    start: date
    end: date
    owed: list[Owed] = field(default_factory=list)
    #: for a reader who sees no User's cycle (or only its own): how many of each kind fall due overall
    totals: dict[str, int] = field(default_factory=dict)


def calendar(ctx: Ctx, year: int) -> Calendar:
    """What each User the reader may see owes in ``year``, and the totals for everyone."""
    r = cycle_rules(ctx)
    start, end = date(year, 1, 1), date(year, 12, 31)
    reader = access.reader_of(ctx)
    out = Calendar(start, end)
    users = list(ctx.session.scalars(select(AssessedUser)))
    seen = {u.id for u in list_users(ctx)} if not reader.all_of_it else {u.id for u in users}
    for u in users:
        for e in rules.calendar(r, u.user_entry_date, functools.partial(row_on, r, u), start, end):
            out.totals[e.kind.value] = out.totals.get(e.kind.value, 0) + 1
            if u.id in seen:
                out.owed.append(Owed(u, row_on(r, u, e.year_start), e))
    out.owed.sort(key=lambda o: (o.entry.year_start, o.user.organisation.name))
    return out
