"""API keys of the systems that call gridbot (Open311 clients, the 12345 hotline, staff tools), and their pace."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import ApiKey, GridUnit, Staff

KEY_BYTES = 32
_KEY = ApiKey.__table__
_CALLER = select(_KEY.c.id, _KEY.c.name, _KEY.c.per_minute, _KEY.c.staff_id, _KEY.c.unit_id, _KEY.c.revoked_at) \
    .where(_KEY.c.key_hash == bindparam("key_hash"))  # Core, built once: every API request checks its key
PREFIX_CHARS = 8


class ApiKeyRefused(Exception):
    """A key that cannot be created or revoked as asked; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who an authenticated API request comes from: an integration, or a staff member's own token."""

    key_id: int
    name: str
    per_minute: int
    staff_id: int | None
    unit_id: int | None


def key_digest(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(session: AsyncSession, name: str, *, now: datetime, staff_code: str | None = None,
                     unit_code: str | None = None, per_minute: int = 120) -> str:
    """Stores a new key under a unique name and returns it; it is shown this once and never stored."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ApiKeyRefused("a key's name is 1 to 64 characters")
    if await session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyRefused(f"a key named {name!r} exists already; revoke it or choose another name")
    staff_id = unit_id = None
    if staff_code:
        staff_id = await session.scalar(select(Staff.id).where(Staff.code == staff_code))
        if staff_id is None:
            raise ApiKeyRefused(f"no staff member with code {staff_code!r}")
    if unit_code:
        unit_id = await session.scalar(select(GridUnit.id).where(GridUnit.code == unit_code))
        if unit_id is None:
            raise ApiKeyRefused(f"no unit with code {unit_code!r}")
    if per_minute < 1:
        raise ApiKeyRefused("--per-minute must be at least 1")
    key = "gbk_" + secrets.token_urlsafe(KEY_BYTES)
    session.add(ApiKey(name=name, key_hash=key_digest(key), prefix=key[:PREFIX_CHARS], staff_id=staff_id,
                       unit_id=unit_id, per_minute=per_minute, created_at=now))
    await session.flush()
    return key


async def revoke_key(session: AsyncSession, name: str, *, now: datetime) -> None:
    """Revokes the key of that name; a revoked key is refused from the next request on."""
    row = await session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise ApiKeyRefused(f"no key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key, oldest first."""
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id))).all())


async def caller_of(session: AsyncSession, key: str | None) -> Caller | None:
    """The caller a presented key belongs to, or None when it is missing, unknown or revoked."""
    if not key or len(key) > 128:
        return None
    row = (await session.execute(_CALLER, {"key_hash": key_digest(key)})).first()
    if row is None or row.revoked_at is not None:
        return None
    return Caller(row.id, row.name, row.per_minute, row.staff_id, row.unit_id)


class RateLimiter:
    """A token bucket per caller (key or address): `per_minute` requests a minute, in bursts of up to that many.

    Kept in the process: with several instances each allows the full rate, which bounds a flood at that many
    times the rate; the keyed limit exists to stop a runaway client, not to meter it."""

    def __init__(self, *, max_callers: int = 10_000, monotonic=time.monotonic) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_callers
        self._monotonic = monotonic

    def allow(self, caller: str, per_minute: int) -> bool:
        """Takes one token from the caller's bucket; False when it is empty."""
        now = self._monotonic()
        tokens, at = self._buckets.pop(caller, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - at) * per_minute / 60.0)
        allowed = tokens >= 1.0
        self._buckets[caller] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        return allowed
