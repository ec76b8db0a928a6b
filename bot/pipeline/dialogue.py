"""Conversation state per (channel, chat, user), stored in the database so a restart loses nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Conversation
from models.db import Prepared


@dataclass
class DialogueState:
    """The open flow and step of one user in one chat, with what they have said so far."""

    flow: str | None = None
    step: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    expires_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.flow is not None


_CONVERSATION = Conversation.__table__
# Built once: this runs for every message, chatter included.
_STATE_OF_USER = select(
    _CONVERSATION.c.flow, _CONVERSATION.c.step, _CONVERSATION.c.state, _CONVERSATION.c.expires_at,
).where(
    _CONVERSATION.c.channel == bindparam("channel"), _CONVERSATION.c.chat_id == bindparam("chat_id"),
    _CONVERSATION.c.user_id == bindparam("user_id"),
)


def state_of(row: Any, now: datetime) -> DialogueState:
    """The dialogue in a row carrying flow, step, state and expires_at (None: no row); expired reads as closed."""
    if row is None or row.flow is None or (row.expires_at is not None and row.expires_at <= now):
        return DialogueState()
    return DialogueState(row.flow, row.step, dict(row.state or {}), row.expires_at)


async def load_state(session: AsyncSession, channel: str, chat_id: str, user_id: str, *, now: datetime) -> DialogueState:
    """The user's state in that chat; an expired one reads as closed."""
    row = (await session.execute(_STATE_OF_USER, {"channel": channel, "chat_id": chat_id, "user_id": user_id})).first()
    return state_of(row, now)


_CHANGED = ("flow", "step", "state", "expires_at", "updated_at")


def _upsert(insert: Any) -> Any:
    statement = insert(_CONVERSATION)
    return statement.on_conflict_do_update(index_elements=["channel", "chat_id", "user_id"],
                                           set_={name: statement.excluded[name] for name in _CHANGED})


_SAVE_STATE = Prepared(_upsert, ("channel", "chat_id", "user_id", "flow", "step", "state", "expires_at", "updated_at"))


async def save_state(
    session: AsyncSession, channel: str, chat_id: str, user_id: str, state: DialogueState, *, now: datetime
) -> None:
    """Writes the user's state in one upsert, creating the row on first use."""
    await _SAVE_STATE.execute_later(session, {
        "channel": channel, "chat_id": chat_id, "user_id": user_id, "flow": state.flow, "step": state.step,
        "state": state.values if state.flow else {}, "expires_at": state.expires_at if state.flow else None,
        "updated_at": now,
    })


async def offer_rating(
    session: AsyncSession, channel: str, chat_id: str, user_id: str, case_id: int, *, now: datetime,
    ttl: timedelta = timedelta(days=7),
) -> None:
    """Opens the rating step for a resident unless they are in the middle of another dialogue there."""
    current = await load_state(session, channel, chat_id, user_id, now=now)
    if current.is_open and current.flow != "rating":
        return
    await save_state(session, channel, chat_id, user_id,
                     DialogueState("rating", "choose", {"case_id": case_id}, now + ttl), now=now)
