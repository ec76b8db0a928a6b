"""One-time staff invites: a token that binds whoever opens it on a channel to a staff record."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Identity, Staff, StaffInvite

DEFAULT_TTL = timedelta(days=7)


class InviteError(Exception):
    """The invite cannot be created; the message is the answer to show."""


async def create_invite(session: AsyncSession, staff_code: str, *, now: datetime, ttl: timedelta = DEFAULT_TTL) -> str:
    """Stores a new one-time token for the staff member with that code and returns it."""
    staff = await session.scalar(select(Staff).where(Staff.code == staff_code))
    if staff is None:
        raise InviteError(f"no staff member with code {staff_code!r}")
    # Telegram deep-link payloads allow [A-Za-z0-9_-] up to 64 characters; token_urlsafe stays inside that.
    token = secrets.token_urlsafe(24)
    session.add(StaffInvite(token=token, staff_id=staff.id, created_at=now, expires_at=now + ttl))
    await session.flush()
    return token


async def redeem_invite(
    session: AsyncSession, token: str, *, channel: str, user_id: str, display_name: str,
    private_chat_id: str | None, now: datetime,
) -> Staff | None:
    """Binds the channel identity to the invite's staff member; None when the token is unknown, used or expired."""
    invites = StaffInvite.__table__
    # One conditional UPDATE: two people opening the same link at once cannot both win.
    claimed = await session.execute(
        update(invites).where(invites.c.token == token[:64], invites.c.used_at.is_(None), invites.c.expires_at > now)
        .values(used_at=now, used_by=f"{channel}:{user_id}"[:160]).returning(invites.c.staff_id)
    )
    staff_id = claimed.scalar_one_or_none()
    if staff_id is None:
        return None
    staff = await session.get(Staff, staff_id)
    identity = await session.scalar(select(Identity).where(Identity.channel == channel, Identity.user_id == user_id))
    if identity is None:
        identity = Identity(channel=channel, user_id=user_id)
        session.add(identity)
    # An identity belongs to one person: a resident account that opens a staff link becomes the staff member's.
    identity.staff_id, identity.resident_id = staff_id, None
    identity.display_name = display_name[:128]
    identity.private_chat_id = private_chat_id or identity.private_chat_id
    identity.last_seen_at = now
    await session.flush()
    return staff
