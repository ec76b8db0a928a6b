"""Broadcasts to groups and leaders: the weekly report (with a chart for leaders) and the annual wish call."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.cases.figures import Figures
from bot.delivery.outbox import Notice, enqueue
from bot.pipeline.identities import staff_contact
from bot.reports.weekly import (
    chart_for,
    chart_weeks,
    report_text,
    week_bounds,
    week_figures,
    week_label,
    week_start,
)
from bot.services import Services
from models import Case, ChatGroup, Staff, StaffRole

REPORT_ROLES = (StaffRole.COMMUNITY_SECRETARY, StaffRole.STREET_OFFICER)


async def first_full_week(services: Services) -> str | None:
    """The first week wholly after the first case was filed (the week of a case filed at Monday 00:00 counts);
    None before any case. Weekly broadcasts start with it: a new database has no week to report on."""
    async with services.sessions() as session:
        first = await session.scalar(select(func.min(Case.created_at)))
    if first is None:
        return None
    week = week_label(first.astimezone(services.settings.tz).date())
    start, _ = week_bounds(week, services.settings.tz)
    return week if first <= start else week_label(week_start(week) + timedelta(days=7))


@dataclass
class BroadcastTally:
    groups: int = 0
    staff: int = 0

    def __str__(self) -> str:
        return f"groups {self.groups}, staff {self.staff}"


async def weekly_broadcast(services: Services, week: str, now: datetime, *, charts: bool = True) -> BroadcastTally:
    """Queues the week's report for every bound group, and with a chart for secretaries and street officers."""
    tz = services.settings.tz
    directory = services.directory
    async with services.sessions() as session:
        figures = await week_figures(session, directory, week, tz)
        groups = (await session.scalars(select(ChatGroup).order_by(ChatGroup.id))).unique().all()
        leaders = (await session.scalars(select(Staff).where(Staff.role.in_(REPORT_ROLES), Staff.on_duty.is_(True))
                                         .order_by(Staff.id))).unique().all()
        labels, weeks = await chart_weeks(session, directory, week, tz) if charts and leaders else ([], [])
    pngs: dict[int, bytes] = {}
    for unit_id in {p.unit_id for p in leaders} if charts else ():
        unit = directory.unit(unit_id)
        pngs[unit_id] = await asyncio.to_thread(chart_for, directory, unit, labels, weeks)
    tally = BroadcastTally()
    async with services.sessions.begin() as session:
        for group in groups:
            unit = directory.unit(group.unit_id)
            await enqueue(session, Notice(
                dedupe_key=f"weekly:{week}:group:{group.id}", channel=group.channel, chat_id=group.chat_id,
                recipient=f"group:{group.id}", text=report_text(unit.name, week, figures.get(unit.id) or Figures()),
                extras={},
            ), now=now)
            tally.groups += 1
        for person in leaders:
            unit = directory.unit(person.unit_id)
            extras: dict = {}
            if person.unit_id in pngs:
                extras["image"] = {"filename": f"weekly-{week}-{unit.code}.png", "mime": "image/png",
                                   "png_base64": base64.b64encode(pngs[person.unit_id]).decode("ascii")}
            contact = await staff_contact(session, person)
            await enqueue(session, Notice(
                dedupe_key=f"weekly:{week}:staff:{person.id}", channel=contact.channel, chat_id=contact.chat_id,
                recipient=f"staff:{person.code}", text=report_text(unit.name, week, figures.get(unit.id) or Figures()),
                extras=extras,
            ), now=now)
            tally.staff += 1
    return tally


WISH_CALL = ("【{year}年微心愿征集】新的一年，社区微心愿征集开始啦！家里有困难、有小小心愿的居民，"
             "请在群里发送「#微心愿 您的心愿」，社区和党员志愿者会认领并帮您实现。")


async def wish_campaign(services: Services, year: int, now: datetime) -> int:
    """Queues the annual call for micro-wishes (微心愿征集) to every bound group; returns how many."""
    async with services.sessions.begin() as session:
        groups = (await session.scalars(select(ChatGroup).order_by(ChatGroup.id))).unique().all()
        for group in groups:
            await enqueue(session, Notice(
                dedupe_key=f"wishes:{year}:group:{group.id}", channel=group.channel, chat_id=group.chat_id,
                recipient=f"group:{group.id}", text=WISH_CALL.format(year=year), extras={},
            ), now=now)
    return len(groups)
