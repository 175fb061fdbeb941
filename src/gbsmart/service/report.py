"""The Operations Group's monthly report (issue 13 point 6; seeds 000 and 003), computed from what was recorded:

- **performance against levels**: each Code Performance Measure (and PM2) over the 12 months to the report's
  month, as a chart with its target and minimum lines, and why CPM1 missed: its misses by cause (firmware payloads,
  PM2) and CSP Region (``service.performance``);
- **alert volumes** in the month by code and CSP region (the alerts' minute roll-up, ``alert_volume_minutes``);
- **aged incidents** by type, with their trend (``service.incidents.aged_report``);
- **major incidents** raised or resolved in the month, with their time to restore and report issue
  (``service.major``).

- **Communications Hub exceptions** by category and CSP region, and **returns** with their triage, the share of
  the hubs decommissioned in the SMI and the no-fault-found rate (``service.hubs``).

The page and its PDF
carry the report's marking, AMBER: for the SEC Panel and its sub-committees (the Panel Information Policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, or_, select

from gbsmart.core.context import Ctx
from gbsmart.models.alerts import AlertVolumeMinute
from gbsmart.models.service import Incident, MajorIncidentReport
from gbsmart.service import incidents, performance

MARKING = "AMBER"
REGIONS = ("North", "Central", "South")
#: the charts' size (viewBox units)
W, H, LEFT, BOTTOM, TOP = 300, 120, 30, 18, 8


@dataclass(frozen=True)
class MeasureChart:
    code: str
    name: str
    figures: list[performance.Figure]
    svg: dict[str, Any]

    @property
    def latest(self) -> performance.Figure:
        return self.figures[-1]


@dataclass(frozen=True)
class MajorRow:
    reference: str
    title: str
    category: int
    raised_at: Any
    resolved_at: Any
    restore_text: str
    report_version: int | None


@dataclass(frozen=True)
class MonthlyReport:
    month: date
    charts: list[MeasureChart]
    volumes: dict[str, dict[str, int]]        # code -> region -> alerts
    volume_total: int
    region_totals: dict[str, int]
    aged: list[incidents.AgedRow]
    aged_days: int
    majors: list[MajorRow]
    hubs: Any = None
    causes: performance.Causes | None = None  # why CPM1 missed: PM2 and the CSP Regions


def _chart(figures: list[performance.Figure]) -> dict[str, Any]:
    """A line of the monthly shares (gaps where there is no data) over the target and minimum lines."""
    level = figures[0].level
    low = min([level.minimum - 5.0, *[f.share for f in figures if f.share is not None]])
    low = max(0.0, min(low, level.minimum - 1.0))
    span = max(100.0 - low, 1.0)
    plot_w, plot_h = W - LEFT - 6, H - TOP - BOTTOM
    step = plot_w / max(len(figures) - 1, 1)

    def y(value: float) -> float:
        return round(TOP + plot_h * (100.0 - value) / span, 1)

    points: list[dict[str, Any]] = []
    segments: list[list[str]] = []
    current: list[str] = []
    for i, f in enumerate(figures):
        x = round(LEFT + i * step, 1)
        if f.share is None:
            if current:
                segments.append(current)
            current = []
            continue
        point = {"x": x, "y": y(f.share), "title": f"{f.month:%b %Y}: {f.share_text} ({f.met} of {f.counted})",
                 "colour": {"target met": "green", "below target": "orange", "below minimum": "red"}[f.standing]}
        points.append(point)
        current.append(f"{x},{point['y']}")
    if current:
        segments.append(current)
    labels = [{"x": round(LEFT + i * step, 1), "text": f"{f.month:%b}"} for i, f in enumerate(figures)
              if i % 2 == len(figures) % 2 or i == len(figures) - 1]
    return {"width": W, "height": H, "left": LEFT, "right": W - 6, "bottom": H - BOTTOM,
            "target_y": y(level.target), "minimum_y": y(level.minimum), "top_label": "100%", "low_label": f"{low:.0f}%",
            "lines": [" ".join(s) for s in segments], "points": points, "labels": labels}


def build(ctx: Ctx, month: date) -> MonthlyReport:
    rows = performance.history(ctx, 12, until=month)
    charts = []
    for n, code in enumerate(performance.MEASURES):
        figures = [row[n] for row in rows]
        charts.append(MeasureChart(code, figures[0].level.name, figures, _chart(figures)))
    start, end = performance.month_bounds(month)
    v = AlertVolumeMinute
    volumes: dict[str, dict[str, int]] = {}
    region_totals = {r: 0 for r in (*REGIONS, "unknown")}
    for code, region, n in ctx.session.execute(
            select(v.code, v.csp_region, func.sum(v.alerts)).where(v.minute >= start, v.minute < end)
            .group_by(v.code, v.csp_region)):
        name = region if region in REGIONS else "unknown"
        volumes.setdefault(code, {})[name] = volumes.get(code, {}).get(name, 0) + int(n or 0)
        region_totals[name] += int(n or 0)
    aged, days, _ = incidents.aged_report(ctx, at=end)  # as at the month's end (or now, for this month)
    majors = []
    i = Incident
    found = ctx.session.scalars(incidents.visible(ctx).where(
        or_(i.raised_at.between(start, end), i.resolved_at.between(start, end))).order_by(i.raised_at)).all()
    for incident in found:
        from gbsmart.service import major

        view = major.view(ctx, incident.reference)
        if not view.major:
            continue
        version = ctx.session.scalar(select(func.max(MajorIncidentReport.version)).where(
            MajorIncidentReport.incident_id == incident.id))
        majors.append(MajorRow(incident.reference, incident.title, incident.category, incident.raised_at,
                               incident.resolved_at, view.restore_text, version))
    from gbsmart.service import hubs

    return MonthlyReport(month, charts, dict(sorted(volumes.items(), key=lambda kv: -sum(kv[1].values()))),
                         sum(region_totals.values()), region_totals, aged, days, majors,
                         hubs.figures(ctx, start, end), performance.causes(ctx, month))


_env = Environment(loader=FileSystemLoader([str(Path(__file__).parent / "templates")]),
                   autoescape=select_autoescape(["html"]))


def print_html(ctx: Ctx, report: MonthlyReport) -> str:
    return _env.get_template("report_print.html").render(r=report, marking=MARKING, regions=REGIONS,
                                                         printed_for=ctx.actor.name, printed_at=ctx.clock.now())


def pdf(ctx: Ctx, month: date) -> tuple[str, bytes]:
    from gbsmart.core.pdf import html_to_pdf

    report = build(ctx, month)
    return f"opsg-report-{month:%Y-%m}.pdf", html_to_pdf(print_html(ctx, report), ctx.settings.chromium_path)


def has_data(report: MonthlyReport) -> bool:
    """Anything recorded for the month: a measure with data, aged or major incidents, hub exceptions or returns."""
    return bool(any(c.latest.counted for c in report.charts) or report.aged or report.majors or report.volume_total
                or (report.hubs is not None and (report.hubs.exceptions or report.hubs.returns)))


def markdown_section(ctx: Ctx, month: date) -> list[str]:
    """The Operations Group's part of the Panel Sub-Committee Report draft (papers.reports), in Markdown: the
    month's figures as the monthly report computes them. Empty when nothing was recorded for the month."""
    r = build(ctx, month)
    if not has_data(r):
        return []
    lines = [f"### Operations Group: service performance in {month:%B %Y}", "",
             "| Measure | Share | Target | Minimum | Standing | Months below minimum (of the last 12 with data) |",
             "|---|---:|---:|---:|---|---:|"]
    for c in r.charts:
        f = c.latest
        below = sum(1 for x in c.figures if x.standing == "below minimum")
        with_data = sum(1 for x in c.figures if x.share is not None)
        lines.append(f"| {c.code} {c.name} | {f.share_text} | {f.level.target:g}% | {f.level.minimum:g}% | "
                     f"{f.standing} | {below} of {with_data} |")
    lines.append("")
    if r.causes is not None and r.causes.cpm1.share is not None:
        lines.extend([r.causes.summary, ""])
    if r.aged:
        lines.append(f"**Aged incidents** (not resolved after {r.aged_days} days): " + "; ".join(
            f"‘{a.type_name}’ {a.now} ({a.trend:+d} since the previous report)" for a in r.aged) + ".")
        lines.append("")
    if r.hubs is not None and (r.hubs.exceptions or r.hubs.returns):
        total = {c: sum(by.values()) for c, by in r.hubs.exceptions.items()}
        biggest = max(total, key=lambda c: total[c]) if total else None
        text = f"**Communications Hub exceptions:** {sum(total.values())} raised"
        if biggest:
            text += f", the biggest ‘{biggest}’ ({total[biggest]})"
        text += f". **Returns:** {r.hubs.returns}"
        if r.hubs.return_share is not None:
            text += f", {r.hubs.return_share:.0f}% of the hubs decommissioned"
        if r.hubs.no_fault_found_rate is not None:
            text += f"; no fault found in {r.hubs.no_fault_found_rate:.0f}% of those triaged"
        lines.extend([text + ".", ""])
    if r.majors:
        lines.append("**Major incidents:** " + "; ".join(
            f"{m.reference} ‘{m.title}’ (category {m.category}, time to restore {m.restore_text})" for m in r.majors)
            + ".")
        lines.append("")
    lines.extend([f"_Computed by gbsmart from the recorded traffic and incidents: see /service/report?month="
                  f"{month:%Y-%m}._", ""])
    return lines
