"""What residents and staff look up: one case, a resident's latest cases, a worker's open cases, a triage queue,
a case's history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cases.lifecycle import CASE_TABLE, S
from bot.grid.directory import UnitRef
from bot.pipeline.identities import Actor
from models import Case, CaseEvent
from models.cases import OPEN_STATUSES
from models.db import PreparedQuery


async def load_case(session: AsyncSession, case_id: int) -> Case | None:
    return await session.get(Case, case_id, populate_existing=True)


_LATEST_OF_REPORTER = PreparedQuery(
    select(CASE_TABLE.c.id, CASE_TABLE.c.kind, CASE_TABLE.c.category_name, CASE_TABLE.c.status, CASE_TABLE.c.duplicate_of_id)
    .where(CASE_TABLE.c.reporter_id == bindparam("reporter_id"))
    .order_by(CASE_TABLE.c.created_at.desc(), CASE_TABLE.c.id.desc()).limit(bindparam("limit")), ("reporter_id", "limit"))


async def visible_cases(session: AsyncSession, actor: Actor, *, limit: int = 5) -> list[Any]:
    """A resident's own latest cases, as much of each as a status line shows (id, kind, category_name, status,
    duplicate_of_id)."""
    return await _LATEST_OF_REPORTER.execute(session, {"reporter_id": actor.id, "limit": limit})


async def open_cases_of(session: AsyncSession, staff_id: int, *, limit: int = 20) -> list[Case]:
    return list((await session.scalars(
        select(Case).where(Case.assignee_id == staff_id, Case.status.in_(OPEN_STATUSES))
        .order_by(Case.priority.desc(), Case.created_at).limit(limit)
    )).unique().all())


async def triage_queue(session: AsyncSession, unit: UnitRef, *, limit: int = 20) -> list[Case]:
    return list((await session.scalars(
        select(Case).where(Case.status.in_([S.NEW, S.RETURNED]), Case.unit_path.startswith(unit.path))
        .order_by(Case.priority.desc(), Case.created_at).limit(limit)
    )).unique().all())


async def case_events(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    return list((await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))).all())
