"""Waiting lists per slot: a freed seat is held for the first in line, who is told and may take it up."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.appointments.labels import find_slot, slot_label
from bot.appointments.seats import drop_hold
from bot.delivery.outbox import Notice, enqueue
from bot.pipeline.messages import Button
from bot.services import Services
from models import SlotSeats, WaitlistEntry, WaitStatus

OFFER_HOLD = timedelta(hours=2)  # how long a freed seat is kept for the resident it is offered to


async def join(session: AsyncSession, services: Services, seats: int, resident_id: int, *, channel: str,
               chat_id: str, unit_id: int, now: datetime) -> int:
    """Puts the resident on the slot's waiting list (once); returns their place in line."""
    entry = await session.scalar(select(WaitlistEntry).where(WaitlistEntry.slot_id == seats,
                                                            WaitlistEntry.resident_id == resident_id))
    if entry is None:
        entry = WaitlistEntry(slot_id=seats, resident_id=resident_id, status=WaitStatus.WAITING, channel=channel,
                              chat_id=chat_id, unit_id=unit_id, created_at=now)
        session.add(entry)
        await session.flush()
    elif entry.status is WaitStatus.LAPSED:
        entry.status, entry.offered_until = WaitStatus.WAITING, None
    ahead = await session.scalar(select(func.count()).select_from(WaitlistEntry).where(
        WaitlistEntry.slot_id == seats, WaitlistEntry.status.in_([WaitStatus.WAITING, WaitStatus.OFFERED]),
        WaitlistEntry.id < entry.id))
    return (ahead or 0) + 1


async def offer_next(session: AsyncSession, services: Services, seats: int, *, now: datetime) -> bool:
    """Offers a freed seat to the first resident waiting for it; True when someone was offered it."""
    row = await session.get(SlotSeats, seats)
    if row is None or row.starts_at <= now:
        return False
    entry = await session.scalar(select(WaitlistEntry).where(
        WaitlistEntry.slot_id == seats, WaitlistEntry.status == WaitStatus.WAITING)
        .order_by(WaitlistEntry.id).limit(1).with_for_update(skip_locked=True))
    if entry is None:
        return False
    entry.status, entry.offered_until = WaitStatus.OFFERED, min(now + OFFER_HOLD, row.starts_at)
    found = find_slot(services, row.station_code, row.service_code, row.starts_at)
    label = slot_label(found[1], services.settings.tz) if found else f"{row.starts_at.astimezone(services.settings.tz):%m-%d %H:%M}"
    until = entry.offered_until.astimezone(services.settings.tz)
    await enqueue(session, Notice(
        dedupe_key=f"appt:wait:{entry.id}:offer", channel=entry.channel, chat_id=entry.chat_id,
        recipient=f"resident:{entry.resident_id}",
        text=f"您候补的 {label} 有空位了，为您保留到 {until:%H:%M}。回复「确认候补 {entry.id}」预约，"
             f"「放弃候补 {entry.id}」让给下一位。",
        extras={"buttons": [[b.label, b.payload] for b in (Button("确认预约", f"确认候补 {entry.id}"),
                                                          Button("放弃", f"放弃候补 {entry.id}"))]},
    ), now=now)
    return True


async def lapse_offers(session: AsyncSession, services: Services, *, now: datetime) -> int:
    """Ends offers nobody took up in time: the seat passes to the next in line, or becomes free."""
    expired = (await session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.status == WaitStatus.OFFERED, WaitlistEntry.offered_until <= now)
        .with_for_update(skip_locked=True))).all()
    for entry in expired:
        await give_up(session, services, entry, now=now)
    return len(expired)


async def give_up(session: AsyncSession, services: Services, entry: WaitlistEntry, *, now: datetime) -> None:
    """The resident no longer waits; a seat held for them goes to the next in line."""
    offered = entry.status is WaitStatus.OFFERED
    entry.status = WaitStatus.LAPSED
    await session.flush()
    if offered and not await offer_next(session, services, entry.slot_id, now=now):
        await drop_hold(session, entry.slot_id)
