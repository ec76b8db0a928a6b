"""Figures leaders read: cases by status, closure rate (办结率), time to accept, satisfaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Case, CaseStatus, Rating

DONE = (CaseStatus.RESOLVED, CaseStatus.CLOSED)


@dataclass(frozen=True)
class CaseFigures:
    by_status: dict[str, int]
    total: int  # without duplicates, which are counted in the case they joined
    done: int
    closure_rate: float  # 办结率: resolved or closed, of all non-duplicate cases
    mean_hours_to_accept: float | None
    satisfaction: float | None  # 满意 + 基本满意, of rated cases


async def case_figures(
    session: AsyncSession, *, unit_path: str = "/", since: datetime | None = None, until: datetime | None = None
) -> CaseFigures:
    """Computes the figures for cases filed in a unit's subtree within [since, until)."""
    scope = [Case.unit_path.startswith(unit_path)]
    if since is not None:
        scope.append(Case.created_at >= since)
    if until is not None:
        scope.append(Case.created_at < until)
    by_status = {status.value: count for status, count in (await session.execute(
        select(Case.status, func.count()).where(*scope).group_by(Case.status))).all()}
    total = sum(by_status.values()) - by_status.get(CaseStatus.DUPLICATE.value, 0)
    done = sum(by_status.get(s.value, 0) for s in DONE)
    accepted = (await session.execute(select(Case.assigned_at, Case.accepted_at).where(
        *scope, Case.accepted_at.is_not(None), Case.assigned_at.is_not(None)))).all()
    waits = [(a - b).total_seconds() / 3600 for b, a in accepted if a >= b]
    ratings = {rating: count for rating, count in (await session.execute(
        select(Case.rating, func.count()).where(*scope, Case.rating.is_not(None)).group_by(Case.rating))).all()}
    rated = sum(ratings.values())
    pleased = ratings.get(Rating.SATISFIED, 0) + ratings.get(Rating.BASICALLY_SATISFIED, 0)
    return CaseFigures(
        by_status=by_status, total=total, done=done, closure_rate=done / total if total else 0.0,
        mean_hours_to_accept=sum(waits) / len(waits) if waits else None,
        satisfaction=pleased / rated if rated else None,
    )
