"""Use cases of incidents: raise, assign, move through their statuses, recategorise, note, list by time left to
their SLA (issue 13 point 1; DOMAIN.md section 8). Takes a Ctx; never commits.

Who may do what (one rule, here, for the API, the pages and the CLI):
- **Raise:** the DCC's people, and the people of an SEC Party; an incident belongs to the organisation that holds
  the DCC User ID it is about (or, without one, the raiser's organisation).
- **See:** the DCC's and the Code Administrator's people see every incident; anyone else those of their own
  organisation only (another's is "not found", never "forbidden", so references do not leak).
- **Work on it** (assign, change status, recategorise, resolve): the DCC's people, the service desk.
- **The User's own people** answer an incident handed back to them (waiting for the User -> in progress), and
  confirm a resolution (resolved -> closed) or reopen it (resolved -> in progress). Anyone who sees an incident
  may add a note while it is not closed.

Every change adds a line to the incident's timeline (``incident_events``) and a change record (audit), and
recomputes its SLA clock from the timeline (``rules.sla``): ``due_at`` is when it breaches while the clock runs.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from gbsmart.config import Settings
from gbsmart.core.audit import record_change, snapshot
from gbsmart.core.clock import utc
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Conflict, Forbidden, Invalid, NotFound
from gbsmart.gateway.rules import sees_every_user
from gbsmart.models.parties import DccUser, Organisation
from gbsmart.models.service import Incident, IncidentEvent
from gbsmart.parties.enums import OrganisationKind, Role
from gbsmart.service import rules
from gbsmart.service.enums import AssigneeKind, IncidentEventKind, IncidentStatus
from gbsmart.service.schemas import (
    IncidentAssign,
    IncidentCreate,
    IncidentEventRead,
    IncidentNote,
    IncidentRead,
    IncidentRecategorise,
    IncidentStatusChange,
)

AUDITED = ("reference", "title", "type_key", "category", "status", "assignee_kind", "assignee", "user_id",
           "resolved_at", "closed_at", "due_at", "breached")
SERVICE_DESK = "DCC Service Desk"
#: the list views: name -> label
VIEWS = {"open": "Open", "due_24h": "Less than 24 hours to breach", "breached": "Breached", "all": "All"}
SORTS = {"left": "Time left to SLA", "raised": "Raised (newest first)", "category": "Category (most severe first)"}
LIST_LIMIT = 500


@functools.lru_cache(maxsize=8)
def _catalogue(path: Path | None) -> rules.Catalogue:
    return rules.load_catalogue(path)


def catalogue(settings: Settings) -> rules.Catalogue:
    """The incident categories and types in force (``service_incidents_file``, or the packaged file)."""
    return _catalogue(settings.service_incidents_file)


# ---------------------------------------------------------------- who

def is_service_desk(ctx: Ctx) -> bool:
    return ctx.actor.has_role(Role.DCC.value, "system")


def sees_every_incident(ctx: Ctx) -> bool:
    return sees_every_user(ctx.actor.roles) or ctx.actor.has_role("system")


def _require_desk(ctx: Ctx, what: str) -> None:
    if not is_service_desk(ctx):
        raise Forbidden(f"Only the DCC's service desk (people with the DCC role) may {what}.")


def visible(ctx: Ctx) -> Select[Incident]:
    query = select(Incident)
    if not sees_every_incident(ctx):
        if ctx.actor.organisation_id is None:
            return query.where(Incident.id.is_(None))
        query = query.where(Incident.organisation_id == ctx.actor.organisation_id)
    return query


def get_incident(ctx: Ctx, ref: str) -> Incident:
    try:
        number = rules.parse_reference(ref)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    found = ctx.session.scalar(visible(ctx).where(Incident.id == number)
                               .options(selectinload(Incident.events)))
    if found is None:
        raise NotFound(f"No incident {rules.reference(number)} that you may see.")
    return found


def _own_incident(ctx: Ctx, incident: Incident) -> bool:
    return ctx.actor.organisation_id is not None and ctx.actor.organisation_id == incident.organisation_id


# ---------------------------------------------------------------- the SLA clock

def _history(incident: Incident) -> list[tuple[datetime, rules.IncidentStatus]]:
    changes: list[tuple[datetime, IncidentStatus]] = []
    for event in incident.events:
        if event.kind == IncidentEventKind.RAISED.value:
            changes.append((utc(event.at), IncidentStatus.OPEN))  # type: ignore[arg-type]
        elif event.kind == IncidentEventKind.STATUS.value and event.after:
            changes.append((utc(event.at), IncidentStatus(event.after)))  # type: ignore[arg-type]
    return changes


def sla_now(incident: Incident, category: rules.Category, now: datetime) -> rules.Sla:
    """The incident's SLA at ``now`` from its timeline."""
    return rules.sla(category, rules.spans(_history(incident)), now)


def _refresh_sla(ctx: Ctx, incident: Incident) -> None:
    now = ctx.clock.now()
    category = catalogue(ctx.settings).category(incident.category)
    s = sla_now(incident, category, now)
    incident.sla_used_seconds = s.used_seconds
    incident.sla_since = now
    incident.due_at = s.due_at if s.running else None
    incident.breached = s.breached
    incident.updated_at = now


def _event(ctx: Ctx, incident: Incident, kind: IncidentEventKind, *, before: str | None = None,
           after: str | None = None, text: str = "") -> None:
    incident.events.append(IncidentEvent(at=ctx.clock.now(), kind=kind.value, actor=ctx.actor.name[:200],
                                         before=before, after=after, text=text))


def _move(ctx: Ctx, incident: Incident, new: IncidentStatus, note: str = "") -> None:
    old = IncidentStatus(incident.status)
    if old == new:
        return
    if not rules.may_move(old, new):
        allowed = ", ".join(s.value for s in rules.TRANSITIONS[old]) or "none (it is closed)"
        raise Conflict(f"{incident.reference} is {old.label.lower()}: it cannot become {new.label.lower()} "
                       f"(it may become: {allowed}).")
    now = ctx.clock.now()
    if new is IncidentStatus.RESOLVED:
        if not note.strip():
            raise Invalid("note: a resolution says what was done", detail=[
                {"field": "note", "message": "a resolution says what was done"}])
        incident.resolved_at = now
        incident.resolution = note.strip()
    elif old is IncidentStatus.RESOLVED and new is IncidentStatus.IN_PROGRESS:
        incident.resolved_at = None  # reopened: its clock runs again from now
    if new is IncidentStatus.CLOSED:
        incident.closed_at = now
    incident.status = new.value
    _event(ctx, incident, IncidentEventKind.STATUS, before=old.value, after=new.value, text=note.strip())


# ---------------------------------------------------------------- use cases

def raise_incident(ctx: Ctx, data: IncidentCreate) -> Incident:
    s = ctx.session
    cat = catalogue(ctx.settings)
    category = cat.category(data.category)
    kind = cat.type(data.type)
    answers = kind.answers(data.answers)
    desk = is_service_desk(ctx)
    org_id = ctx.actor.organisation_id
    if not desk:
        org = s.get(Organisation, org_id) if org_id is not None else None
        if org is None or org.kind not in (OrganisationKind.SEC_PARTY.value, OrganisationKind.DCC.value):
            raise Forbidden("Only the DCC's people and the people of an SEC Party may raise incidents: sign in as "
                            "one of them.")
    user_id = (data.user_id or "").strip().upper() or None
    if user_id is not None:
        holder = s.scalar(select(DccUser).where(DccUser.eui64 == user_id))
        if holder is None:
            raise Invalid(f"user_id: {user_id} is not a DCC User ID", detail=[
                {"field": "user_id", "message": f"{user_id} is not a DCC User ID (see /parties)"}])
        if not desk and holder.organisation_id != org_id:
            raise Invalid(f"user_id: {user_id} is not one of your organisation's DCC User IDs", detail=[
                {"field": "user_id", "message": "is not one of your organisation's DCC User IDs"}])
        org_id = holder.organisation_id
    region = (data.csp_region or "").strip().title() or None
    if region is not None and region not in ("North", "Central", "South"):
        raise Invalid("csp_region: must be North, Central or South", detail=[
            {"field": "csp_region", "message": "must be North, Central or South"}])
    now = ctx.clock.now()
    incident = Incident(reference="", title=data.title.strip(), description=data.description.strip(),
                        type_key=kind.key, category=category.number, status=IncidentStatus.OPEN.value,
                        answers=json.dumps(answers, separators=(",", ":")), user_id=user_id, csp_region=region,
                        organisation_id=org_id, raised_by=ctx.actor.name[:200], raised_by_person_id=ctx.actor.person_id,
                        assignee_kind=AssigneeKind.DCC.value, assignee=SERVICE_DESK, raised_at=now, updated_at=now,
                        resolution="", sla_used_seconds=0.0, sla_since=now, breached=False)
    s.add(incident)
    s.flush()
    incident.reference = rules.reference(incident.id)
    _event(ctx, incident, IncidentEventKind.RAISED, after=str(category.number),
           text=f"Category {category.number} ({category.name}: {category.target_text}), {kind.name}")
    _refresh_sla(ctx, incident)
    s.flush()
    record_change(ctx, "incident.raise", "incident", incident.reference, None, snapshot(incident, *AUDITED))
    return incident


def assign(ctx: Ctx, ref: str, data: IncidentAssign) -> Incident:
    incident = get_incident(ctx, ref)
    _require_desk(ctx, "assign incidents")
    if incident.status in (IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value):
        raise Conflict(f"{incident.reference} is {incident.status}: reopen it before assigning it.")
    before = snapshot(incident, *AUDITED)
    to = data.to.strip()
    if data.kind is AssigneeKind.USER:
        org = ctx.session.get(Organisation, incident.organisation_id) if incident.organisation_id else None
        to = to or (org.name if org is not None else "the User")
    elif data.kind is AssigneeKind.DCC:
        to = to or SERVICE_DESK
    elif not to:
        raise Invalid("to: name the Service Provider (e.g. CSP North)", detail=[
            {"field": "to", "message": "name the Service Provider (e.g. CSP North, DSP)"}])
    _event(ctx, incident, IncidentEventKind.ASSIGNED, before=incident.assignee[:200], after=to[:200],
           text=data.note.strip())
    incident.assignee_kind, incident.assignee = data.kind.value, to
    if data.kind is AssigneeKind.USER:
        _move(ctx, incident, IncidentStatus.AWAITING_USER, data.note)  # the clock stops while it waits
    elif incident.status in (IncidentStatus.OPEN.value, IncidentStatus.AWAITING_USER.value):
        _move(ctx, incident, IncidentStatus.IN_PROGRESS, data.note)
    _refresh_sla(ctx, incident)
    record_change(ctx, "incident.assign", "incident", incident.reference, before, snapshot(incident, *AUDITED))
    return incident


#: the moves the User's own people may make: answer an incident handed back to them, confirm or reopen a resolution
USERS_MAY = frozenset({(IncidentStatus.AWAITING_USER, IncidentStatus.IN_PROGRESS),
                       (IncidentStatus.RESOLVED, IncidentStatus.CLOSED),
                       (IncidentStatus.RESOLVED, IncidentStatus.IN_PROGRESS)})


def allowed_moves(ctx: Ctx, incident: Incident) -> list[IncidentStatus]:
    """The statuses the reader may move ``incident`` to now (the desk: every allowed transition)."""
    old = IncidentStatus(incident.status)
    moves = sorted(rules.TRANSITIONS[old], key=list(IncidentStatus).index)
    if is_service_desk(ctx):
        return moves
    return [new for new in moves if _own_incident(ctx, incident) and (old, new) in USERS_MAY]


def change_status(ctx: Ctx, ref: str, data: IncidentStatusChange) -> Incident:
    incident = get_incident(ctx, ref)
    new = data.status
    if not is_service_desk(ctx) and new not in allowed_moves(ctx, incident):
        raise Forbidden("The User's own people may answer an incident handed back to them, and confirm or "
                        "reopen a resolution; anything else is the DCC service desk's.")
    before = snapshot(incident, *AUDITED)
    _move(ctx, incident, new, data.note)
    if new is IncidentStatus.IN_PROGRESS and incident.assignee_kind == AssigneeKind.USER.value:
        _event(ctx, incident, IncidentEventKind.ASSIGNED, before=incident.assignee[:200], after=SERVICE_DESK)
        incident.assignee_kind, incident.assignee = AssigneeKind.DCC.value, SERVICE_DESK  # handed back
    _refresh_sla(ctx, incident)
    record_change(ctx, "incident.status", "incident", incident.reference, before, snapshot(incident, *AUDITED))
    return incident


def recategorise(ctx: Ctx, ref: str, data: IncidentRecategorise) -> Incident:
    incident = get_incident(ctx, ref)
    _require_desk(ctx, "change an incident's category")
    category = catalogue(ctx.settings).category(data.category)
    if category.number == incident.category:
        raise Conflict(f"{incident.reference} is already category {category.number}.")
    before = snapshot(incident, *AUDITED)
    _event(ctx, incident, IncidentEventKind.CATEGORY, before=str(incident.category), after=str(category.number),
           text=data.reason.strip())
    incident.category = category.number
    _refresh_sla(ctx, incident)
    record_change(ctx, "incident.recategorise", "incident", incident.reference, before,
                  snapshot(incident, *AUDITED))
    return incident


def add_note(ctx: Ctx, ref: str, data: IncidentNote) -> Incident:
    incident = get_incident(ctx, ref)
    if incident.status == IncidentStatus.CLOSED.value:
        raise Conflict(f"{incident.reference} is closed: raise a new incident instead.")
    _event(ctx, incident, IncidentEventKind.NOTE, text=data.text.strip())
    incident.updated_at = ctx.clock.now()
    return incident


# ---------------------------------------------------------------- reading

@dataclass(frozen=True, slots=True)
class Row:
    """An incident as lists show it: its SLA at the reader's now."""

    incident: Incident
    category: rules.Category
    type_name: str
    sla: rules.Sla
    now: datetime

    @property
    def left_text(self) -> str:
        if self.incident.status == IncidentStatus.CLOSED.value or self.incident.status == \
                IncidentStatus.RESOLVED.value:
            return "breached" if self.sla.breached else "met"
        text = rules.left_text(self.sla.left_seconds)
        return text if self.sla.running else f"clock stopped, {text}"

    @property
    def urgency(self) -> str:
        """For the badge: red breached, orange less than 24 hours left, grey stopped, green otherwise."""
        if self.sla.breached:
            return "red"
        if not self.sla.running:
            return "grey"
        if self.sla.due_at is not None and self.sla.due_at - self.now < timedelta(hours=24):
            return "orange"
        return "green"


def row(ctx: Ctx, incident: Incident) -> Row:
    cat = catalogue(ctx.settings)
    category = cat.categories.get(incident.category) or cat.category(incident.category)
    kind = cat.types.get(incident.type_key)
    now = ctx.clock.now()
    return Row(incident, category, kind.name if kind else incident.type_key, sla_now(incident, category, now), now)


def list_incidents(ctx: Ctx, *, view: str = "open", sort: str = "left", category: int | None = None) -> list[Row]:
    """The incidents the reader may see in ``view`` (``VIEWS``), sorted by ``sort`` (``SORTS``)."""
    if view not in VIEWS:
        raise Invalid(f"view: must be one of {', '.join(VIEWS)}", detail=[
            {"field": "view", "message": f"must be one of {', '.join(VIEWS)}"}])
    if sort not in SORTS:
        raise Invalid(f"sort: must be one of {', '.join(SORTS)}", detail=[
            {"field": "sort", "message": f"must be one of {', '.join(SORTS)}"}])
    now = ctx.clock.now()
    query = visible(ctx).options(selectinload(Incident.events))
    done = (IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value)
    if view == "open":
        query = query.where(Incident.status.not_in(done))
    elif view == "due_24h":
        query = query.where(Incident.due_at.is_not(None), Incident.due_at > now,
                            Incident.due_at <= now + timedelta(hours=24))
    elif view == "breached":
        query = query.where(or_(Incident.breached.is_(True), Incident.due_at <= now))
    if category is not None:
        query = query.where(Incident.category == catalogue(ctx.settings).category(category).number)
    incidents = ctx.session.scalars(query.order_by(Incident.id.desc()).limit(LIST_LIMIT)).all()
    rows = [row(ctx, i) for i in incidents]
    if sort == "left":
        rows.sort(key=lambda r: (r.incident.status in done, not r.sla.running, r.sla.left_seconds))
    elif sort == "category":
        rows.sort(key=lambda r: (r.incident.category, r.sla.left_seconds))
    return rows


def read(ctx: Ctx, incident: Incident, *, events: bool = True) -> IncidentRead:
    r = row(ctx, incident)
    org = ctx.session.get(Organisation, incident.organisation_id) if incident.organisation_id else None
    return IncidentRead(
        reference=incident.reference, title=incident.title, description=incident.description,
        type=incident.type_key, type_name=r.type_name, category=incident.category, category_name=r.category.name,
        target=r.category.target_text, status=IncidentStatus(incident.status),
        assignee_kind=AssigneeKind(incident.assignee_kind), assignee=incident.assignee,
        organisation=org.name if org else None, user_id=incident.user_id, csp_region=incident.csp_region,
        answers=json.loads(incident.answers or "{}"), raised_by=incident.raised_by, raised_at=incident.raised_at,
        resolved_at=incident.resolved_at, closed_at=incident.closed_at, resolution=incident.resolution,
        sla_running=r.sla.running, sla_used_seconds=round(r.sla.used_seconds, 1),
        sla_left_seconds=round(r.sla.left_seconds, 1), sla_left=r.left_text, due_at=r.sla.due_at,
        breached=r.sla.breached,
        events=[IncidentEventRead(at=e.at, kind=e.kind, actor=e.actor, before=e.before, after=e.after, text=e.text)
                for e in incident.events] if events else None)


def types_listing(settings: Settings) -> list[dict[str, Any]]:
    """The incident types and their questions, and the categories with their targets (for forms and clients)."""
    cat = catalogue(settings)
    return [{"key": t.key, "name": t.name, "premises": t.premises,
             "questions": [{"key": q.key, "label": q.label, "kind": q.kind, "required": q.required,
                            "choices": list(q.choices)} for q in t.questions]} for t in cat.types.values()]


# ---------------------------------------------------------------- aged incidents (issue 13 point 2)

@dataclass(frozen=True, slots=True)
class AgedRow:
    """One incident type's aged incidents now and at the previous report."""

    type_key: str
    type_name: str
    lead: str
    now: int
    previous: int
    waiting_for_user: int
    oldest_days: float | None
    by_category: dict[int, int]

    @property
    def trend(self) -> int:
        return self.now - self.previous


def _open_at(incident: Incident, at: datetime) -> bool:
    """Raised by ``at`` and not resolved by then (reopened incidents count from their timeline's last resolution)."""
    if utc(incident.raised_at) > at:  # type: ignore[operator]
        return False
    resolved: datetime | None = None
    for event in incident.events:
        when = utc(event.at)
        assert when is not None
        if when > at:
            break
        if event.kind == IncidentEventKind.STATUS.value:
            resolved = when if event.after in (IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value) else None
    return resolved is None


def aged_report(ctx: Ctx, *, days: int | None = None, previous: datetime | None = None,
                at: datetime | None = None) -> tuple[list[AgedRow], int, datetime]:
    """Aged incidents (not resolved, raised more than ``days`` ago) by type, at ``at`` (default: now) and at
    ``previous`` (default: 30 days before), for the incidents the reader may see; returns (rows, days, previous)."""
    cat = catalogue(ctx.settings)
    days = days or cat.aged_days
    if not 1 <= days <= 3650:
        raise Invalid("days: must be 1 to 3650", detail=[{"field": "days", "message": "must be 1 to 3650"}])
    now = min(at, ctx.clock.now()) if at is not None else ctx.clock.now()
    previous = previous or now - timedelta(days=30)
    cutoff_now, cutoff_then = now - timedelta(days=days), previous - timedelta(days=days)
    candidates = ctx.session.scalars(visible(ctx).where(Incident.raised_at <= cutoff_now)
                                     .options(selectinload(Incident.events))).all()
    rows: dict[str, AgedRow] = {}
    for incident in candidates:
        key = incident.type_key
        kind = cat.types.get(key)
        row_ = rows.get(key) or AgedRow(key, kind.name if kind else key, kind.lead if kind else "", 0, 0, 0, None, {})
        raised = utc(incident.raised_at)
        assert raised is not None
        aged_now = _open_at(incident, now)
        aged_then = raised <= cutoff_then and _open_at(incident, previous)
        if not (aged_now or aged_then):
            continue
        by_category = dict(row_.by_category)
        if aged_now:
            by_category[incident.category] = by_category.get(incident.category, 0) + 1
        age = (now - raised).total_seconds() / 86400
        waiting = aged_now and incident.status == IncidentStatus.AWAITING_USER.value
        rows[key] = AgedRow(key, row_.type_name, row_.lead, row_.now + aged_now, row_.previous + aged_then,
                            row_.waiting_for_user + waiting,
                            max(row_.oldest_days or 0.0, age) if aged_now else row_.oldest_days, by_category)
    order = list(cat.types)
    return sorted(rows.values(), key=lambda r: (-r.now, order.index(r.type_key) if r.type_key in order else 99)), \
        days, previous
