"""Binding a resident group chat to a grid unit with `/bind <unit code>`, by staff who govern that unit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.grid.directory import GridDirectory
from models import ChatGroup, Identity, Staff, StaffRole
from models.db import PreparedQuery, dialect_insert

BINDING_ROLES = (StaffRole.COMMUNITY_SECRETARY, StaffRole.COMMUNITY_STAFF, StaffRole.STREET_OFFICER)
# Read for a report placed in a group (or offered there): prepared, so that its transaction stays in the group commit.
_GROUP_UNIT = PreparedQuery(select(ChatGroup.unit_id).where(
    ChatGroup.channel == bindparam("channel"), ChatGroup.chat_id == bindparam("chat_id")), ("channel", "chat_id"))


async def bound_unit_id(session: AsyncSession, channel: str, chat_id: str) -> int | None:
    """The id of the grid unit a group chat is bound to, or None."""
    row = await _GROUP_UNIT.first_row(session, {"channel": channel, "chat_id": chat_id})
    return None if row is None else row.unit_id


async def bind_group(
    session: AsyncSession, directory: GridDirectory, *, channel: str, chat_id: str, title: str, user_id: str,
    unit_ref: str, now: datetime,
) -> str:
    """Binds the group to the unit when the sender may; returns the answer to show in the group."""
    del now  # kept in the signature so every channel calls it the same way; binding has no timestamp yet
    staff = await session.scalar(select(Staff).join(Identity, Identity.staff_id == Staff.id).where(
        Identity.channel == channel, Identity.user_id == user_id))
    if staff is None or staff.role not in BINDING_ROLES:
        return "只有社区书记、社区工作人员或街道干部可以绑定群。请先通过工作人员邀请链接完成身份绑定。"
    if not unit_ref.strip():
        return "请写明网格或社区编号，例如：/bind JT-TTC-01"
    unit = directory.resolve(unit_ref)
    if unit is None:
        return f"没有找到编号为「{unit_ref.strip()[:32]}」的网格或社区，请核对。"
    if not directory.unit(staff.unit_id).contains(unit):
        return f"{unit.name}不在您负责的范围内，不能绑定。"
    values = {"title": title[:128], "unit_id": unit.id}
    statement = dialect_insert(session)(ChatGroup).values(channel=channel, chat_id=chat_id, extras={}, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["channel", "chat_id"], set_=values))
    return f"本群已绑定到{unit.name}（{unit.code}）。居民在群里发「#随手拍 问题」即可反映问题。"
