"""Who is talking: staff or resident, registered on first contact; where to reach them; phone masking."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import UNBOUND_CHANNEL
from bot.pipeline.dialogue import DialogueState, state_of
from bot.pipeline.messages import Inbound
from models import Conversation, Identity, Resident, Staff, StaffRole
from models.db import Prepared, PreparedQuery

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phone(phone: str | None) -> str:
    """Shows a mainland mobile number as 138****5678; anything else keeps only its last four digits."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[7:]}"
    return "****" + digits[-4:] if len(digits) > 4 else "****"


def mask_phones_in(text: str, *, keep: frozenset[str] = frozenset()) -> str:
    """Masks every mobile number inside free text before it is shown to anyone but its owner (but those in `keep`)."""
    return _PHONE.sub(lambda m: m.group(0) if m.group(0) in keep else f"{m.group(1)}****{m.group(3)}", text)


def phones_in(text: str) -> set[str]:
    """The mobile numbers written in free text."""
    return {match.group(0) for match in _PHONE.finditer(text)}


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
    phone: str | None = None  # a resident's, shown to staff masked

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


@dataclass(frozen=True, slots=True)
class Sender:
    """What the database knows of a message's sender: their identity (None on first contact), with the person
    behind it, and their dialogue in the message's chat."""

    identity: Any  # the _SENDER row (a named tuple), None on first contact
    state: DialogueState


_IDENTITY, _STAFF, _RESIDENT = Identity.__table__, Staff.__table__, Resident.__table__
_CONVERSATION = Conversation.__table__
# One query per message, chatter included. A dialogue row exists only for an identity (identify() registers the
# sender before any state is saved), so the outer join from the identity finds every open dialogue.
_SENDER_KEYS = ("channel", "user_id", "chat_id")
_SENDER_QUERY = (
    select(_IDENTITY.c.id, _IDENTITY.c.private_chat_id, _IDENTITY.c.last_seen_at, _STAFF.c.id.label("staff_id"),
           _STAFF.c.name, _STAFF.c.role, _STAFF.c.unit_id, _STAFF.c.department,
           _RESIDENT.c.id.label("resident_id"), _RESIDENT.c.display_name, _RESIDENT.c.phone,
           _RESIDENT.c.home_unit_id, _CONVERSATION.c.flow, _CONVERSATION.c.step, _CONVERSATION.c.state,
           _CONVERSATION.c.expires_at)
    .select_from(
        _IDENTITY.outerjoin(_STAFF, _STAFF.c.id == _IDENTITY.c.staff_id)
        .outerjoin(_RESIDENT, _RESIDENT.c.id == _IDENTITY.c.resident_id)
        .outerjoin(_CONVERSATION, and_(_CONVERSATION.c.channel == _IDENTITY.c.channel,
                                       _CONVERSATION.c.user_id == _IDENTITY.c.user_id,
                                       _CONVERSATION.c.chat_id == bindparam("chat_id")))
    )
    .where(_IDENTITY.c.channel == bindparam("channel"), _IDENTITY.c.user_id == bindparam("user_id"))
)
_SENDER = PreparedQuery(_SENDER_QUERY, _SENDER_KEYS)
_SEEN = (update(_IDENTITY).where(_IDENTITY.c.id == bindparam("identity_id"))
         .values(last_seen_at=bindparam("seen_at"), private_chat_id=bindparam("chat")))
# A new resident is a new user's first message on the webhooks: prepared, as the ledger's row is.
_NEW_RESIDENT = Prepared(lambda insert: insert(_RESIDENT).returning(_RESIDENT.c.id), ("display_name", "created_at"))
# An upsert: two first messages of one new user at once (two instances, or a group and a private chat) register
# them once; the one that loses the race finds the winner's identity.
_NEW_IDENTITY = Prepared(lambda insert: insert(_IDENTITY).on_conflict_do_nothing(
    index_elements=["channel", "user_id"]).returning(_IDENTITY.c.id),
    ("channel", "user_id", "display_name", "resident_id", "last_seen_at", "private_chat_id"))
_DROP_RESIDENT = delete(_RESIDENT).where(_RESIDENT.c.id == bindparam("resident_id"))
_SEEN_REFRESH = timedelta(minutes=10)


async def find_sender(session: AsyncSession, inbound: Inbound, *, now: datetime) -> Sender:
    """The sender's identity and their dialogue in this chat, in one query."""
    row = await _SENDER.first_row(session, {"channel": inbound.channel, "user_id": inbound.sender_id,
                                            "chat_id": inbound.chat_id})
    return Sender(row, state_of(row, now))


class SenderAndInsert:
    """find_sender, and an INSERT ... ON CONFLICT DO NOTHING RETURNING one column (the dispatcher's ledger row), in
    one statement on PostgreSQL: the insert is a data-modifying CTE, which PostgreSQL runs exactly once whether or
    not the query reads it, and the sender's query does not read its table. One round trip instead of two. On
    SQLite the two statements run in turn (the second straight to sqlite3, no trip of its own)."""

    def __init__(self, table: Table, conflict: Sequence[str], returning: Column[Any], keys: Sequence[str],
                 alone: Prepared) -> None:
        self._alone = alone
        inserted = (postgresql.insert(table)
                    .values({key: bindparam(f"new_{key}", type_=table.c[key].type) for key in keys})
                    .on_conflict_do_nothing(index_elements=list(conflict)).returning(returning).cte("inserted"))
        sender = _SENDER_QUERY.subquery("sender")
        one = select(literal_column("1").label("one")).subquery("one")
        self._both = PreparedQuery(
            select(select(inserted.c[returning.key]).scalar_subquery().label("inserted"), *sender.c)
            .select_from(one.outerjoin(sender, true())),
            (*(f"new_{key}" for key in keys), *_SENDER_KEYS))

    async def __call__(self, session: AsyncSession, inbound: Inbound, values: dict[str, Any], *,
                       now: datetime) -> tuple[Sender, Any]:
        """The sender, and the inserted row's returned value (None when the row was there already)."""
        if session.get_bind().dialect.name != "postgresql":
            sender = await find_sender(session, inbound, now=now)
            rows = await self._alone.execute(session, values)
            return sender, rows[0][0] if rows else None
        row = await self._both.first_row(session, {
            **{f"new_{key}": value for key, value in values.items()},
            "channel": inbound.channel, "user_id": inbound.sender_id, "chat_id": inbound.chat_id})
        identity = row if row.id is not None else None  # the outer join's empty side: first contact
        return Sender(identity, state_of(identity, now)), row.inserted


async def identify(session: AsyncSession, inbound: Inbound, sender: Sender, *, now: datetime) -> Actor:
    """The actor behind a found sender, registering a new resident on first contact."""
    row = sender.identity
    if row is None:
        return await _register_resident(session, inbound, now=now)
    private_chat = row.private_chat_id if inbound.is_group else inbound.chat_id
    if private_chat != row.private_chat_id or row.last_seen_at is None or now - row.last_seen_at > _SEEN_REFRESH:
        await session.execute(_SEEN, {"identity_id": row.id, "seen_at": now, "chat": private_chat})
    if row.staff_id is not None:
        return Actor("staff", row.staff_id, row.name, row.id, row.role, row.unit_id, row.department)
    return Actor("resident", row.resident_id, row.display_name, row.id, unit_id=row.home_unit_id, phone=row.phone)


async def _register_resident(session: AsyncSession, inbound: Inbound, *, now: datetime) -> Actor:
    name = inbound.sender_name[:128] or inbound.sender_id
    resident_id = (await _NEW_RESIDENT.execute(session, {"display_name": name, "created_at": now}))[0][0]
    identities = await _NEW_IDENTITY.execute(session, {
        "channel": inbound.channel, "user_id": inbound.sender_id, "display_name": inbound.sender_name[:128],
        "resident_id": resident_id, "last_seen_at": now,
        "private_chat_id": None if inbound.is_group else inbound.chat_id,
    })
    identity_id = identities[0][0] if identities else None
    if identity_id is None:  # registered meanwhile by a concurrent first message: theirs stands, ours goes
        await session.execute(_DROP_RESIDENT, {"resident_id": resident_id})
        winner = await find_sender(session, inbound, now=now)
        if winner.identity is None:
            raise RuntimeError(f"identity {inbound.channel}:{inbound.sender_id} neither inserted nor found")
        return await identify(session, inbound, winner, now=now)
    return Actor("resident", resident_id, name, identity_id)


@dataclass(frozen=True, slots=True)
class Contact:
    """Where a person can be reached privately."""

    channel: str
    chat_id: str
    user_id: str
    name: str


class StaffLike(Protocol):
    """What notices need of a staff member: the ORM row and routing's StaffRef both have it."""

    id: int
    code: str
    name: str


_LATEST_IDENTITY = PreparedQuery(
    select(_IDENTITY.c.channel, _IDENTITY.c.private_chat_id, _IDENTITY.c.user_id)
    .where(_IDENTITY.c.staff_id == bindparam("staff_id"))
    .order_by(_IDENTITY.c.last_seen_at.desc().nulls_last(), _IDENTITY.c.id).limit(1),
    ("staff_id",),
)
_RESIDENT_IDENTITY = (
    select(_IDENTITY.c.user_id, _IDENTITY.c.display_name, _IDENTITY.c.private_chat_id)
    .where(_IDENTITY.c.resident_id == bindparam("resident_id"), _IDENTITY.c.channel == bindparam("channel"))
    .order_by(_IDENTITY.c.id).limit(1)
)


async def staff_contact(session: AsyncSession, staff: StaffLike) -> Contact:
    """The staff member's most recently used identity, or an unbound placeholder."""
    identity = await _LATEST_IDENTITY.first_row(session, {"staff_id": staff.id})
    if identity is None:
        return Contact(UNBOUND_CHANNEL, f"staff:{staff.code}", f"staff:{staff.code}", staff.name)
    return Contact(identity.channel, identity.private_chat_id or identity.user_id, identity.user_id, staff.name)


async def resident_identity(session: AsyncSession, resident_id: int, channel: str) -> Row[Any] | None:
    """The resident's identity on a channel (the one a case came in through): user_id, display_name and
    private_chat_id."""
    return (await session.execute(_RESIDENT_IDENTITY, {"resident_id": resident_id, "channel": channel})).first()
