"""Statistics for the staff member's part of the grid: weeks, rates, categories, the tree below, overdue, reopened.

Every rate comes from bot.cases.figures, the module the weekly report uses; this page only chooses periods and
units and draws them (bar charts as inline SVG drawn on the server: nothing to load from elsewhere).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from markupsafe import Markup, escape
from sqlalchemy import func, select

from bot.cases.figures import Figures, figures_by_period_child_category, hours_text, rate_text
from bot.cases.scope import scope_unit, subtree_clause
from bot.grid.directory import UnitRef
from bot.services import Services
from bot.web.common import actor_of, day_start, local, not_found, render, services_of
from models import Case, CaseEvent, CaseStatus
from models.cases import open_filter

routes = web.RouteTableDef()
WEEKS = 8
TABLES = {"weeks": "按周", "categories": "按类别", "units": "按网格单元"}


def _unit(request: web.Request) -> UnitRef | None:
    """The unit asked for, if it lies inside the viewer's own part of the grid; else the viewer's own unit."""
    services = services_of(request)
    own = scope_unit(services.directory, actor_of(request))
    if own is None:
        return None
    asked = services.directory.by_code(request.query.get("unit", "")) if request.query.get("unit") else None
    return asked if asked is not None and own.contains(asked) else own


def _row(label: str, figures: Figures) -> dict[str, Any]:
    """One table row of figures, each as leaders read it (暂无数据 where nothing is counted)."""
    return {"label": label, "total": figures.cases, "done": figures.done, "closure": rate_text(figures.closure_rate),
            "response": rate_text(figures.response_rate), "on_time": rate_text(figures.on_time_rate),
            "accept_hours": hours_text(figures.mean_accept_hours),
            "resolve_hours": hours_text(figures.mean_resolve_hours), "satisfaction": rate_text(figures.satisfaction)}


async def stats_tables(services: Services, unit: UnitRef) -> dict[str, Any]:
    """Every table of the statistics page for a unit's subtree over the last WEEKS weeks, from the one figures
    module: weeks, categories, child units and the total all come from one grouped query."""
    now = services.clock.now()
    monday = (now.astimezone(services.settings.tz) - timedelta(days=now.astimezone(services.settings.tz).weekday())).date()
    bounds = [day_start(monday - timedelta(weeks=back), services) for back in range(WEEKS - 1, -2, -1)]
    children = services.directory.children(unit)
    by_week = [Figures() for _ in bounds[1:]]
    by_child = [Figures() for _ in children]
    by_category: dict[str, Figures] = {}
    overall = Figures()
    async with services.sessions() as db:
        for week, child, part in await figures_by_period_child_category(db, bounds, [c.path for c in children],
                                                                        unit_path=unit.path):
            for total in (by_week[week], overall, by_category.setdefault(next(iter(part.categories)), Figures())):
                total.add(part)
            if child >= 0:
                by_child[child].add(part)
        overdue = (await db.execute(
            select(Case.id, Case.category_name, Case.place, Case.resolve_due_at)
            .where(subtree_clause(services.directory, unit), open_filter(), Case.resolve_due_at < now).order_by(Case.resolve_due_at).limit(20))).all()
        reopened = (await db.execute(
            select(CaseEvent.case_id, func.count()).join(Case, Case.id == CaseEvent.case_id)
            .where(Case.unit_path.startswith(unit.path, autoescape=True), CaseEvent.to_status == CaseStatus.REOPENED,
                   CaseEvent.at >= bounds[0])
            .group_by(CaseEvent.case_id).order_by(func.count().desc()).limit(20))).all()
    return {"weeks": [_row(f"{since:%m-%d}", figures) for since, figures in zip(bounds, by_week, strict=False)],
            "categories": [_row(name, figures) for name, figures in
                           sorted(by_category.items(), key=lambda item: -item[1].cases)[:30]],
            "units": [{**_row(child.name, figures), "code": child.code} for child, figures in zip(children, by_child,
                                                                                                   strict=True)],
            "overall": _row(unit.name, overall), "since": local(bounds[0], services, "%Y-%m-%d"),
            "overdue": [{"id": r.id, "category": r.category_name or "未分类", "place": r.place,
                         "due": local(r.resolve_due_at, services)} for r in overdue],
            "reopened": [{"id": case_id, "times": times} for case_id, times in reopened]}


def bars(rows: list[dict[str, Any]], key: str = "total", *, width: int = 560, bar: int = 22) -> str:
    """A horizontal bar chart as SVG markup; every label is escaped here, numbers are numbers."""
    top = max([r[key] for r in rows] + [1])
    height = bar * len(rows) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, row in enumerate(rows):
        length = int((width - 200) * row[key] / top)
        y = i * bar + 2
        parts.append(f'<text x="0" y="{y + 15}" font-size="13">{escape(str(row["label"]))[:14]}</text>'
                     f'<rect x="130" y="{y + 3}" width="{length}" height="{bar - 8}" fill="#2f6fb3"/>'
                     f'<text x="{136 + length}" y="{y + 15}" font-size="12">{int(row[key])}</text>')
    parts.append("</svg>")
    return "".join(parts)


@routes.get("/stats")
async def stats_page(request: web.Request) -> web.Response:
    """The figures of the viewer's unit (or a unit below it), with charts and drill-down."""
    unit = _unit(request)
    if unit is None:
        return not_found(request, "统计页面面向网格、社区和街道人员；您的工单请在列表中查看。")
    tables = await stats_tables(services_of(request), unit)
    services = services_of(request)
    overall = tables["overall"]
    return render(request, "staff/stats.html", {
        **tables, "unit": unit, "trail": [u for u in services.directory.ancestors(unit)
                                          if scope_unit(services.directory, actor_of(request)).contains(u)],
        "summary": overall,
        "week_chart": Markup(bars(tables["weeks"])), "unit_chart": Markup(bars(tables["units"])),
        "category_chart": Markup(bars(tables["categories"][:12])), "tables": TABLES,
    })


@routes.get("/stats.csv")
async def stats_csv(request: web.Request) -> web.Response:
    """One of the statistics tables as CSV (UTF-8 with BOM)."""
    unit = _unit(request)
    table = request.query.get("table", "")
    if unit is None or table not in TABLES:
        return not_found(request)
    rows = (await stats_tables(services_of(request), unit))[table]
    out = io.StringIO()
    out.write("\ufeff")
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    now: datetime = services_of(request).clock.now()
    return web.Response(body=out.getvalue().encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="stats-{unit.code}-{table}-{now:%Y%m%d}.csv"'})
