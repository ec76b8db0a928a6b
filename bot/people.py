"""Who is talking: staff or resident, registered on first contact; where to reach them; phone masking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Inbound
from bot.outbox import UNBOUND_CHANNEL
from models import Identity, Resident, Staff, StaffRole

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phone(phone: str | None) -> str:
    """Shows a mainland mobile number as 138****5678; anything else keeps only its last four digits."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[7:]}"
    return "****" + digits[-4:] if len(digits) > 4 else "****"


def mask_phones_in(text: str) -> str:
    """Masks every mobile number inside free text before it is shown to anyone but its owner."""
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


@dataclass(frozen=True, slots=True)
class Actor:
    """The person behind a message, resolved from their channel identity."""

    kind: str  # "resident" | "staff"
    id: int
    name: str
    identity_id: int
    role: StaffRole | None = None
    unit_id: int | None = None  # a staff member's unit, or a resident's home unit
    department: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


_SEEN_REFRESH = timedelta(minutes=10)
_IDENTITY = (
    select(Identity.id, Identity.private_chat_id, Identity.last_seen_at, Staff.id.label("staff_id"), Staff.name,
           Staff.role, Staff.unit_id, Staff.department, Resident.id.label("resident_id"), Resident.display_name,
           Resident.home_unit_id)
    .outerjoin(Staff, Staff.id == Identity.staff_id).outerjoin(Resident, Resident.id == Identity.resident_id)
    .where(Identity.channel == bindparam("channel"), Identity.user_id == bindparam("user_id"))
)


async def identify(session: AsyncSession, inbound: Inbound, *, now: datetime) -> Actor:
    """Finds the sender's identity in one query, registering a new resident on first contact."""
    row = (await session.execute(_IDENTITY, {"channel": inbound.channel, "user_id": inbound.sender_id})).first()
    if row is None:
        return await _register_resident(session, inbound, now=now)
    private_chat = row.private_chat_id if inbound.is_group else inbound.chat_id
    if private_chat != row.private_chat_id or row.last_seen_at is None or now - row.last_seen_at > _SEEN_REFRESH:
        await session.execute(update(Identity).where(Identity.id == row.id)
                              .values(last_seen_at=now, private_chat_id=private_chat))
    if row.staff_id is not None:
        return Actor("staff", row.staff_id, row.name, row.id, row.role, row.unit_id, row.department)
    return Actor("resident", row.resident_id, row.display_name, row.id, unit_id=row.home_unit_id)


async def _register_resident(session: AsyncSession, inbound: Inbound, *, now: datetime) -> Actor:
    resident = Resident(display_name=inbound.sender_name[:128] or inbound.sender_id, created_at=now)
    session.add(resident)
    await session.flush()
    identity = Identity(
        channel=inbound.channel, user_id=inbound.sender_id, display_name=inbound.sender_name[:128],
        resident_id=resident.id, last_seen_at=now, private_chat_id=None if inbound.is_group else inbound.chat_id,
    )
    session.add(identity)
    await session.flush()
    return Actor("resident", resident.id, resident.display_name, identity.id)


@dataclass(frozen=True, slots=True)
class Contact:
    """Where a person can be reached privately."""

    channel: str
    chat_id: str
    user_id: str
    name: str


async def staff_contact(session: AsyncSession, staff: Staff) -> Contact:
    """The staff member's most recently used identity, or an unbound placeholder."""
    identity = await session.scalar(
        select(Identity).where(Identity.staff_id == staff.id)
        .order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id).limit(1)
    )
    if identity is None:
        return Contact(UNBOUND_CHANNEL, f"staff:{staff.code}", f"staff:{staff.code}", staff.name)
    return Contact(identity.channel, identity.private_chat_id or identity.user_id, identity.user_id, staff.name)


async def resident_identity(session: AsyncSession, resident_id: int, channel: str) -> Identity | None:
    """The resident's identity on a channel (the one a case came in through)."""
    return await session.scalar(
        select(Identity).where(Identity.resident_id == resident_id, Identity.channel == channel).limit(1)
    )
