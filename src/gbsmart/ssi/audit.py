"""The service audit trail (issue 15 point 4; seed 004 "Service Audit Trail search efficiency"): one search across a
User's requests and responses (the gateway's journal and the device responses), the alerts sent to it and its
organisation's incidents, as one time-ordered list, straight to the rows (never an aggregate screen first).

- **Filters**: RequestID, Device ID, MPxN (resolved through the SMI to the devices at that meter point and their
  Communications Hub), SRV, code (a DUIS Response Code, an alert code, an incident status), kind, time range
  (default the last 31 days). Every given filter must match; a filter a kind cannot carry (an SRV for an alert, a
  RequestID for an incident) leaves that kind out.
- **Who sees what**, in the SQL of every source: the DCC and the Code Administrator (and the CLI's system actor)
  see every User; a Party's people the rows of their own organisation's DCC User IDs
  (``gateway.adt_service.visible_user_ids``) and their organisation's incidents (``service.incidents.visible``);
  anyone else nothing.
- **Keyset pages**, newest first by (time, kind, id): each source is read from the cursor on for one row more than
  the page, the four are merged, so a page never counts the matches (a million matches cost what fifty do). The
  cursor is opaque; one gbsmart did not issue is a 422 on the field ``cursor``. When a page is full a short note
  says so, with a bounded summary by kind and code over at most ``SUMMARY_CAP`` rows of each kind.
- **CSV** streams every match in keyset batches of ``EXPORT_BATCH`` (constant memory, no cap).

The rows are read from the journal, ``gateway_responses``, ``northbound_messages`` and ``incidents``: a read model
across the domains the SSI sits above (decision 0014 lets ``ssi`` import them; none imports ``ssi``). Each code
shows its title from the one codes catalogue (``core.codes``); a device alert's from the alert catalogue.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from gbsmart.alerts.catalogue import CatalogueError, load_catalogue
from gbsmart.alerts.enums import OutboundKind
from gbsmart.core import codes
from gbsmart.core.context import Ctx
from gbsmart.core.errors import Invalid
from gbsmart.core.exports import csv_cell
from gbsmart.core.pagination import CURSOR_NOT_OURS, decode_cursor, encode_cursor
from gbsmart.gateway.adt_service import visible_user_ids
from gbsmart.gateway.enums import MessageState
from gbsmart.gateway.keystore import eui64
from gbsmart.gateway.matrix import request_matrix
from gbsmart.models.alerts import NorthboundMessage
from gbsmart.models.delivery import GatewayResponse
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.service import Incident
from gbsmart.service import incidents
from gbsmart.service.enums import IncidentStatus
from gbsmart.smi import service as smi_service
from gbsmart.smi.rules import int_to_eui64, mpxn_fuel
from gbsmart.ssi.enums import AuditKind
from gbsmart.ssi.features import require_feature

FEATURE = "audit_search"
PAGE_SIZE = 50
MAX_LIMIT = 500
DEFAULT_RANGE = timedelta(days=31)
SUMMARY_CAP = 1000
EXPORT_BATCH = 500
#: the northbound messages that are alerts (Service Responses are read from gateway_responses instead)
ALERT_KINDS = (OutboundKind.DEVICE_ALERT.value, OutboundKind.DCC_ALERT.value)
CSV_COLUMNS = ("kind", "time", "reference", "user_id", "device", "srv", "code", "code_title", "state", "link")


def _invalid(name: str, message: str) -> Invalid:
    return Invalid(f"{name}: {message}", detail=[{"field": name, "message": message}])


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class AuditFilters:
    """What to search for: every field optional but the time range; all given must match."""

    time_from: datetime                  # inclusive
    time_to: datetime | None = None      # exclusive; None: up to now
    request_id: str | None = None        # the whole RequestID, originator:target:counter
    device: str | None = None            # a Device ID, in DUIS's form
    mpxn: str | None = None              # an MPAN core or MPRN
    srv: str | None = None               # a Service Reference Variant, e.g. 4.1.1
    code: str | None = None              # a DUIS Response Code, an alert code or an incident status
    kind: AuditKind | None = None

    def kinds(self) -> list[AuditKind]:
        return [self.kind] if self.kind else list(AuditKind)


def make_filters(now: datetime, *, request_id: str | None = None, device: str | None = None,
                 mpxn: str | None = None, srv: str | None = None, code: str | None = None, kind: str | None = None,
                 time_from: datetime | None = None, time_to: datetime | None = None) -> AuditFilters:
    """Filters from what a person typed: IDs in DUIS's form, a bad value a 422 naming its field."""

    def eui(name: str, value: str) -> str:
        try:
            return eui64(value)
        except ValueError as exc:
            raise _invalid(name, str(exc)) from None

    rid = None
    if (request_id or "").strip():
        parts = (request_id or "").strip().split(":")
        if len(parts) != 3 or not parts[2].isdigit() or not parts[2].isascii():
            raise _invalid("request_id", "write the whole RequestID: originator User ID : target ID : counter, "
                                         "e.g. 90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1017")
        rid = f"{eui('request_id', parts[0])}:{eui('request_id', parts[1])}:{int(parts[2])}"
    dev = eui("device", device or "") if (device or "").strip() else None
    point = (mpxn or "").strip() or None
    if point is not None:
        try:
            mpxn_fuel(point)
        except ValueError as exc:
            raise _invalid("mpxn", str(exc)) from None
    variant = (srv or "").strip() or None
    if variant is not None and variant not in request_matrix():
        raise _invalid("srv", f"{variant[:20]!r} is not a Service Reference Variant of DUIS (e.g. 4.1.1, 8.2)")
    text = (code or "").strip() or None
    if text is not None and (len(text) > 20 or not text.replace("_", "").isalnum() or not text.isascii()):
        raise _invalid("code", "a code is letters and digits, such as E4, I0, 8F3E, AD1 or in_progress")
    chosen = None
    wanted = (kind or "").strip()
    if wanted:
        if wanted not in AuditKind._value2member_map_:
            raise _invalid("kind", f"must be one of {', '.join(k.value for k in AuditKind)}")
        chosen = AuditKind(wanted)
    if time_from is not None and time_to is not None and time_to <= time_from:
        raise _invalid("to", "must be after the start of the time range")
    start = time_from if time_from is not None else (time_to or now) - DEFAULT_RANGE
    return AuditFilters(time_from=start, time_to=time_to, request_id=rid, device=dev, mpxn=point, srv=variant,
                        code=text, kind=chosen)


def parse_time(name: str, text: str | None, *, end: bool = False) -> datetime | None:
    """A time typed as ``YYYY-MM-DD`` (a whole day: the end of a range is the next midnight, so it is inclusive) or
    an ISO 8601 date-time (UTC unless it says otherwise); a 422 on ``name`` otherwise."""
    value = (text or "").strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), UTC)
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(name, "write a date as YYYY-MM-DD or a time as YYYY-MM-DDTHH:MM:SSZ") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _devices(ctx: Ctx, f: AuditFilters) -> list[str] | None:
    """The Device IDs a row must name (None: any): the given device, those at the MPxN (and their hubs), or both."""
    if f.mpxn is None:
        return [f.device] if f.device else None
    found: set[str] = set()
    cursor = None
    while True:  # an MPxN has a handful of devices: one page, in practice
        page = smi_service.list_devices(ctx.session, smi_service.DeviceFilters(mpxn=int(f.mpxn)), cursor, 200)
        for d in page.items:
            found.add(int_to_eui64(d.device_id))
            if d.chf_device_id is not None:
                found.add(int_to_eui64(d.chf_device_id))
        cursor = page.next_cursor
        if cursor is None:
            break
    if f.device:
        found &= {f.device}
    return sorted(found)


# ---------------------------------------------------------------- rows


@dataclass(frozen=True)
class AuditRow:
    """One line of the audit trail."""

    kind: AuditKind
    at: datetime
    row_id: int
    reference: str                 # RequestID, ResponseID, northbound message id, incident reference
    user_id: str | None            # the DCC User ID it is of
    device: str | None
    srv: str | None
    code: str
    code_title: str
    code_meaning: str
    state: str | None              # a request's MessageState value, an incident's status
    state_title: str               # what became of it, in words
    link: str | None               # the page that shows it
    note: str = ""                 # a refusal's reason, an incident's title

    @property
    def key(self) -> tuple[datetime, str, int]:
        return (self.at, self.kind.value, self.row_id)


def _duis(code: str) -> tuple[str, str]:
    entry = codes.explain(code, "duis_response")
    return (entry.title, entry.meaning) if entry else ("", "")


def _payload_device(payload: str | None) -> str | None:
    try:
        data = json.loads(payload or "{}")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    outage = data.get("power_outage")
    found = data.get("device_id") or (outage.get("comms_hub_id") if isinstance(outage, dict) else None)
    return str(found) if found else None


def _answer_device(answers: str | None) -> str | None:
    try:
        data = json.loads(answers or "{}")
    except ValueError:
        return None
    return str(data["device_id"]) if isinstance(data, dict) and data.get("device_id") else None


class _Titles:
    """Code titles for one page: the codes catalogue, and the alert catalogue (read once, when needed)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self._alerts: Any = None

    def alert(self, kind: str, code: str) -> tuple[str, str]:
        if kind == OutboundKind.DCC_ALERT.value:
            entry = codes.explain(code, "dcc_alert")
            return (entry.title, entry.meaning) if entry else ("DCC Alert", "")
        if self._alerts is None:
            try:
                self._alerts = load_catalogue(self.ctx.settings)
            except CatalogueError:
                self._alerts = False
        if not self._alerts:
            return ("Device alert", "")
        return (self._alerts.get(code).name, "A device alert the DCC sent to your endpoint.")


# ---------------------------------------------------------------- the sources


Key = tuple[datetime, str, int]


def _after(at: InstrumentedAttribute[datetime], row_id: InstrumentedAttribute[int], kind: AuditKind,
           after: Key | None) -> list[ColumnElement[bool]]:
    """The keyset condition of one source: rows after ``after`` in (time, kind, id) descending order."""
    if after is None:
        return []
    t, k, i = after
    if kind.value < k:
        return [at <= t]
    if kind.value > k:
        return [at < t]
    return [or_(at < t, and_(at == t, row_id < i))]


def _seen(ctx: Ctx, column: InstrumentedAttribute[str]) -> list[ColumnElement[bool]]:
    ids = visible_user_ids(ctx)
    if ids is None:
        return []
    return [column.in_(ids)] if ids else [false()]


def _time(at: InstrumentedAttribute[datetime], f: AuditFilters) -> list[ColumnElement[bool]]:
    out = [at >= f.time_from]
    if f.time_to is not None:
        out.append(at < f.time_to)
    return out


def _quoted_any(column: InstrumentedAttribute[str], values: list[str]) -> ColumnElement[bool]:
    """``column`` (JSON text) holds one of ``values`` as a quoted string (values are IDs: no LIKE wildcards)."""
    return or_(*(column.like(f'%"{v}"%') for v in values)) if values else false()


@dataclass
class _Source:
    kind: AuditKind
    where: Callable[[Ctx, AuditFilters, list[str] | None], list[ColumnElement[bool]] | None]  # None: no rows
    query: Callable[[list[ColumnElement[bool]]], Select[Any]]
    at: InstrumentedAttribute[datetime]
    row_id: InstrumentedAttribute[int]
    code: Any
    row: Callable[[Any, _Titles], AuditRow]


def _request_where(ctx: Ctx, f: AuditFilters, devices: list[str] | None) -> list[ColumnElement[bool]] | None:
    m = GatewayMessage
    out = _seen(ctx, m.originator) + _time(m.received_at, f)
    if f.request_id:
        out.append(m.request_id == f.request_id)
    if devices is not None:
        out.append(m.target.in_(devices) if devices else false())
    if f.srv:
        out.append(m.srv == f.srv)
    if f.code:
        out.append(m.code == f.code.upper())
    return out


def _request_row(m: GatewayMessage, titles: _Titles) -> AuditRow:
    title, meaning = _duis(m.code)
    state = codes.explain(m.state, "message_state")
    return AuditRow(AuditKind.REQUEST, m.received_at, m.id, m.request_id, m.originator, m.target, m.srv, m.code,
                    title, meaning, m.state, state.title if state else MessageState(m.state).label,
                    f"/messages/{m.id}", m.explanation or "")


_m = GatewayMessage
_r = GatewayResponse
#: the journal row of a response's request (the accepted one: a refused request's counter may be sent again)
_RESPONSE_SRV = (select(_m.srv).where(_m.request_id == _r.request_id, _m.originator == _r.originator)
                 .order_by(_m.id.desc()).limit(1).scalar_subquery())
_RESPONSE_MESSAGE = (select(_m.id).where(_m.request_id == _r.request_id, _m.originator == _r.originator,
                                         _m.state != MessageState.REFUSED.value)
                     .order_by(_m.id.desc()).limit(1).scalar_subquery())


def _response_where(ctx: Ctx, f: AuditFilters, devices: list[str] | None) -> list[ColumnElement[bool]] | None:
    r, m = GatewayResponse, GatewayMessage
    out = _seen(ctx, r.originator) + _time(r.completed_at, f)
    if f.request_id:
        out.append(r.request_id == f.request_id)
    if devices is not None:
        if not devices:
            return None
        out.append(exists().where(m.request_id == r.request_id, m.originator == r.originator,
                                  m.target.in_(devices)))
    if f.srv:
        out.append(exists().where(m.request_id == r.request_id, m.originator == r.originator, m.srv == f.srv))
    if f.code:
        out.append(r.code == f.code.upper())
    return out


def _response_row(row: Any, titles: _Titles) -> AuditRow:
    r, srv, message_id = row
    title, meaning = _duis(r.code)
    parts = r.request_id.split(":")
    return AuditRow(AuditKind.RESPONSE, r.completed_at, r.id, r.response_id, r.originator,
                    parts[1] if len(parts) == 3 else None, srv, r.code, title, meaning, None,
                    "Delivered" if r.delivered_at else "Not yet delivered",
                    f"/messages/{message_id}" if message_id is not None else None)


def _alert_where(ctx: Ctx, f: AuditFilters, devices: list[str] | None) -> list[ColumnElement[bool]] | None:
    n = NorthboundMessage
    if f.srv:
        return None  # an alert answers no Service Request Variant
    out = [n.kind.in_(ALERT_KINDS)] + _seen(ctx, n.user_id) + _time(n.created_at, f)
    if f.request_id:  # a QuarantinedRequest alert names the request
        out.append(n.payload.like(f'%"request_id":"{f.request_id}"%'))
    if devices is not None:
        out.append(_quoted_any(n.payload, devices))
    if f.code:
        out.append(n.code == f.code.upper())
    return out


def _alert_row(n: NorthboundMessage, titles: _Titles) -> AuditRow:
    title, meaning = titles.alert(n.kind, n.code)
    state = "Delivered" if n.delivered_at else "Expired, undelivered" if n.expired_at else "Waiting"
    return AuditRow(AuditKind.ALERT, n.created_at, n.id, n.message_id, n.user_id, _payload_device(n.payload), None,
                    n.code, title, meaning, None, state, f"/ssi/audit/alerts/{n.id}")


def _incident_where(ctx: Ctx, f: AuditFilters, devices: list[str] | None) -> list[ColumnElement[bool]] | None:
    i = Incident
    if f.request_id:
        return None  # an incident is not a request
    out = _time(i.raised_at, f)
    # the incident's questions name a device or an MPxN (premises incident types, service/incidents.toml)
    if f.device:
        out.append(_quoted_any(i.answers, [f.device] if devices else []))
    if f.mpxn:
        out.append(_quoted_any(i.answers, [f.mpxn, *(devices or [])]))
    if f.srv:
        out.append(i.answers.like(f'%"srv":"{f.srv}"%'))
    if f.code:
        out.append(i.status == f.code.lower())
    return out


def _incident_row(i: Incident, titles: _Titles) -> AuditRow:
    entry = codes.explain(i.status, "incident_status")
    label = IncidentStatus(i.status).label
    return AuditRow(AuditKind.INCIDENT, i.raised_at, i.id, i.reference, i.user_id, _answer_device(i.answers), None,
                    i.status, entry.title if entry else label, entry.meaning if entry else "", i.status, label,
                    f"/incidents/{i.reference}", i.title)


def _sources(ctx: Ctx) -> dict[AuditKind, _Source]:
    seen_incidents = incidents.visible(ctx)  # the incidents' own rule: every one for operators, else the organisation's
    return {
        AuditKind.REQUEST: _Source(AuditKind.REQUEST, _request_where, lambda w: select(GatewayMessage).where(*w),
                                   GatewayMessage.received_at, GatewayMessage.id, GatewayMessage.code, _request_row),
        AuditKind.RESPONSE: _Source(AuditKind.RESPONSE, _response_where,
                                    lambda w: select(GatewayResponse, _RESPONSE_SRV, _RESPONSE_MESSAGE).where(*w),
                                    GatewayResponse.completed_at, GatewayResponse.id, GatewayResponse.code,
                                    _response_row),
        AuditKind.ALERT: _Source(AuditKind.ALERT, _alert_where, lambda w: select(NorthboundMessage).where(*w),
                                 NorthboundMessage.created_at, NorthboundMessage.id, NorthboundMessage.code,
                                 _alert_row),
        AuditKind.INCIDENT: _Source(AuditKind.INCIDENT, _incident_where, lambda w: seen_incidents.where(*w),
                                    Incident.raised_at, Incident.id, Incident.status, _incident_row),
    }


def _read(ctx: Ctx, f: AuditFilters, after: Key | None, limit: int) -> list[AuditRow]:
    """Up to ``limit`` rows after ``after``, newest first: each source's first ``limit`` rows, merged."""
    devices = _devices(ctx, f)
    titles = _Titles(ctx)
    rows: list[AuditRow] = []
    for kind, src in _sources(ctx).items():
        if kind not in f.kinds():
            continue
        where = src.where(ctx, f, devices)
        if where is None:
            continue
        q = (src.query(where + _after(src.at, src.row_id, kind, after))
             .order_by(src.at.desc(), src.row_id.desc()).limit(limit))
        result = ctx.session.execute(q)
        found = result.all() if kind is AuditKind.RESPONSE else [r[0] for r in result.all()]
        rows += [src.row(r, titles) for r in found]
    rows.sort(key=lambda r: r.key, reverse=True)
    return rows[:limit]


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class KindSummary:
    """How many rows of one kind match, counted over at most ``SUMMARY_CAP`` of them, and by code."""

    kind: AuditKind
    count: int
    capped: bool
    codes: list[tuple[str, str, int]]  # (code, title, count), most first

    @property
    def count_text(self) -> str:
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"


@dataclass
class AuditPage:
    items: list[AuditRow]
    next_cursor: str | None
    filters: AuditFilters
    note: str | None = None
    summary: list[KindSummary] = field(default_factory=list)


def _cursor(cursor: str | None) -> Key | None:
    """The cursor's key, or a 422 on the field ``cursor``."""
    try:
        values = decode_cursor(cursor)
        if values is None:
            return None
        at, kind, row_id = values
        if kind not in AuditKind._value2member_map_ or isinstance(row_id, bool) or not isinstance(row_id, int):
            raise ValueError(kind)
        when = datetime.fromisoformat(str(at))
        if when.tzinfo is None:
            raise ValueError(at)
        return when, str(kind), row_id
    except (Invalid, TypeError, ValueError):
        raise _invalid("cursor", CURSOR_NOT_OURS) from None


def _encode(row: AuditRow) -> str:
    return encode_cursor([row.at.isoformat(), row.kind.value, row.row_id])


def summary(ctx: Ctx, f: AuditFilters, cap: int = SUMMARY_CAP) -> list[KindSummary]:
    """Per kind and code, the matches among the newest ``cap`` of each kind: bounded, never a count of millions."""
    devices = _devices(ctx, f)
    titles = _Titles(ctx)
    out = []
    for kind, src in _sources(ctx).items():
        if kind not in f.kinds() or (where := src.where(ctx, f, devices)) is None:
            continue
        sample = (src.query(where).with_only_columns(src.code.label("code"), NorthboundMessage.kind.label("nk")
                                                     if kind is AuditKind.ALERT else src.code.label("nk"))
                  .order_by(src.at.desc()).limit(cap + 1).subquery())
        counted = ctx.session.execute(select(sample.c.code, sample.c.nk, func.count())
                                      .group_by(sample.c.code, sample.c.nk)).all()
        total = sum(int(n) for _, _, n in counted)
        if not total:
            continue
        by_code = []
        for code, nk, n in counted:
            if kind is AuditKind.ALERT:
                title = titles.alert(nk, code)[0]
            elif kind is AuditKind.INCIDENT:
                title = codes.title(code, "incident_status")
            else:
                title = codes.title(code, "duis_response")
            by_code.append((code, title, int(n)))
        by_code.sort(key=lambda c: (-c[2], c[0]))
        out.append(KindSummary(kind, min(total, cap), total > cap, by_code[:10]))
    return out


def search(ctx: Ctx, f: AuditFilters, cursor: str | None = None, limit: int = PAGE_SIZE) -> AuditPage:
    """One page of the audit trail, newest first: ``limit`` rows (one more is read to know whether there are more)."""
    require_feature(ctx, FEATURE)
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be from 1 to {MAX_LIMIT}")
    after = _cursor(cursor)
    rows = _read(ctx, f, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    page = AuditPage(items=rows, next_cursor=_encode(rows[-1]) if more else None, filters=f)
    if more:
        page.note = (f"More than {limit} matches: the newest {limit} are shown{' from here' if after else ''}. "
                     "Page on with Next, narrow the search (a RequestID, a device, a shorter time range), or "
                     "download every match as CSV.")
        if after is None:
            page.summary = summary(ctx, f)
    elif len(rows) == limit and after is None:
        page.note = f"{limit} matches, all shown."
    return page


# ---------------------------------------------------------------- CSV


def _csv_line(values: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow([csv_cell(v) for v in values])
    return buf.getvalue()


def csv_values(row: AuditRow) -> list[Any]:
    return [row.kind.value, row.at.isoformat(), row.reference, row.user_id or "", row.device or "", row.srv or "",
            row.code, row.code_title, row.state_title, row.link or ""]


def export_rows(ctx: Ctx, f: AuditFilters, batch: int = EXPORT_BATCH) -> Iterator[AuditRow]:
    """Every match, newest first, read in keyset batches of ``batch`` (constant memory)."""
    require_feature(ctx, FEATURE)

    def walk() -> Iterator[AuditRow]:
        after: Key | None = None
        while True:
            rows = _read(ctx, f, after, batch)
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1].key

    return walk()


def export_csv(ctx: Ctx, f: AuditFilters, batch: int = EXPORT_BATCH) -> Iterator[str]:
    """The CSV of every match: the headings, then one chunk per batch. The feature is checked at once (a refusal
    comes before the first byte); the rows are read as the chunks are taken."""
    rows = export_rows(ctx, f, batch)

    def chunks() -> Iterator[str]:
        yield _csv_line(list(CSV_COLUMNS))
        buf: list[str] = []
        for row in rows:
            buf.append(_csv_line(csv_values(row)))
            if len(buf) >= batch:
                yield "".join(buf)
                buf = []
        if buf:
            yield "".join(buf)

    return chunks()


# ---------------------------------------------------------------- one alert


def alert(ctx: Ctx, message_row_id: int) -> tuple[AuditRow, NorthboundMessage]:
    """One alert sent to a User the reader may see (else not found, as one that does not exist)."""
    from gbsmart.core.errors import NotFound

    require_feature(ctx, FEATURE)
    n = NorthboundMessage
    found = ctx.session.scalar(select(n).where(n.id == message_row_id, n.kind.in_(ALERT_KINDS),
                                               *_seen(ctx, n.user_id)))
    if found is None:
        raise NotFound(f"No alert {message_row_id} that you may see: search the audit trail at /ssi/audit.")
    return _alert_row(found, _Titles(ctx)), found
