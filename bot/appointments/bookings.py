"""Bookings: a case of kind appointment with its slot; booking, cancelling, rescheduling, attendance, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.appointments.labels import slot_data
from bot.appointments.seats import release_seat, slot_id, take_seat, used_seats
from bot.appointments.stations import Slot, Station
from bot.appointments.waitlist import offer_next
from bot.appointments.when import Wish
from bot.cases.actions import staff_may_act
from bot.cases.lifecycle import Draft, file_case
from bot.cases.notices import notify_reporter, notify_staff
from bot.cases.queries import load_case
from bot.grid.catalogue import Service
from bot.pipeline.identities import Actor
from bot.services import Services
from models import (
    Booking,
    BookingStatus,
    Case,
    CaseEvent,
    CaseKind,
    CaseStatus,
    EventKind,
    Resident,
    SlotSeats,
)

REPEATED_NO_SHOWS = 2  # from this many no-shows on, staff see the resident flagged when booking and in day lists


class BookingRefused(Exception):
    """A booking action that is not allowed; the message is the Chinese answer to show."""


@dataclass(frozen=True, slots=True)
class Offer:
    """A slot shown to a resident: free, or full (then they may join its waiting list)."""

    slot: Slot
    free: int


def home_station(services: Services, service: Service, unit_id: int | None) -> Station | None:
    """The station of the resident's community that offers the service, if any."""
    if unit_id is None:
        return None
    unit = services.directory.unit(unit_id)
    for station in services.network.offering(service.code):
        home = services.directory.by_code(station.unit_code)
        if not station.roaming and home is not None and unit.path.startswith(home.path):
            return station
    return None


async def offers(session: AsyncSession, services: Services, station: Station, service: Service, wish: Wish, *,
                 now: datetime, limit: int = 6) -> list[Offer]:
    """The free slots nearest the wish (its day and hours first), and the full ones it names exactly."""
    tz, calendar = services.settings.tz, services.calendar
    candidates = list(services.network.bookable(station, service.code, now, calendar, tz, first_day=wish.day))
    if not candidates and wish.day is not None:  # a day beyond the booking window: show what there is
        candidates = list(services.network.bookable(station, service.code, now, calendar, tz))
    if not candidates:
        return []
    used = await used_seats(session, station.code, service.code, candidates[0].starts_at,
                            candidates[-1].starts_at + timedelta(seconds=1))
    return choose_offers([Offer(slot, slot.capacity - used.get(slot.starts_at, 0)) for slot in candidates], wish, tz,
                         limit=limit)


def choose_offers(found: list[Offer], wish: Wish, tz: Any, *, limit: int = 6) -> list[Offer]:
    """Among bookable slots, the free ones nearest the wish (its day and hours first), and the full one it names."""

    def fits(offer: Offer) -> bool:
        local = offer.slot.starts_at.astimezone(tz)
        if wish.day is not None and local.date() != wish.day:
            return False
        if wish.start is None:
            return True
        if wish.start == wish.end:  # a clock time: the slot that contains it
            return local.time() <= wish.start < offer.slot.ends_at.astimezone(tz).time()
        return wish.start <= local.time() < wish.end  # type: ignore[operator]

    matching = [o for o in found if fits(o)]
    if wish.start == wish.end and wish.start is not None:
        # a clock time: the slot holding it (even full, to queue for) and the nearest free ones around it
        target = wish.start
        same_day = [o for o in found if o.free > 0 and (wish.day is None or
                                                        o.slot.starts_at.astimezone(tz).date() == wish.day)]
        same_day.sort(key=lambda o: abs(o.slot.starts_at.astimezone(tz).hour * 60
                                        + o.slot.starts_at.astimezone(tz).minute - target.hour * 60 - target.minute))
        if same_day:
            return [o for o in matching if o.free <= 0][:1] + same_day[:limit - 1]
    free = [o for o in matching if o.free > 0][:limit]
    full = [o for o in matching if o.free <= 0][:1] if wish.start == wish.end and wish.start else []
    if free or full:
        return full + free
    return [o for o in found if o.free > 0][:limit]


async def book(session: AsyncSession, services: Services, resident: Actor, station: Station, slot: Slot,
               service: Service, *, channel: str, chat_id: str, is_group: bool, now: datetime,
               by_staff: Actor | None = None, held: bool = False) -> Case | None:
    """Takes a seat and files the booking's case; None when the slot filled up first (nothing written)."""
    _check_notice(services, slot, now)
    seats = await slot_id(session, slot)
    if await session.scalar(select(Booking.id).where(Booking.slot_id == seats, Booking.resident_id == resident.id,
                                                     Booking.status == BookingStatus.BOOKED)):
        raise BookingRefused("您已经预约了这个时段，无需重复预约。")
    if not await take_seat(session, seats, held=held):
        return None
    data = slot_data(services, station, slot)
    unit = services.directory.by_code(slot.unit_code if station.roaming else station.unit_code)
    assert unit is not None
    draft = Draft(kind=CaseKind.APPOINTMENT, text=f"预约{service.name}：{data['label']}，{data['place']}",
                  unit=unit, category_code=service.code, category_name=service.name, confidence=1.0,
                  duty=service.duty, sla_accept_hours=service.sla_accept_hours,
                  sla_resolve_hours=service.sla_resolve_hours,
                  extras={"service": service.name, "preferred_time": data["label"], "appointment": data})
    filed = await file_case(session, services.directory, draft, resident, channel=channel, chat_id=chat_id,
                            is_group=is_group, now=now, duplicate_window=timedelta(0), duplicate_similarity=100)
    session.add(Booking(case_id=filed.case.id, slot_id=seats, resident_id=resident.id, status=BookingStatus.BOOKED,
                        booked_by_staff_id=by_staff.id if by_staff else None, created_at=now, updated_at=now))
    if by_staff is not None:
        session.add(_event(filed.case.id, by_staff, "booked_for", filed.case.status, filed.case.status,
                           f"工作人员代为预约：{data['label']}", now))
    await session.flush()
    return filed.case


def _check_notice(services: Services, slot: Slot, now: datetime) -> None:
    """A slot must still be ahead by the service's least notice when it is taken (a list can go stale)."""
    if slot.starts_at < now + timedelta(hours=services.network.terms_of(slot.service_code).notice_hours):
        raise BookingRefused("这个时段已过或离现在太近，不能再预约，请重新选择时间。")


def _event(case_id: int, actor: Actor | None, action: str, before: CaseStatus, after: CaseStatus, note: str,
           now: datetime) -> CaseEvent:
    return CaseEvent(case_id=case_id, at=now, actor_kind=actor.kind if actor else "system",
                     actor_id=actor.id if actor else None, actor_name=actor.name if actor else "系统", action=EventKind(action),
                     from_status=before.value, to_status=after.value, note=note)


async def booking_of(session: AsyncSession, services: Services, actor: Actor, case_id: int, *,
                     action: str) -> tuple[Case, Booking]:
    """The live booking behind a case the actor may touch: the resident's own, or one in a staff member's scope."""
    case = await load_case(session, case_id)
    booking = await session.scalar(select(Booking).where(Booking.case_id == case_id)) if case else None
    missing = BookingRefused(f"没有找到预约 #{case_id}，请核对编号；回复「我的诉求」查看全部。")
    if case is None or booking is None:
        raise missing
    if actor.is_staff:
        directory = services.directory
        if not (staff_may_act(directory, actor, case, "progress") or staff_may_act(directory, actor, case, "assign")):
            raise BookingRefused(f"您无权处理预约 {case.number}：它不在您负责的社区内，也未派给您。")
    elif case.reporter_id != actor.id:
        raise missing
    if booking.status is not BookingStatus.BOOKED:
        raise BookingRefused(f"预约 {case.number} {booking.status.label}，不能再{ACTION_LABELS[action]}。")
    return case, booking


async def live_bookings(session: AsyncSession, resident_id: int, *, now: datetime) -> list[Case]:
    """The resident's bookings still to come, soonest first."""
    return list(await session.scalars(
        select(Case).join(Booking, Booking.case_id == Case.id).join(SlotSeats, SlotSeats.id == Booking.slot_id)
        .where(Booking.resident_id == resident_id, Booking.status == BookingStatus.BOOKED, SlotSeats.starts_at > now)
        .order_by(SlotSeats.starts_at)))


ACTION_LABELS = {"cancel": "取消", "reschedule": "改约", "attended": "登记到场", "no_show": "登记爽约"}


async def _tell_assignee(session: AsyncSession, case: Case, text: str, key: str, now: datetime) -> None:
    if case.assignee is not None:
        await notify_staff(session, case.assignee, case, text, key=key, now=now)


async def cancel(session: AsyncSession, services: Services, actor: Actor, case_id: int, reason: str, *,
                 now: datetime) -> Case:
    """Cancels a booking before its slot: the seat goes back (to the first in line, if anyone waits)."""
    case, booking = await booking_of(session, services, actor, case_id, action="cancel")
    slot = case.extras["appointment"]
    if datetime.fromisoformat(slot["starts_at"]) <= now:
        raise BookingRefused(f"预约 {case.number} 的时间已过，不能取消。")
    booking.status, booking.reason, booking.updated_at = BookingStatus.CANCELLED, reason or None, now
    before, case.status, case.closed_at, case.updated_at = case.status, CaseStatus.CLOSED, now, now
    note = f"取消预约（{slot['label']}）" + (f"：{reason}" if reason else "")
    session.add(_event(case.id, actor, "cancelled", before, case.status, note, now))
    await session.flush()
    await _tell_assignee(session, case, f"预约 {case.number} 已取消：{slot['label']}"
                         + (f"\n原因：{reason}" if reason else ""), f"appt:{case.id}:cancelled", now)
    if actor.is_staff:
        await notify_reporter(session, case, f"您的预约 {case.number}（{slot['label']}）已由工作人员取消"
                              + (f"：{reason}" if reason else "。"), key=f"appt:{case.id}:cancelled", now=now)
    await _free_seat(session, services, booking.slot_id, now)
    return case


async def reschedule(session: AsyncSession, services: Services, actor: Actor, case_id: int, station: Station,
                     slot: Slot, *, now: datetime) -> Case | None:
    """Moves a booking to another slot; None when that slot filled up first (the old one is kept)."""
    case, booking = await booking_of(session, services, actor, case_id, action="reschedule")
    _check_notice(services, slot, now)
    new_seats = await slot_id(session, slot)
    if new_seats == booking.slot_id:
        raise BookingRefused(f"预约 {case.number} 已经是这个时段。")
    if not await take_seat(session, new_seats):
        return None
    old_seats, old = booking.slot_id, case.extras["appointment"]
    data = slot_data(services, station, slot)
    booking.slot_id, booking.updated_at = new_seats, now
    case.extras = {**case.extras, "preferred_time": data["label"], "appointment": data}
    case.text = f"预约{case.extras['service']}：{data['label']}，{data['place']}"
    case.updated_at = now
    session.add(_event(case.id, actor, "rescheduled", case.status, case.status,
                       f"由 {old['label']} 改约到 {data['label']}", now))
    await session.flush()
    await _tell_assignee(session, case, f"预约 {case.number} 已改约：{old['label']} → {data['label']}",
                         f"appt:{case.id}:moved:{data['starts_at']}", now)
    await _free_seat(session, services, old_seats, now)
    return case


async def mark(session: AsyncSession, services: Services, actor: Actor, case_id: int, attended: bool, *,
               now: datetime) -> tuple[Case, int]:
    """Staff record that the resident came (the case is done) or did not; returns the case and their no-shows."""
    if not actor.is_staff:
        raise BookingRefused("只有工作人员可以登记到场或爽约。")
    case, booking = await booking_of(session, services, actor, case_id, action="attended" if attended else "no_show")
    before = case.status
    if attended:
        booking.status, case.status, case.resolved_at = BookingStatus.ATTENDED, CaseStatus.RESOLVED, now
        note = "居民已按约到场办理"
    else:
        booking.status, case.status, case.closed_at = BookingStatus.NO_SHOW, CaseStatus.CLOSED, now
        note = "居民未按约到场"
    booking.updated_at = case.updated_at = now
    await session.flush()
    missed = await no_shows(session, case.reporter_id)
    if not attended and missed >= REPEATED_NO_SHOWS:
        note += f"；累计爽约 {missed} 次"
    session.add(_event(case.id, actor, "attended" if attended else "no_show", before, case.status, note, now))
    if not attended:
        await notify_reporter(session, case, f"您预约的 {case.number}（{case.extras['appointment']['label']}）未能到场，"
                              "已记为爽约。如需办理请重新预约。", key=f"appt:{case.id}:no_show", now=now)
    return case, missed


async def no_shows(session: AsyncSession, resident_id: int) -> int:
    """How many bookings the resident did not turn up to."""
    return await session.scalar(select(func.count()).select_from(Booking).where(
        Booking.resident_id == resident_id, Booking.status == BookingStatus.NO_SHOW)) or 0


async def _free_seat(session: AsyncSession, services: Services, seats: int, now: datetime) -> None:
    """Gives a seat back, holding it for the first resident waiting for that slot, if any."""
    first = await offer_next(session, services, seats, now=now)
    await release_seat(session, seats, hold=first)


async def day_list(session: AsyncSession, station_code: str, start: datetime, end: datetime) -> list[Any]:
    """The bookings of a station starting in [start, end): rows of (Booking, Case, Resident, SlotSeats) by time."""
    return list((await session.execute(
        select(Booking, Case, Resident, SlotSeats)
        .join(Case, Case.id == Booking.case_id).join(Resident, Resident.id == Booking.resident_id)
        .join(SlotSeats, SlotSeats.id == Booking.slot_id)
        .where(SlotSeats.station_code == station_code, SlotSeats.starts_at >= start, SlotSeats.starts_at < end,
               Booking.status != BookingStatus.CANCELLED)
        .order_by(SlotSeats.starts_at, Booking.id))).unique().all())

