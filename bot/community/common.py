"""What the community modules share: refusals, who acted, audit events, scope, contacts and notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import UNBOUND_CHANNEL, Notice, enqueue
from bot.grid.directory import GridDirectory, UnitRef
from bot.pipeline.identities import Actor, Contact, staff_contact
from models import Claimer, CommunityEvent, Identity, Staff, StaffRole, UnitLevel, Wish

MANAGING_ROLES = frozenset({StaffRole.COMMUNITY_STAFF, StaffRole.COMMUNITY_SECRETARY, StaffRole.STREET_OFFICER})


class Refused(Exception):
    """An action that is not allowed or not possible; the message is the Chinese answer to show."""


@dataclass(frozen=True, slots=True)
class Who:
    """Whoever did something, as the audit trail names them."""

    kind: str  # resident | staff | claimer | system
    id: int | None
    name: str

    @classmethod
    def of(cls, actor: Actor) -> Who:
        return cls(actor.kind, actor.id, actor.name)

    @classmethod
    def claimer(cls, claimer: Claimer) -> Who:
        return cls("claimer", claimer.id, claimer.name)


SYSTEM = Who("system", None, "系统")


def record(session: AsyncSession, who: Who, action: str, now: datetime, *, wish_id: int | None = None,
           project_id: int | None = None, claimer_id: int | None = None, before: str | None = None,
           after: str | None = None, note: str = "") -> None:
    """Adds one audit event (责任追溯) to the session."""
    session.add(CommunityEvent(wish_id=wish_id, project_id=project_id, claimer_id=claimer_id, at=now,
                               actor_kind=who.kind, actor_id=who.id, actor_name=who.name[:128], action=action,
                               from_status=before, to_status=after, note=note))


def community_of(directory: GridDirectory, unit: UnitRef) -> UnitRef:
    """The community a unit belongs to (the unit itself above community level)."""
    return directory.ancestor_at(unit, UnitLevel.COMMUNITY) or unit


def may_manage(directory: GridDirectory, actor: Actor, community_id: int) -> bool:
    """Community staff and secretaries of the community, and officers of its street, review and organise."""
    if not actor.is_staff or actor.role not in MANAGING_ROLES or actor.unit_id is None:
        return False
    return directory.unit(actor.unit_id).contains(directory.unit(community_id))


def managed_community(directory: GridDirectory, actor: Actor) -> UnitRef | None:
    """The community a staff member looks after (None for street officers and everyone else)."""
    if not actor.is_staff or actor.role not in MANAGING_ROLES or actor.unit_id is None:
        return None
    unit = directory.unit(actor.unit_id)
    return unit if unit.level is UnitLevel.COMMUNITY else None


async def find_claimer(session: AsyncSession, actor: Actor) -> Claimer | None:
    """The 双报到 registration of the person behind a chat identity, if any."""
    column = Claimer.staff_id if actor.is_staff else Claimer.resident_id
    return (await session.scalars(select(Claimer).where(column == actor.id))).unique().one_or_none()


async def claimer_contact(session: AsyncSession, claimer: Claimer) -> Contact:
    """Where a claimer is reached privately: their staff identity, or their latest private chat."""
    if claimer.staff_id is not None:
        staff = await session.get(Staff, claimer.staff_id)
        assert staff is not None
        return await staff_contact(session, staff)
    if claimer.resident_id is not None:
        identity = (await session.execute(
            select(Identity.channel, Identity.private_chat_id, Identity.user_id)
            .where(Identity.resident_id == claimer.resident_id)
            .order_by(Identity.private_chat_id.is_(None), Identity.last_seen_at.desc().nulls_last(), Identity.id)
            .limit(1))).first()
        if identity is not None:
            return Contact(identity.channel, identity.private_chat_id or identity.user_id, identity.user_id,
                           claimer.name)
    return Contact(UNBOUND_CHANNEL, f"claimer:{claimer.id}", f"claimer:{claimer.id}", claimer.name)


async def notify_claimer(session: AsyncSession, claimer: Claimer, text: str, *, key: str, now: datetime,
                         buttons: list[list[str]] | None = None) -> None:
    contact = await claimer_contact(session, claimer)
    await enqueue(session, Notice(dedupe_key=f"{key}:claimer:{claimer.id}", channel=contact.channel,
                                  chat_id=contact.chat_id, recipient=f"claimer:{claimer.id}", text=text,
                                  extras={"buttons": buttons or []}), now=now)


async def notify_staff_member(session: AsyncSession, staff: Staff, text: str, *, key: str, now: datetime,
                              buttons: list[list[str]] | None = None) -> None:
    contact = await staff_contact(session, staff)
    await enqueue(session, Notice(dedupe_key=f"{key}:staff:{staff.id}", channel=contact.channel,
                                  chat_id=contact.chat_id, recipient=f"staff:{staff.code}", text=text,
                                  extras={"buttons": buttons or []}), now=now)


async def community_managers(session: AsyncSession, community_id: int) -> list[Staff]:
    """The on-duty community staff and secretaries of a community, who review its wishes and registrations."""
    return list((await session.scalars(select(Staff).where(
        Staff.unit_id == community_id, Staff.on_duty.is_(True),
        Staff.role.in_([StaffRole.COMMUNITY_STAFF, StaffRole.COMMUNITY_SECRETARY])).order_by(Staff.id))).unique())


async def notify_managers(session: AsyncSession, community_id: int, text: str, *, key: str, now: datetime,
                          buttons: list[list[str]] | None = None) -> None:
    for staff in await community_managers(session, community_id):
        await notify_staff_member(session, staff, text, key=key, now=now, buttons=buttons)


async def notify_wisher(session: AsyncSession, wish: Wish, text: str, *, key: str, now: datetime,
                        buttons: list[list[str]] | None = None) -> None:
    """Tells the wisher privately; without a private chat, in their group by number only, never by name."""
    identity = (await session.execute(
        select(Identity.user_id, Identity.private_chat_id)
        .where(Identity.resident_id == wish.wisher_id, Identity.channel == wish.source_channel)
        .order_by(Identity.id).limit(1))).first()
    if identity is not None and identity.private_chat_id:
        channel, chat_id = wish.source_channel, identity.private_chat_id
    elif identity is not None:
        channel, chat_id = wish.source_channel, wish.source_chat_id
    else:
        channel, chat_id = UNBOUND_CHANNEL, f"resident:{wish.wisher_id}"
    await enqueue(session, Notice(dedupe_key=f"{key}:resident:{wish.wisher_id}", channel=channel, chat_id=chat_id,
                                  recipient=f"resident:{wish.wisher_id}", text=text,
                                  extras={"buttons": buttons or []}), now=now)
