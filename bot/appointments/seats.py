"""Seats in slots, held by the database: a guarded UPDATE takes one, so the last seat goes to exactly one resident.

A slot's row is created the first time anyone books it (INSERT … ON CONFLICT DO NOTHING). Taking a seat is
`UPDATE … SET taken = taken + 1 WHERE taken + held < capacity`: on PostgreSQL the second of two concurrent
updates waits for the first's row lock and re-checks the condition; on SQLite writers are serialised by
BEGIN IMMEDIATE. Either way a full slot reports zero rows changed and nobody is overbooked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.appointments.stations import Slot
from models import SlotSeats
from models.db import PerDialect

_SEATS = SlotSeats.__table__
_ENSURE = PerDialect(lambda insert: insert(_SEATS).on_conflict_do_nothing(
    index_elements=["station_code", "service_code", "starts_at"]))
_FIND = select(_SEATS.c.id).where(_SEATS.c.station_code == bindparam("station_code"),
                                  _SEATS.c.service_code == bindparam("service_code"),
                                  _SEATS.c.starts_at == bindparam("starts_at"))
_TAKE = (update(_SEATS).where(_SEATS.c.id == bindparam("slot_id"),
                              _SEATS.c.taken + _SEATS.c.held < _SEATS.c.capacity)
         .values(taken=_SEATS.c.taken + 1))
_TAKE_HELD = (update(_SEATS).where(_SEATS.c.id == bindparam("slot_id"), _SEATS.c.held > 0)
              .values(taken=_SEATS.c.taken + 1, held=_SEATS.c.held - 1))
_RELEASE = (update(_SEATS).where(_SEATS.c.id == bindparam("slot_id"), _SEATS.c.taken > 0)
            .values(taken=_SEATS.c.taken - 1))
_RELEASE_TO_HOLD = (update(_SEATS).where(_SEATS.c.id == bindparam("slot_id"), _SEATS.c.taken > 0)
                    .values(taken=_SEATS.c.taken - 1, held=_SEATS.c.held + 1))
_UNHOLD = (update(_SEATS).where(_SEATS.c.id == bindparam("slot_id"), _SEATS.c.held > 0)
           .values(held=_SEATS.c.held - 1))


async def slot_id(session: AsyncSession, slot: Slot) -> int:
    """The slot's counter row, created on first use."""
    key = {"station_code": slot.station_code, "service_code": slot.service_code, "starts_at": slot.starts_at}
    await session.execute(_ENSURE(session), {**key, "ends_at": slot.ends_at, "capacity": slot.capacity, "taken": 0,
                                             "held": 0})
    return (await session.execute(_FIND, key)).scalar_one()


async def take_seat(session: AsyncSession, slot_id: int, *, held: bool = False) -> bool:
    """Takes a free seat (or the seat held for this resident); False when the slot is full."""
    result = await session.execute(_TAKE_HELD if held else _TAKE, {"slot_id": slot_id})
    return result.rowcount == 1


async def release_seat(session: AsyncSession, slot_id: int, *, hold: bool = False) -> None:
    """Gives a seat back; with `hold` it stays kept for the waiting resident it is offered to."""
    await session.execute(_RELEASE_TO_HOLD if hold else _RELEASE, {"slot_id": slot_id})


async def drop_hold(session: AsyncSession, slot_id: int) -> None:
    """Frees a held seat nobody took up."""
    await session.execute(_UNHOLD, {"slot_id": slot_id})


async def used_seats(session: AsyncSession, station_code: str, service_code: str, start: datetime,
                     end: datetime) -> dict[datetime, int]:
    """Seats taken or held per slot start, for the slots of one station and service in [start, end)."""
    rows = await session.execute(
        select(_SEATS.c.starts_at, _SEATS.c.taken + _SEATS.c.held)
        .where(_SEATS.c.station_code == station_code, _SEATS.c.service_code == service_code,
               _SEATS.c.starts_at >= start, _SEATS.c.starts_at < end))
    return {starts_at: used for starts_at, used in rows}
