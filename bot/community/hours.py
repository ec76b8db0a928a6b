"""Volunteer hours: logged by the claimer, certified by the organiser; only confirmed hours count anywhere."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import extract, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.community.claims import approved
from bot.community.common import (
    Refused,
    Who,
    may_manage,
    notify_claimer,
    notify_managers,
    notify_staff_member,
    record,
)
from bot.grid.directory import GridDirectory
from bot.pipeline.identities import Actor
from models import Claim, Claimer, ClaimStatus, HoursStatus, Project, Staff, VolunteerHours, Wish

MAX_HOURS_A_DAY = 24.0


async def log_hours(session: AsyncSession, claimer: Claimer | None, *, wish_id: int | None, project_id: int | None,
                    hours: float, note: str, worked_on: date, now: datetime) -> VolunteerHours:
    """The claimer records hours on a wish or project they claimed; the organiser is asked to confirm."""
    claimer = approved(claimer)
    if not 0 < hours <= MAX_HOURS_A_DAY:
        raise Refused("工时请写 0 到 24 之间的小时数，例如：工时 W12 2.5 陪同就医。")
    claimed = await session.scalar(select(Claim.id).where(
        Claim.claimer_id == claimer.id, Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.DONE]),
        Claim.wish_id == wish_id if wish_id is not None else Claim.project_id == project_id).limit(1))
    subject = f"W{wish_id}" if wish_id is not None else f"P{project_id}"
    if claimed is None:
        raise Refused(f"您没有认领 {subject}，不能登记它的工时。")
    if wish_id is not None:
        wish = await session.get(Wish, wish_id)
        assert wish is not None
        organiser_id, community_id, title = wish.organiser_id, wish.community_id, wish.public_title
    else:
        project = await session.get(Project, project_id)
        assert project is not None
        organiser_id, community_id, title = project.owner_id, project.community_id, project.title
    entry = VolunteerHours(claimer_id=claimer.id, community_id=community_id, wish_id=wish_id, project_id=project_id,
                           hours=round(hours, 1), worked_on=worked_on, note=note[:500], status=HoursStatus.LOGGED,
                           organiser_id=organiser_id, logged_at=now)
    session.add(entry)
    await session.flush()
    record(session, Who.claimer(claimer), "log_hours", now, wish_id=wish_id, project_id=project_id,
           claimer_id=claimer.id, after=HoursStatus.LOGGED, note=f"{entry.number} {entry.hours:g} 小时 {note}")
    text = (f"{claimer.name} 登记了 {subject}「{title}」的志愿服务 {entry.hours:g} 小时（{worked_on:%m-%d}）{note}\n"
            f"请核实：回复「确认工时 {entry.number}」或「退回工时 {entry.number} 原因」。")
    buttons = [["确认", f"确认工时 {entry.number}"], ["退回", f"退回工时 {entry.number}"]]
    organiser = await session.get(Staff, organiser_id) if organiser_id is not None else None
    if organiser is not None:
        await notify_staff_member(session, organiser, text, key=f"hours:{entry.id}:logged", now=now, buttons=buttons)
    else:
        await notify_managers(session, community_id, text, key=f"hours:{entry.id}:logged", now=now, buttons=buttons)
    return entry


async def decide_hours(session: AsyncSession, directory: GridDirectory, actor: Actor, hours_id: int, confirm: bool,
                       reason: str, now: datetime) -> VolunteerHours:
    """The organiser certifies (or sends back) logged hours; without an organiser, the community's staff do."""
    entry = await session.get(VolunteerHours, hours_id)
    allowed = entry is not None and actor.is_staff and (
        entry.organiser_id == actor.id if entry.organiser_id is not None
        else may_manage(directory, actor, entry.community_id))
    if entry is None or not allowed:
        raise Refused(f"未找到需要您确认的工时 G{hours_id}（工时由组织该活动的工作人员确认）。")
    if entry.status is not HoursStatus.LOGGED:
        raise Refused(f"{entry.number} {entry.status.label}。")
    entry.status = HoursStatus.CONFIRMED if confirm else HoursStatus.REJECTED
    entry.decided_at, entry.decided_by_id = now, actor.id
    record(session, Who.of(actor), "confirm_hours" if confirm else "reject_hours", now, wish_id=entry.wish_id,
           project_id=entry.project_id, claimer_id=entry.claimer_id, before=HoursStatus.LOGGED, after=entry.status,
           note=f"{entry.number} {reason}".strip())
    text = (f"您登记的 {entry.hours:g} 小时志愿服务（{entry.number}）已确认，计入志愿时长。" if confirm
            else f"您登记的工时 {entry.number} 被退回：{reason or '请与组织者核对'}。")
    await notify_claimer(session, entry.claimer, text, key=f"hours:{entry.id}:{entry.status}", now=now)
    return entry


@dataclass
class HoursTotals:
    """Confirmed hours of one community and year, by person, by unit (organisation) and by month."""

    community_id: int
    year: int
    total: float = 0.0
    by_person: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    by_unit: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    by_month: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    rows: list[tuple[int, str, str, str, float]] = field(default_factory=list)  # month, person, unit, kind, hours


async def hours_totals(session: AsyncSession, community_id: int, year: int, *, month: int | None = None) -> HoursTotals:
    """Totals of confirmed hours; logged and sent-back entries count nowhere."""
    query = (select(VolunteerHours.hours, VolunteerHours.worked_on, Claimer.name, Claimer.organisation,
                    Claimer.kind, Claimer.code, Claimer.id)
             .join(Claimer, Claimer.id == VolunteerHours.claimer_id)
             .where(VolunteerHours.community_id == community_id, VolunteerHours.status == HoursStatus.CONFIRMED,
                    extract("year", VolunteerHours.worked_on) == year))
    if month is not None:
        query = query.where(extract("month", VolunteerHours.worked_on) == month)
    totals = HoursTotals(community_id, year)
    per_row: dict[tuple[int, str, str, str], float] = defaultdict(float)
    for hours, worked_on, name, organisation, kind, code, claimer_id in (await session.execute(query)).all():
        person = f"{name}（{code or f'D{claimer_id}'}）"
        unit = organisation or "（个人）"
        totals.total += hours
        totals.by_person[person] += hours
        totals.by_unit[unit] += hours
        totals.by_month[worked_on.month] += hours
        per_row[(worked_on.month, person, unit, kind.label)] += hours
    totals.rows = [(*key, round(value, 1)) for key, value in sorted(per_row.items())]
    return totals
