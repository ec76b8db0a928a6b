"""Staff at a service desk: 代约 (book for a walk-in or phone caller), 到场 / 爽约, 预约名单 (the day's list)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from sqlalchemy import select

from bot.appointments import bookings
from bot.appointments.bookings import BookingRefused
from bot.appointments.labels import day_label
from bot.appointments.when import read_wish
from bot.pipeline.dispatcher import Context, HandlerRouter
from bot.pipeline.identities import mask_phone
from handlers.appointment import FLOW
from models import Resident

router = HandlerRouter("appointment_desk")
NUMBER = r"\s*#?\s*(\d{1,9})"
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
BOOK_FOR = re.compile(r"^(?:代约|代预约|帮约)\s*(.*)$", re.DOTALL)
ATTENDED = re.compile(rf"^(?:到场|已到场|签到){NUMBER}\s*$")
NO_SHOW = re.compile(rf"^(?:爽约|未到场|没来){NUMBER}\s*$")
DAY_LIST = re.compile(r"^(?:预约名单|今日预约|预约列表)\s*(.*)$")


@router.staff_command(BOOK_FOR.pattern)
async def book_for(ctx: Context) -> bool:
    """Opens a booking for a resident named by phone or name (a new resident is registered with the phone)."""
    words = BOOK_FOR.match(ctx.text).group(1).strip()  # type: ignore[union-attr]
    phone_match = PHONE.search(words)
    phone = phone_match.group(1) if phone_match else None
    name = PHONE.sub("", words).strip(" ,，") if words else ""
    if not name and not phone:
        ctx.reply("请写明居民姓名和电话，例如：代约 张桂兰 13709171001", private=True)
        return True
    resident = None
    if phone:
        resident = await ctx.session.scalar(select(Resident).where(Resident.phone == phone).limit(1))
    if resident is None and name:
        named = (await ctx.session.scalars(select(Resident).where(Resident.display_name == name).limit(2))).all()
        resident = named[0] if len(named) == 1 else None
    if resident is None:
        if not (name and phone):
            ctx.reply("没有找到这位居民。新居民请同时写姓名和电话，例如：代约 王大爷 13800001234", private=True)
            return True
        resident = Resident(display_name=name[:128], phone=phone, home_unit_id=None, created_at=ctx.now)
        ctx.session.add(resident)
        await ctx.session.flush()
    ctx.start(FLOW, "service", for_resident=resident.id, for_name=resident.display_name,
              for_unit_id=resident.home_unit_id, for_phone=resident.phone)
    missed = await bookings.no_shows(ctx.session, resident.id)
    warning = f"\n注意：该居民已累计爽约 {missed} 次。" if missed >= bookings.REPEATED_NO_SHOWS else ""
    ctx.reply(f"为 {resident.display_name}（{mask_phone(resident.phone)}）预约。请问办理哪项服务？回复数字：\n"
              + ctx.services.catalogue.menu() + warning, private=True)
    return True


async def _mark(ctx: Context, pattern: re.Pattern[str], attended: bool) -> None:
    case_id = int(pattern.match(ctx.text).group(1))  # type: ignore[union-attr]
    try:
        case, missed = await bookings.mark(ctx.session, ctx.services, ctx.actor, case_id, attended, now=ctx.now)
    except BookingRefused as refusal:
        ctx.reply(str(refusal), private=True, alert=True)
        return
    ctx.case_id = case.id
    if attended:
        ctx.reply(f"预约 {case.number} 已登记到场。", private=True)
        return
    flag = f"该居民已累计爽约 {missed} 次，已记入居民记录。" if missed >= bookings.REPEATED_NO_SHOWS else ""
    ctx.reply(f"预约 {case.number} 已登记爽约。{flag}", private=True)


@router.staff_command(ATTENDED.pattern)
async def mark_attended(ctx: Context) -> bool:
    """The resident came: the booking is done."""
    await _mark(ctx, ATTENDED, True)
    return True


@router.staff_command(NO_SHOW.pattern)
async def mark_no_show(ctx: Context) -> bool:
    """The resident did not come: noted, and counted on the resident."""
    await _mark(ctx, NO_SHOW, False)
    return True


@router.staff_command(DAY_LIST.pattern)
async def show_day_list(ctx: Context) -> bool:
    """The bookings of the staff member's stations on a day (today unless a day is named)."""
    tz = ctx.services.settings.tz
    today = ctx.now.astimezone(tz).date()
    day = read_wish(DAY_LIST.match(ctx.text).group(1), today).day or today  # type: ignore[union-attr]
    stations = stations_of(ctx)
    if not stations:
        ctx.reply("您所在的单位没有服务站。", private=True)
        return True
    start = datetime.combine(day, time(0), tz)
    lines = []
    for station in stations:
        rows = await bookings.day_list(ctx.session, station.code, start, start + timedelta(days=1))
        lines.append(f"【{station.name}】{day_label(day)}：{len(rows)} 个预约")
        lines += [desk_line(row, tz) for row in rows]
    ctx.reply("\n".join(lines), private=True)
    return True


def stations_of(ctx: Context) -> list:  # type: ignore[type-arg]
    """The stations inside the staff member's unit (a roaming desk counts where its first visit is)."""
    if ctx.actor.unit_id is None:
        return []
    mine = ctx.services.directory.unit(ctx.actor.unit_id)
    found = []
    for station in ctx.services.network.stations:
        unit = ctx.services.directory.by_code(station.unit_code)
        if unit is not None and unit.path.startswith(mine.path):
            found.append(station)
    return found


def desk_line(row, tz) -> str:  # type: ignore[no-untyped-def]
    """One booking in a staff list: time, number, service, resident with masked phone, status."""
    booking, case, resident, seats = row
    who = resident.display_name + (f"（{mask_phone(resident.phone)}）" if resident.phone else "")
    return (f"{seats.starts_at.astimezone(tz):%H:%M} {case.number} {case.category_name} {who} "
            f"{booking.status.label}")
