"""Appointment jobs: reminders the evening before and an hour before, staff day lists each morning, and the
roaming desk's visit announced to the visited compounds' groups the day before.

Like every job they only enqueue outbox rows under deterministic dedupe keys that name the booking's slot, so a
double fire, or two instances, queue each reminder once; a booking moved to another slot is reminded afresh.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from bot.appointments.labels import day_label
from bot.appointments.waitlist import lapse_offers
from bot.cases.notices import notify_reporter, notify_staff
from bot.delivery.outbox import Notice, enqueue
from bot.pipeline.identities import mask_phone
from bot.services import Services
from models import Booking, BookingStatus, Case, ChatGroup, Resident, SlotSeats

EVENING_AT = time(18, 0)  # reminders for tomorrow and the roaming desks' announcements
MORNING_AT = time(7, 30)  # staff get their day's list
HOUR_BEFORE = timedelta(hours=1)
HOURLY_EVERY_MINUTES = 10  # how often the hour-before reminders are looked for


async def _booked_between(session, start: datetime, end: datetime) -> list:  # type: ignore[no-untyped-def,type-arg]
    return list((await session.execute(
        select(Booking, Case, SlotSeats).join(Case, Case.id == Booking.case_id)
        .join(SlotSeats, SlotSeats.id == Booking.slot_id)
        .where(Booking.status == BookingStatus.BOOKED, SlotSeats.starts_at >= start, SlotSeats.starts_at < end)
        .order_by(SlotSeats.starts_at, Booking.id))).unique().all())


def _day_bounds(services: Services, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), services.settings.tz)
    return start, start + timedelta(days=1)


def _what(case: Case) -> str:
    slot = case.extras["appointment"]
    return f"「{case.extras.get('service', case.category_name)}」{slot['label']}，地点：{slot['place']}"


async def evening_reminders(services: Services, today: date, now: datetime) -> int:
    """Reminds everyone booked for tomorrow, and announces tomorrow's roaming desk visits; returns reminders."""
    tomorrow = today + timedelta(days=1)
    count = 0
    async with services.sessions.begin() as session:
        for _booking, case, seats in await _booked_between(session, *_day_bounds(services, tomorrow)):
            await notify_reporter(
                session, case, f"提醒：您明天有预约 {case.number} {_what(case)}。请按时到场；"
                f"不能来请回复「取消预约 {case.id}」，改时间回复「改约 {case.id}」。",
                key=f"appt:{case.id}:eve:{seats.starts_at.isoformat()}", now=now)
            count += 1
        await announce_roaming(services, session, tomorrow, now)
    return count


async def announce_roaming(services: Services, session, day: date, now: datetime) -> int:  # type: ignore[no-untyped-def]
    """Tells the groups of each compound a roaming desk visits on `day` when and what it serves."""
    groups = (await session.scalars(select(ChatGroup).order_by(ChatGroup.id))).unique().all()
    count = 0
    for station in services.network.stations:
        if not station.roaming:
            continue
        for opening in station.openings(day, services.calendar):
            if opening.extended:
                continue
            compound = services.directory.by_code(opening.unit_code)
            if compound is None:
                continue
            hours = "、".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in opening.periods)
            extended = [f"{a:%H:%M}-{b:%H:%M}" for o in station.openings(day, services.calendar)
                        if o.extended and o.unit_code == opening.unit_code for a, b in o.periods]
            names = [s.name for s in services.catalogue.services if station.offers(s.code)]
            text = (f"【{station.name}】明天 {day_label(day)}{hours} 来{compound.name}服务"
                    + (f"，延时服务到 {extended[-1].split('-')[1]}" if extended else "")
                    + f"。可办：{'、'.join(names)}。发送「#预约」可提前预约，免排队。")
            for group in groups:
                if services.directory.unit(group.unit_id).path.startswith(compound.path):
                    await enqueue(session, Notice(
                        dedupe_key=f"appt:roam:{station.code}:{day.isoformat()}:{compound.code}:group:{group.id}",
                        channel=group.channel, chat_id=group.chat_id, recipient=f"group:{group.id}", text=text,
                        extras={}), now=now)
                    count += 1
    return count


async def hour_reminders(services: Services, now: datetime) -> int:
    """Reminds those whose slot starts within the hour; also passes on waiting-list offers nobody took up."""
    count = 0
    async with services.sessions.begin() as session:
        for _booking, case, seats in await _booked_between(session, now, now + HOUR_BEFORE):
            start = seats.starts_at.astimezone(services.settings.tz)
            await notify_reporter(session, case, f"提醒：您的预约 {case.number} 将于 {start:%H:%M} 开始，{_what(case)}。",
                                  key=f"appt:{case.id}:hour:{seats.starts_at.isoformat()}", now=now)
            count += 1
        await lapse_offers(session, services, now=now)
    return count


async def staff_day_lists(services: Services, today: date, now: datetime) -> int:
    """Sends each staff member serving bookings today their list, by time, phones masked."""
    tz = services.settings.tz
    async with services.sessions.begin() as session:
        rows = await _booked_between(session, *_day_bounds(services, today))
        by_staff: dict[int, list[str]] = defaultdict(list)
        cases: dict[int, Case] = {}
        for _booking, case, seats in rows:
            if case.assignee is None:
                continue
            resident = await session.get(Resident, case.reporter_id)
            who = resident.display_name + (f"（{mask_phone(resident.phone)}）" if resident and resident.phone else "")
            by_staff[case.assignee.id].append(
                f"{seats.starts_at.astimezone(tz):%H:%M} {case.number} {case.category_name} {who}")
            cases[case.assignee.id] = case
        for staff_id, lines in by_staff.items():
            case = cases[staff_id]
            await notify_staff(session, case.assignee, case,  # type: ignore[arg-type]
                               f"今日预约（{day_label(today)}）共 {len(lines)} 个：\n" + "\n".join(lines)
                               + "\n办理后回复「到场 编号」，未到回复「爽约 编号」。",
                               key=f"appt:day:{today.isoformat()}", now=now)
    return len(by_staff)
