"""The case list's query: filters from the URL, scope from the viewer, keyset pages, counts (list and CSV share it)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.scope import StaffLike, case_filter, subtree_clause
from bot.grid.directory import GridDirectory, UnitRef
from models import Case, CaseKind, CaseStatus, Resident, Staff
from models.cases import OPEN_STATUSES

SORTS = {"newest": "最新提交", "oldest": "最早提交", "updated": "最近更新", "due": "办结时限最近"}
PAGE_SIZE = 50
SEARCH_BUDGET_S = 0.06  # a text search page stops reading windows after this long (keyset goes on from there)
FIRST_WINDOW = timedelta(days=7)
SEARCH_FIRST_CASES = 5000  # a text search's first window holds about this many cases (~20 ms on SQLite, quiet)
MIN_SEARCH_WINDOW = timedelta(hours=1)
SEARCH_GROWTH = 8  # a text search's next window is at most this many times as long (a pace is only an estimate)
COUNT_CAP = 10_000  # the list counts its cases up to this many, then says "more than"
_CASE, _STAFF, _RESIDENT = Case.__table__, Staff.__table__, Resident.__table__
_SORT_COLUMN = {"newest": _CASE.c.created_at, "oldest": _CASE.c.created_at, "updated": _CASE.c.updated_at,
                "due": _CASE.c.resolve_due_at}
_ASCENDING = {"oldest", "due"}
LIST_COLUMNS = (
    _CASE.c.id, _CASE.c.kind, _CASE.c.status, _CASE.c.category_name, _CASE.c.place, _CASE.c.unit_id, _CASE.c.text,
    _CASE.c.created_at, _CASE.c.updated_at, _CASE.c.resolve_due_at, _CASE.c.priority, _CASE.c.escalation_level,
    _CASE.c.department, _CASE.c.assignee_id, _CASE.c.unit_path, _STAFF.c.name.label("assignee_name"),
    _STAFF.c.code.label("assignee_code"), _RESIDENT.c.display_name.label("reporter_name"),
    _RESIDENT.c.phone.label("reporter_phone"),
)


class BadQuery(ValueError):
    """A filter the list cannot apply; the message is the Chinese explanation."""


@dataclass(frozen=True)
class CaseQuery:
    """What the staff member asked the list for (everything optional)."""

    statuses: tuple[CaseStatus, ...] = ()
    kind: CaseKind | None = None
    category: str = ""
    unit: UnitRef | None = None
    assignee: str = ""
    overdue: bool = False
    since: date | None = None
    until: date | None = None  # inclusive
    text: str = ""
    sort: str = "newest"
    after: tuple[datetime, int] | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str], directory: GridDirectory) -> CaseQuery:
        """Reads the URL's filters; raises BadQuery naming the first one that makes no sense."""
        try:
            statuses = tuple(CaseStatus(s) for s in _many(params, "status"))
        except ValueError as exc:
            raise BadQuery("未知的状态。") from exc
        kind = params.get("kind") or None
        if kind is not None and kind not in {k.value for k in CaseKind}:
            raise BadQuery("未知的类型。")
        unit = None
        if params.get("unit"):
            unit = directory.by_code(params["unit"].strip())
            if unit is None:
                raise BadQuery(f"没有编码为「{params['unit'][:32]}」的网格单元。")
        sort = params.get("sort") or "newest"
        if sort not in SORTS:
            raise BadQuery("未知的排序方式。")
        return cls(statuses=statuses, kind=CaseKind(kind) if kind else None,
                   category=(params.get("category") or "").strip()[:64], unit=unit,
                   assignee=(params.get("assignee") or "").strip()[:64], overdue=params.get("overdue") == "1",
                   since=_date(params.get("since"), "起始日期"), until=_date(params.get("until"), "截止日期"),
                   text=(params.get("q") or "").strip()[:100], sort=sort, after=_cursor(params.get("after")))

    def params(self, **changes: Any) -> dict[str, Any]:
        """The query as URL parameters (without the cursor unless changed)."""
        query = replace(self, after=None)
        values: dict[str, Any] = {"status": [s.value for s in query.statuses], "kind": query.kind.value if query.kind
                                  else "", "category": query.category, "unit": query.unit.code if query.unit else "",
                                  "assignee": query.assignee, "overdue": "1" if query.overdue else "",
                                  "since": query.since.isoformat() if query.since else "",
                                  "until": query.until.isoformat() if query.until else "", "q": query.text,
                                  "sort": query.sort}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in ("", [], None)}

    def where(self, directory: GridDirectory, viewer: StaffLike, *, now: datetime, tz: ZoneInfo
              ) -> list[ColumnElement[bool]]:
        """The viewer's scope and every filter, as WHERE clauses on `case`."""
        clauses = [case_filter(directory, viewer)]
        if self.statuses:
            clauses.append(_CASE.c.status.in_(self.statuses))
        if self.kind:
            clauses.append(_CASE.c.kind == self.kind)
        if self.category:  # a code from the rules file (the list's menu offers them); the column is indexed
            clauses.append(_CASE.c.category_code == self.category)
        if self.unit:
            clauses.append(subtree_clause(directory, self.unit))
        if self.assignee:
            clauses.append(_CASE.c.assignee_id.in_(select(_STAFF.c.id).where(
                or_(_STAFF.c.code == self.assignee, _STAFF.c.name == self.assignee))))
        if self.overdue:
            clauses += [_CASE.c.status.in_(OPEN_STATUSES), _CASE.c.resolve_due_at < now]
        if self.since:
            clauses.append(_CASE.c.created_at >= datetime.combine(self.since, datetime.min.time(), tz))
        if self.until:
            clauses.append(_CASE.c.created_at < datetime.combine(self.until + timedelta(days=1), datetime.min.time(), tz))
        if self.text:
            number = self.text.lstrip("#")
            found = _CASE.c.text.contains(self.text, autoescape=True)
            clauses.append(or_(found, _CASE.c.id == int(number)) if number.isdigit() and len(number) < 10 else found)
        return clauses

    def select_page(self, clauses: list[ColumnElement[bool]], limit: int) -> Select[Any]:
        """One keyset page in the chosen order, with assignee and reporter joined."""
        column = _SORT_COLUMN[self.sort]
        ascending = self.sort in _ASCENDING
        query = (select(*LIST_COLUMNS)
                 .select_from(_CASE.outerjoin(_STAFF, _STAFF.c.id == _CASE.c.assignee_id)
                              .join(_RESIDENT, _RESIDENT.c.id == _CASE.c.reporter_id))
                 .where(*clauses))
        if self.sort == "due":
            query = query.where(_CASE.c.resolve_due_at.is_not(None))
        if self.after is not None:
            value, last_id = self.after
            # The plain bound beside the OR lets both databases range-scan the sort column's index.
            if ascending:
                query = query.where(column >= value, or_(column > value, and_(column == value, _CASE.c.id > last_id)))
            else:
                query = query.where(column <= value, or_(column < value, and_(column == value, _CASE.c.id < last_id)))
        order = (column.asc(), _CASE.c.id.asc()) if ascending else (column.desc(), _CASE.c.id.desc())
        return query.order_by(*order).limit(limit)

    def cursor_of(self, row: Any) -> str:
        value = {"newest": row.created_at, "oldest": row.created_at, "updated": row.updated_at,
                 "due": row.resolve_due_at}[self.sort]
        return f"{value.isoformat()}~{row.id}"


async def fetch_page(session: AsyncSession, query: CaseQuery, clauses: list[ColumnElement[bool]],
                     limit: int = PAGE_SIZE, *, budget: float | None = SEARCH_BUDGET_S) -> tuple[list[Any], str | None]:
    """The rows of one page and the cursor of the next (None on the last page).

    Pages in filing order read windows of filing time (see _window_page); only a text search has a budget."""
    if query.sort in ("newest", "oldest"):
        return await _window_page(session, query, clauses, limit, budget if query.text else None)
    rows = list(await session.execute(query.select_page(clauses, limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (query.cursor_of(rows[-1]) if more and rows else None)


async def _window_page(session: AsyncSession, query: CaseQuery, clauses: list[ColumnElement[bool]], limit: int,
                       budget: float | None) -> tuple[list[Any], str | None]:
    """A page read window by window of filing time (7 days, then twice as long each time). Each window is
    answered from the scope's (unit, created_at) index or the created_at index, whichever the database finds
    cheaper for that window; one query over all time walks created_at backwards testing every case for a small
    scope (37,411 rows for a grid's first page, 1.2 s on PostgreSQL at 1,000,000 cases). With a `budget` (a text
    search), the first window holds about SEARCH_FIRST_CASES cases on SQLite (by the table's filing rate), each next one
    as long as half of what the budget has left allows at the last window's pace, and the page ends once it is
    spent, short or even empty, with a cursor at the edge of what was searched: the next page goes on from there
    (nothing skipped or repeated)."""
    began = time.perf_counter()
    newest = query.sort == "newest"
    # Separate subqueries: SQLite answers a lone min() or max() from the index's ends, both in one SELECT by a full scan.
    first, last, low, high = (await session.execute(select(*(
        select(aggregate(column)).scalar_subquery()
        for aggregate, column in ((func.min, _CASE.c.created_at), (func.max, _CASE.c.created_at),
                                  (func.min, _CASE.c.id), (func.max, _CASE.c.id)))))).one()
    if first is None:
        return [], None
    near = query.after[0] if query.after else (last if newest else first)
    width, rows, opening = FIRST_WINDOW, [], True
    if budget is not None and session.get_bind().dialect.name == "sqlite":
        # ids are nearly dense, so (high - low) / span is the filing rate. PostgreSQL keeps the 7 days: it reads
        # them in ~13 ms at 1,000,000 cases, SQLite in ~70 (and 225 ms p50 under load), past the budget alone.
        per_case = (last - first) / max(1, high - low)
        width = max(MIN_SEARCH_WINDOW, min(FIRST_WINDOW, per_case * SEARCH_FIRST_CASES))
    floor = width
    while True:
        if newest:  # [edge, near], then [edge', edge) and so on back in time
            edge = near - width
            window = [_CASE.c.created_at >= edge, _CASE.c.created_at <= near if opening else _CASE.c.created_at < near]
            searched_all = edge <= first
        else:  # [near, edge), then [edge, edge') and so on
            edge = near + width
            window = [_CASE.c.created_at >= near, _CASE.c.created_at < edge]
            searched_all = edge > last
        started = time.perf_counter()
        rows += list(await session.execute(query.select_page([*clauses, *window], limit + 1 - len(rows))))
        if len(rows) > limit:
            return rows[:limit], query.cursor_of(rows[limit - 1])
        if searched_all:
            return rows, None
        spent = time.perf_counter() - began
        if budget is not None and spent > budget:
            return rows, f"{edge.isoformat()}~0"  # id 0: the next page takes exactly what this one did not search
        grown = width * 2
        if budget is not None:  # the next window at this one's pace takes half of what is left of the budget
            pace = (time.perf_counter() - started) / width.total_seconds()
            fits = timedelta(seconds=(budget - spent) / 2 / pace) if pace else width * SEARCH_GROWTH
            grown = max(floor, min(width * SEARCH_GROWTH, fits))
        near, width, opening = edge, grown, False


async def count_by_status(session: AsyncSession, clauses: list[ColumnElement[bool]], *,
                          cap: int = COUNT_CAP) -> dict[str, int] | None:
    """How many cases the filter selects, per status; None when more than `cap` (counting stops there: a
    million cases take the databases most of a second to count, and a list page has a tenth of that)."""
    selected = select(_CASE.c.status).where(*clauses).limit(cap + 1).subquery()
    rows = await session.execute(select(selected.c.status, func.count()).group_by(selected.c.status))
    counts = {CaseStatus(status).value: count for status, count in rows}
    return None if sum(counts.values()) > cap else counts


def _many(params: Mapping[str, str], key: str) -> list[str]:
    getall = getattr(params, "getall", None)
    values = getall(key, []) if getall else ([params[key]] if key in params else [])
    return [v for v in values if v]


def _date(value: str | None, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise BadQuery(f"{label}请写成 2026-11-30 的形式。") from exc


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    if not value:
        return None
    try:
        moment, _, number = value.partition("~")
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError(moment)
        return parsed, int(number)
    except ValueError as exc:
        raise BadQuery("翻页参数无效，请从第一页重新查看。") from exc
