"""Appointments (预约办事): per-slot seat counters, bookings (each a case of kind appointment), waiting lists."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime
from models.grid import _enum


class BookingStatus(enum.StrEnum):
    BOOKED = "booked"  # 已预约
    CANCELLED = "cancelled"  # 已取消
    ATTENDED = "attended"  # 已到场
    NO_SHOW = "no_show"  # 爽约

    @property
    def label(self) -> str:
        return BOOKING_LABELS[self]


BOOKING_LABELS = {BookingStatus.BOOKED: "已预约", BookingStatus.CANCELLED: "已取消", BookingStatus.ATTENDED: "已到场",
                  BookingStatus.NO_SHOW: "爽约"}


class WaitStatus(enum.StrEnum):
    WAITING = "waiting"  # 候补中
    OFFERED = "offered"  # 已通知空位，为其保留
    BOOKED = "booked"  # 已约上
    LAPSED = "lapsed"  # 保留过期或已放弃


class SlotSeats(Base):
    """One derived slot's seat counter: `taken + held <= capacity` is kept by a guarded UPDATE, never by reading."""

    __tablename__ = "appointment_slot"
    __table_args__ = (UniqueConstraint("station_code", "service_code", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_code: Mapped[str] = mapped_column(String(64))
    service_code: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)  # seats kept for waiting-list residents who were offered them


class Booking(Base):
    """A resident's place in a slot; its case (kind appointment) carries the audit trail and the number."""

    __tablename__ = "booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slot.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus))
    booked_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WaitlistEntry(Base):
    """A resident waiting for a full slot; the first in line is offered a freed seat and it is held for them."""

    __tablename__ = "appointment_waitlist"
    __table_args__ = (UniqueConstraint("slot_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slot.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    status: Mapped[WaitStatus] = mapped_column(_enum(WaitStatus))
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    unit_id: Mapped[int] = mapped_column(ForeignKey("grid_unit.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    offered_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_waitlist_slot_status", WaitlistEntry.slot_id, WaitlistEntry.status, WaitlistEntry.id)
Index("ix_booking_status_slot", Booking.status, Booking.slot_id)
