"""The case list: filters, keyset pages and counts; bulk assign or transfer; the streamed CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.actions import staff_action
from bot.cases.lifecycle import CaseRefused
from bot.cases.scope import may_see_phones
from bot.pipeline.identities import mask_phones_in
from bot.web.auth import audit
from bot.web.common import STAFF, actor_of, local, phone_for, render, services_of
from bot.web.staff.queries import (
    COUNT_CAP,
    PAGE_SIZE,
    SORTS,
    BadQuery,
    CaseQuery,
    count_by_status,
    fetch_page,
)
from models import CaseEvent, CaseKind, CaseStatus

routes = web.RouteTableDef()
EXPORT_BATCH = 2000
CSV_HEADER = ["编号", "提交时间", "类型", "类别", "状态", "地点", "网格单元", "承办人", "部门", "反映人", "电话",
              "办结时限", "内容"]


def _query(request: web.Request) -> CaseQuery:
    try:
        return CaseQuery.parse(request.query, services_of(request).directory)
    except BadQuery as bad:
        raise web.HTTPBadRequest(text=str(bad)) from bad


@routes.get("/")
async def case_list(request: web.Request) -> web.Response:
    """The cases the staff member may see, filtered, one keyset page at a time, with counts per status."""
    services = services_of(request)
    try:
        query = CaseQuery.parse(request.query, services.directory)
    except BadQuery as bad:
        return render(request, "staff/cases.html", _empty(request, str(bad)), status=400)
    actor, now = actor_of(request), services.clock.now()
    clauses = query.where(services.directory, actor, now=now, tz=services.settings.tz)
    size = int(request.query["size"]) if request.query.get("size", "").isdigit() else PAGE_SIZE
    async with services.sessions() as db:
        rows, next_cursor = await fetch_page(db, query, clauses, max(1, min(size, 200)))
        # A text search is not counted: counting its matches reads every case of the scope.
        counts = None if query.text else await count_by_status(db, clauses)
    return render(request, "staff/cases.html", {
        "query": query, "rows": [_row(request, r, now) for r in rows], "next_cursor": next_cursor,
        "counts": counts or {}, "total": sum(counts.values()) if counts is not None else None, "count_cap": COUNT_CAP,
        "sorts": SORTS, "statuses": list(CaseStatus),
        "kinds": list(CaseKind), "page_size": PAGE_SIZE, "error": None, "categories": _categories(request),
        "next_url": f"/staff/?{urlencode(query.params(after=next_cursor, size=size), doseq=True)}"
        if next_cursor else None,
        "first_url": f"/staff/?{urlencode(query.params(), doseq=True)}" if query.after else None,
        "csv_url": f"/staff/cases.csv?{urlencode(query.params(), doseq=True)}",
    })


def _empty(request: web.Request, error: str) -> dict[str, Any]:
    return {"query": CaseQuery(), "rows": [], "next_cursor": None, "counts": {}, "total": 0, "count_cap": COUNT_CAP,
            "sorts": SORTS,
            "statuses": list(CaseStatus), "kinds": list(CaseKind), "page_size": PAGE_SIZE, "error": error,
            "next_url": None, "first_url": None, "csv_url": "/staff/cases.csv", "categories": _categories(request)}


def _categories(request: web.Request) -> list[tuple[str, str]]:
    """The rules file's categories (code, name), for the list's category menu."""
    return [(c.code, c.name) for c in services_of(request).classifier.current().rules.categories]


def _row(request: web.Request, row: Any, now: datetime) -> dict[str, Any]:
    services = services_of(request)
    unmasked = may_see_phones(actor_of(request))
    status = CaseStatus(row.status)
    return {"id": row.id, "kind": row.kind, "status": status, "category": row.category_name or "未分类",
            "place": row.place or services.directory.unit(row.unit_id).name,
            "unit": services.directory.unit(row.unit_id).name, "assignee": row.assignee_name or row.department or "",
            "reporter": row.reporter_name, "phone": phone_for(row.reporter_phone, unmasked),
            "text": row.text if unmasked else mask_phones_in(row.text),
            "created": local(row.created_at, services), "due": local(row.resolve_due_at, services),
            "overdue": bool(status.is_open and row.resolve_due_at and row.resolve_due_at < now),
            "priority": row.priority}


@routes.get("/cases.csv")
async def export_csv(request: web.Request) -> web.StreamResponse:
    """Streams every case the filter selects as CSV (UTF-8 with BOM, for Excel), batch by batch: flat memory."""
    services = services_of(request)
    query = _query(request)
    actor, now = actor_of(request), services.clock.now()
    clauses = query.where(services.directory, actor, now=now, tz=services.settings.tz)
    unmasked = may_see_phones(actor)
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f"attachment; filename=\"cases-{now:%Y%m%d-%H%M}.csv\""})
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_HEADER)
    directory = services.directory
    while True:
        async with services.sessions() as db:
            rows, cursor = await fetch_page(db, query, clauses, EXPORT_BATCH, budget=None)  # whole batches
        for r in rows:
            writer.writerow([r.id, local(r.created_at, services), r.kind, r.category_name or "",
                             CaseStatus(r.status).label, r.place, directory.unit(r.unit_id).name,
                             r.assignee_name or "", r.department or "", r.reporter_name,
                             phone_for(r.reporter_phone, unmasked), local(r.resolve_due_at, services),
                             _cell(r.text if unmasked else mask_phones_in(r.text))])
        await response.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
        if cursor is None:
            break
        query = _next(query, rows)
    await response.write_eof()
    return response


def _next(query: CaseQuery, rows: list[Any]) -> CaseQuery:
    value = {"newest": "created_at", "oldest": "created_at", "updated": "updated_at", "due": "resolve_due_at"}
    last = rows[-1]
    return replace(query, after=(getattr(last, value[query.sort]), last.id))


def _cell(text: str) -> str:
    """Neutralises spreadsheet formulas (=, +, -, @ at the start) so a resident's text never runs in Excel."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@routes.post("/cases/bulk")
async def bulk_action(request: web.Request) -> web.Response:
    """Assigns or transfers the chosen cases to one staff member or department, each through the lifecycle."""
    services = services_of(request)
    form = await request.post()
    action = str(form.get("action", ""))
    target = str(form.get("target", "")).strip()[:64]
    note = str(form.get("note", "")).strip()[:500]
    ids = [int(v) for v in form.getall("case", []) if str(v).isdigit()][:200]
    session = await get_session(request)
    if action not in {"assign", "transfer"} or not ids or not target:
        session["flash"] = "请勾选工单，并填写要分派或转派给的工号或部门。"
        raise web.HTTPFound("/staff/")
    done, refused = [], []
    for case_id in ids:
        try:
            async with services.sessions.begin() as db:
                await act_on_case(request, db, case_id, action, note=note, target=target)
            done.append(case_id)
        except CaseRefused as refusal:
            refused.append(f"#{case_id}：{refusal}")
    session["flash"] = (f"已处理 {len(done)} 件。" + ("；".join(refused[:5]) if refused else ""))
    raise web.HTTPFound("/staff/")


async def act_on_case(request: web.Request, db: AsyncSession, case_id: int, action: str, *, note: str = "",
                      target: str | None = None) -> None:
    """One staff action through the lifecycle, with its web audit row naming the events it wrote."""
    services = services_of(request)
    last = await db.scalar(select(func.max(CaseEvent.id)).where(CaseEvent.case_id == case_id)) or 0
    await staff_action(db, services.directory, actor_of(request), case_id, action, now=services.clock.now(),
                       note=note, target=target or None, rules=services.classifier.current().rules)
    await db.flush()
    events = (await db.scalars(select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.id > last))).all()
    await audit(request, db, action, staff_id=request[STAFF].id, case_id=case_id,
                event_id=max(events) if events else None, detail=note or (target or ""))
