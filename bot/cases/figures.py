"""The figures leaders read, one definition each, summed in SQL for a unit's subtree and a period.

Which cases: those filed in [since, until) at a unit in the subtree, as they stand now. A duplicate counts in
the case it joined, never on its own. Every figure below is a count or a sum of non-negative spans, so none
can be negative; a rate or a mean over no cases is None, shown as 暂无数据 (NO_DATA) everywhere.

- 受理 (cases): the cases.
- 办结 (done): resolved or closed. 办结率 = done / cases.
- 响应率: accepted at least once (accepted_at set), of the cases given to someone (assigned or accepted).
- 按时办结率: done cases resolved by the resolve deadline set at filing (resolve_due_at, the category's hours on
  the wall clock), of the done cases that have one. The SLA timers count the same hours in working time
  (bot/jobs/sla.py case_deadlines), which never ends earlier: a case on time here was on time for them too.
- 满意率: 满意 + 基本满意, of the rated cases.
- 接单用时 (time to accept): from the case's latest hand-over (assigned_at: routing, assignment, a transfer or a
  reopening) to the acceptance that ended that wait (accepted_at); a case claimed without a hand-over counts
  from filing.
- 办结用时 (time to resolve): from filing to the latest resolution (resolved_at).

The clocks on a reopening or a transfer: a 不满意 rating reopens the case and a transfer hands it on, and both
set assigned_at to that moment and clear nothing else, exactly as the SLA timers restart their accept chain
there. Until the case is accepted again its last acceptance lies before its hand-over, so it has no time to
accept (it still counts as responded: it was accepted once); once accepted again, its time to accept is the
new wait. A reopening also clears resolved_at, so the case is neither done nor timed to resolve until it is
resolved again, and then it is timed from filing to that final resolution.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, literal_column, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.grid.directory import GridDirectory
from models import Case, CaseDayFigures, CaseKind, CaseStatus, Rating

NO_DATA = "暂无数据"
DONE = (CaseStatus.RESOLVED, CaseStatus.CLOSED)
PLEASED = (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)
UNCATEGORISED = "未分类"
ROLLUP_ZONE = timezone(timedelta(hours=8))  # case_day_figures' days start at midnight here (China Standard Time)
ROLLUP_DEPTH = 4  # its branches are cut after this many slashes: '/district/street/community/'


@dataclass
class Figures:
    """Counts and sums for a set of cases; the rates and means are derived, None when nothing is counted."""

    cases: int = 0
    done: int = 0
    given: int = 0  # handed to someone (assigned or accepted)
    responded: int = 0  # accepted at least once
    accepted: int = 0  # with a time to accept
    accept_hours: float = 0.0
    resolved: int = 0  # with a time to resolve
    resolve_hours: float = 0.0
    due: int = 0  # done, with a resolve deadline
    on_time: int = 0
    rated: int = 0
    pleased: int = 0
    wishes_done: int = 0
    categories: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        """Adds another set's figures into these."""
        mine, theirs = self.__dict__, other.__dict__  # not fields(): a statistics page adds thousands of sets
        for name in _SUMMED:
            mine[name] += theirs[name]
        categories = self.categories
        for name, count in other.categories.items():  # Counter.update's type checks cost more than the sums
            categories[name] += count

    @property
    def closure_rate(self) -> float | None:
        """办结率."""
        return _ratio(self.done, self.cases)

    @property
    def response_rate(self) -> float | None:
        """响应率."""
        return _ratio(self.responded, self.given)

    @property
    def on_time_rate(self) -> float | None:
        """按时办结率."""
        return _ratio(self.on_time, self.due)

    @property
    def satisfaction(self) -> float | None:
        """满意率."""
        return _ratio(self.pleased, self.rated)

    @property
    def mean_accept_hours(self) -> float | None:
        return self.accept_hours / self.accepted if self.accepted else None

    @property
    def mean_resolve_hours(self) -> float | None:
        return self.resolve_hours / self.resolved if self.resolved else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def rate_text(value: float | None) -> str:
    """A rate as leaders read it: 85%, or 暂无数据."""
    return NO_DATA if value is None else f"{value * 100:.0f}%"


def hours_text(value: float | None) -> str:
    """A mean time as leaders read it: 39 分钟, 2.5 小时, or 暂无数据."""
    if value is None:
        return NO_DATA
    return f"{value * 60:.0f} 分钟" if value < 1 else f"{value:.1f} 小时"


# the SQL ------------------------------------------------------------------------------------------------


def _hours(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """later - earlier in hours, in the dialect's SQL."""
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _sums(dialect: str) -> list[ColumnElement[Any]]:
    """One SUM per Figures field but the categories, in field order."""
    handed = func.coalesce(Case.assigned_at, Case.created_at)
    timed_accept = and_(Case.accepted_at.is_not(None), Case.accepted_at >= handed)
    timed_resolve = and_(Case.resolved_at.is_not(None), Case.resolved_at >= Case.created_at)
    done = Case.status.in_(DONE)
    due = and_(done, Case.resolve_due_at.is_not(None), Case.resolved_at.is_not(None))

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    def total(condition: ColumnElement[bool], value: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, value), else_=0.0)), 0.0)

    return [
        func.count(),
        count(done),
        count(or_(Case.assigned_at.is_not(None), Case.accepted_at.is_not(None))),
        count(Case.accepted_at.is_not(None)),
        count(timed_accept),
        total(timed_accept, _hours(dialect, Case.accepted_at, handed)),
        count(timed_resolve),
        total(timed_resolve, _hours(dialect, Case.resolved_at, Case.created_at)),
        count(due),
        count(and_(due, Case.resolved_at <= Case.resolve_due_at)),
        count(Case.rating.is_not(None)),
        count(Case.rating.in_(PLEASED)),
        count(and_(Case.kind == CaseKind.WISH, done)),
    ]


def _scope(unit_path: str, since: datetime | None, until: datetime | None, *,
           duplicates: bool = False) -> list[ColumnElement[bool]]:
    where = [] if duplicates else [Case.status != CaseStatus.DUPLICATE]
    if unit_path != "/":
        where.append(Case.unit_path.startswith(unit_path))
    if since is not None:
        where.append(Case.created_at >= since)
    if until is not None:
        where.append(Case.created_at < until)
    return where


_FLOAT_FIELDS = frozenset({"accept_hours", "resolve_hours"})
_SUMMED = [f.name for f in fields(Figures) if f.name != "categories"]


def _figures(row: Sequence[Any], category: str | None) -> Figures:
    counted = Figures(**{name: float(v or 0) if name in _FLOAT_FIELDS else int(v or 0)
                         for name, v in zip(_SUMMED, row, strict=True)})
    counted.categories[category or UNCATEGORISED] = counted.cases
    return counted


async def _grouped(session: AsyncSession, keys: Sequence[ColumnElement[Any]],
                   where: list[ColumnElement[bool]]) -> list[tuple[tuple[Any, ...], Figures]]:
    """Figures per group of `keys` and category from one grouped query.

    Groups are named by their select-list labels: an expression with bound values (a CASE over week bounds)
    repeated in GROUP BY gets new parameters, which PostgreSQL would not match with the select list."""
    dialect = session.get_bind().dialect.name
    labelled = [key.label(f"k{n}") for n, key in enumerate([*keys, Case.category_name])]
    query = (select(*labelled, *_sums(dialect)).where(*where)
             .group_by(*(literal_column(column.name) for column in labelled)))
    out = []
    for row in (await session.execute(query)).all():
        out.append((tuple(row[:len(keys)]), _figures(row[len(labelled):], row[len(keys)])))
    return out


# the public API -----------------------------------------------------------------------------------------


async def figures_for(session: AsyncSession, *, unit_path: str = "/", since: datetime | None = None,
                      until: datetime | None = None) -> Figures:
    """The figures of the cases filed in [since, until) in a unit's subtree (`unit_path`, "/" for all)."""
    result = Figures()
    for _, part in await _grouped(session, [], _scope(unit_path, since, until)):
        result.add(part)
    return result


async def figures_by_category(session: AsyncSession, *, unit_path: str = "/", since: datetime | None = None,
                              until: datetime | None = None) -> dict[str, Figures]:
    """The figures per category name (未分类 for none) of a unit's subtree and a period."""
    return {next(iter(part.categories)): part
            for _, part in await _grouped(session, [], _scope(unit_path, since, until))}


async def figures_by_period(session: AsyncSession, bounds: Sequence[datetime], *,
                            unit_path: str = "/") -> list[Figures]:
    """The figures of each period [bounds[i], bounds[i+1]) (weeks, months ...), from one query."""
    if len(bounds) < 2:
        return []
    bucket = case(*((Case.created_at < end, index) for index, end in enumerate(bounds[1:])), else_=-1)
    periods = [Figures() for _ in bounds[1:]]
    for (index,), part in await _grouped(session, [bucket], _scope(unit_path, bounds[0], bounds[-1])):
        if index >= 0:
            periods[index].add(part)
    return periods


async def figures_by_period_child_category(
    session: AsyncSession, bounds: Sequence[datetime], child_paths: Sequence[str], *, unit_path: str = "/",
    direct: bool = False,
) -> list[tuple[int, int, Figures]]:
    """(period index, child index, figures of one category) for the periods [bounds[i], bounds[i+1]) and the
    subtrees at `child_paths` (-1 for a case filed at the unit itself), from one query over the periods' cases,
    or over case_day_figures when the periods are whole days there and the children no deeper than a community
    (a street's or the district's page: thousands of rows instead of every case); `direct` forces the cases."""
    if len(bounds) < 2:
        return []
    if not direct and _rollup_fits(bounds, [unit_path, *child_paths]):
        return await _from_rollup(session, bounds, child_paths, unit_path)
    bucket = case(*((Case.created_at < end, index) for index, end in enumerate(bounds[1:])), else_=-1)
    # Path ranges, not LIKE: ids and slashes sort below "~", so a subtree is [path, path + "~").
    child = (case(*((and_(Case.unit_path >= path, Case.unit_path < path + "~"), index)
                    for index, path in enumerate(child_paths)), else_=-1) if child_paths else literal(-1))
    return [(period, branch, part)
            for (period, branch), part in await _grouped(session, [bucket, child], _scope(unit_path, bounds[0], bounds[-1]))
            if period >= 0]


def _rollup_fits(bounds: Sequence[datetime], paths: Sequence[str]) -> bool:
    """Whether case_day_figures holds these periods (midnights at ROLLUP_ZONE) and subtrees (no deeper)."""
    return (all(b.astimezone(ROLLUP_ZONE).time() == datetime.min.time() for b in bounds)
            and all(path.count("/") <= ROLLUP_DEPTH for path in paths))


async def _from_rollup(session: AsyncSession, bounds: Sequence[datetime], child_paths: Sequence[str],
                       unit_path: str) -> list[tuple[int, int, Figures]]:
    days = [b.astimezone(ROLLUP_ZONE).date() for b in bounds]
    rollup = CaseDayFigures
    bucket = case(*((rollup.day < end, index) for index, end in enumerate(days[1:])), else_=-1)
    child = (case(*((and_(rollup.branch >= path, rollup.branch < path + "~"), index)
                    for index, path in enumerate(child_paths)), else_=-1) if child_paths else literal(-1))
    where = [rollup.day >= days[0], rollup.day < days[-1]]
    if unit_path != "/":
        where += [rollup.branch >= unit_path, rollup.branch < unit_path + "~"]
    keys = [bucket.label("k0"), child.label("k1"), rollup.category_name.label("k2")]
    query = (select(*keys, *(func.sum(getattr(rollup, name)) for name in _SUMMED)).where(*where)
             .group_by(*(literal_column(key.name) for key in keys)).having(func.sum(rollup.cases) > 0))
    return [(row[0], row[1], _figures(row[3:], row[2])) for row in (await session.execute(query)).all()
            if row[0] >= 0]


async def compact_day_figures(session: AsyncSession, since: int = 0) -> tuple[int, int]:
    """Folds into one row each key of case_day_figures with a row added after id `since`; returns the keys folded
    and the id the fold went up to (the next fold's `since`: keys untouched since then have one row already)."""
    rollup = CaseDayFigures
    key = (rollup.day, rollup.branch, rollup.category_name)
    columns = [*key, *(getattr(rollup, name) for name in _SUMMED)]
    top = await session.scalar(select(func.max(rollup.id)))
    if top is None or top <= since:
        return 0, since
    touched = select(*key).where(rollup.id > since, rollup.id <= top)
    crowded = (select(*key).where(rollup.id <= top, tuple_(*key).in_(touched)).group_by(*key)
               .having(func.count() > 1))
    fold = delete(rollup).where(rollup.id <= top, tuple_(*key).in_(crowded))
    if session.bind.dialect.name == "postgresql":
        # Only the rows this statement deleted are summed back, so a concurrent fold cannot count a row twice;
        # a writer whose lower id commits later is neither seen nor deleted: its row waits for the next fold.
        gone = fold.returning(*columns).cte("gone")
        source = select(*gone.c[:3], *(func.sum(column) for column in gone.c[3:])).group_by(*gone.c[:3])
    else:  # one writer at a time: the sums are read before the delete in the same write transaction
        source = select(*key, *(func.sum(column) for column in columns[3:])).where(
            rollup.id <= top, tuple_(*key).in_(crowded)).group_by(*key)
    folded = (await session.execute(insert(rollup).from_select([c.key for c in columns], source))).rowcount
    if session.bind.dialect.name != "postgresql":
        await session.execute(fold)
    return folded, top


async def figures_by_case_unit(session: AsyncSession, since: datetime, until: datetime) -> dict[int, Figures]:
    """The figures per case unit (building or grid) of the cases filed in [since, until), from one query."""
    by_unit: dict[int, Figures] = {}
    for (unit_id,), part in await _grouped(session, [Case.unit_id], _scope("/", since, until)):
        by_unit.setdefault(unit_id, Figures()).add(part)
    return by_unit


def roll_up(directory: GridDirectory, by_case_unit: dict[int, Figures]) -> dict[int, Figures]:
    """Figures for every unit: each case unit's figures added to it and to all of its ancestors."""
    totals: dict[int, Figures] = {}
    for unit_id, part in by_case_unit.items():
        try:
            chain = directory.ancestors(directory.unit(unit_id))
        except KeyError:
            continue
        for ancestor in chain:
            totals.setdefault(ancestor.id, Figures()).add(part)
    return totals


async def figures_by_unit(session: AsyncSession, directory: GridDirectory, since: datetime,
                          until: datetime) -> dict[int, Figures]:
    """The figures of every unit of the grid (its whole subtree) for one period: one query, summed up the tree."""
    return roll_up(directory, await figures_by_case_unit(session, since, until))


async def cases_by_status(session: AsyncSession, *, unit_path: str = "/", since: datetime | None = None,
                          until: datetime | None = None) -> dict[CaseStatus, int]:
    """How many cases of a subtree and period stand in each status, duplicates included."""
    where = _scope(unit_path, since, until, duplicates=True)
    rows = await session.execute(select(Case.status, func.count()).where(*where).group_by(Case.status))
    return {CaseStatus(status): count for status, count in rows.all()}
