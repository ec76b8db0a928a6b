"""Broadcasts to groups and leaders: the weekly report (with a chart for leaders) and the annual wish call."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.cases.figures import Figures
from bot.community.publishing import weekly_sections
from bot.delivery.outbox import Notice, enqueue
from bot.grid.directory import UnitRef
from bot.pipeline.identities import staff_contact
from bot.reports.weekly import (
    chart_for,
    chart_weeks,
    public_page,
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


def _report(services: Services, unit: UnitRef, week: str, figures: dict[int, Figures], sections: dict[int, str]) -> str:
    """A unit's weekly text: its figures, its community's wishes and projects, and the link to its public page."""
    text = report_text(unit.name, week, figures.get(unit.id) or Figures(), sections.get(unit.id, ""))
    page = public_page(services.settings.public_url, services.directory, unit)
    return f"{text}\n详情：{page}" if page else text


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
        units = [g.unit_id for g in groups] + [p.unit_id for p in leaders]
        sections = await weekly_sections(session, directory, units, *week_bounds(week, tz))
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
                recipient=f"group:{group.id}", text=_report(services, unit, week, figures, sections),
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
                recipient=f"staff:{person.code}", text=_report(services, unit, week, figures, sections),
                extras=extras,
            ), now=now)
            tally.staff += 1
    return tally
