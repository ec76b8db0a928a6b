"""The staff's morning digest: open cases, due today, overdue."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from bot.delivery.outbox import Notice, enqueue
from bot.jobs.sla import ACCEPT_WAIT, WORKING, TimerPolicy, case_deadlines
from bot.pipeline.identities import staff_contact
from bot.services import Services
from models import Case, Staff


@dataclass
class Workload:
    open: list[int]
    due_today: list[int]
    overdue: list[int]


def _numbers(ids: list[int], limit: int = 5) -> str:
    shown = " ".join(f"#{i}" for i in ids[:limit])
    return f"（{shown}{' 等' if len(ids) > limit else ''}）" if ids else ""


def digest_text(name: str, load: Workload) -> str:
    """A worker's morning digest: open cases, due today, overdue."""
    return (f"【每日待办】{name}，早上好！您名下未办结工单 {len(load.open)} 件；"
            f"今日到期 {len(load.due_today)} 件{_numbers(load.due_today)}；"
            f"已超时 {len(load.overdue)} 件{_numbers(load.overdue)}。\n回复「我的工单」查看详情。")


async def daily_digest(services: Services, day: date, now: datetime, *, policy: TimerPolicy | None = None) -> int:
    """Queues the digest for every staff member with open cases; returns how many."""
    policy = policy or TimerPolicy.from_services(services)
    loads: dict[int, Workload] = defaultdict(lambda: Workload([], [], []))
    async with services.sessions() as session:
        rows = (await session.execute(
            select(Case.id, Case.assignee_id, Case.status, Case.created_at, Case.assigned_at, Case.accepted_at,
                   Case.accept_due_at, Case.resolve_due_at, Case.sla_stage)
            .where(Case.status.in_((*ACCEPT_WAIT, *WORKING)), Case.assignee_id.is_not(None)).order_by(Case.id)
        )).all()
        for row in rows:
            load = loads[row.assignee_id]
            load.open.append(row.id)
            due = case_deadlines(row, policy.calendar).current(row.status)
            if due is None:
                continue
            deadline = due.at
            if deadline <= now:
                load.overdue.append(row.id)
            elif policy.calendar.local_day(deadline) == day:
                load.due_today.append(row.id)
        staff = (await session.scalars(select(Staff).where(Staff.id.in_(list(loads))))).unique().all()
    async with services.sessions.begin() as session:
        for person in staff:
            contact = await staff_contact(session, person)
            await enqueue(session, Notice(
                dedupe_key=f"digest:{day.isoformat()}:staff:{person.id}", channel=contact.channel,
                chat_id=contact.chat_id, recipient=f"staff:{person.code}", text=digest_text(person.name, loads[person.id]),
                extras={},
            ), now=now)
    return len(staff)
