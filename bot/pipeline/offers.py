"""The ledger side of group offers: which message was offered, one offer per sender and group in a window, and
dropping the words of an offer nobody took."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models import InboundMessage, InboundStatus
from models.db import Prepared, PreparedQuery
from models.messaging import offered_filter

_LEDGER = InboundMessage.__table__


# Read through ix_inbound_message_offered: the ledger keeps a row for every message a group ever carried.
OFFERED_SINCE_QUERY = select(func.count()).select_from(_LEDGER).where(
    _LEDGER.c.channel == bindparam("channel"), _LEDGER.c.chat_id == bindparam("chat_id"),
    _LEDGER.c.sender_id == bindparam("sender_id"), offered_filter(), _LEDGER.c.received_at >= bindparam("since"))
# Prepared, as the rest of a group line's statements are: through Session.execute each took an offer's transaction
# out of the group commit (see bot/cases/lifecycle.py's duplicate search).
_OFFERED_SINCE = PreparedQuery(OFFERED_SINCE_QUERY, ("channel", "chat_id", "sender_id", "since"))
_THIS_MESSAGE = (_LEDGER.c.channel == bindparam("of_channel"), _LEDGER.c.platform_message_id == bindparam("message_id"))
_MARK_OFFERED = Prepared(lambda insert: update(_LEDGER).where(*_THIS_MESSAGE).values(status=InboundStatus.OFFERED),
                         ("of_channel", "message_id"))
_TAKEN = Prepared(lambda insert: update(_LEDGER).where(*_THIS_MESSAGE).values(status=InboundStatus.HANDLED),
                  ("of_channel", "message_id"))
_DECLINED = Prepared(lambda insert: update(_LEDGER).where(*_THIS_MESSAGE).values(text=None),
                     ("of_channel", "message_id"))


async def offered_recently(session: AsyncSession, channel: str, chat_id: str, sender_id: str, *, since: datetime) -> bool:
    """Whether this sender was already offered to file something in this chat since `since`."""
    [(count,)] = await _OFFERED_SINCE.execute(session, {"channel": channel, "chat_id": chat_id, "sender_id": sender_id,
                                                       "since": since})
    return bool(count)


async def mark_offered(session: AsyncSession, channel: str, message_id: str) -> None:
    """The message was offered: its words are kept until the offer is taken, declined or lapses."""
    await _MARK_OFFERED.execute(session, {"of_channel": channel, "message_id": message_id})


async def settle_offer(session: AsyncSession, channel: str, message_id: str, *, taken: bool) -> None:
    """Taken: the row is an ordinary handled message, words kept; declined: its words are dropped now."""
    await (_TAKEN if taken else _DECLINED).execute(session, {"of_channel": channel, "message_id": message_id})


async def lapse_offers(sessions: async_sessionmaker[AsyncSession], now: datetime, ttl: timedelta) -> int:
    """Drops the words of offers nobody took within `ttl`, as chatter's are never kept; returns how many."""
    async with sessions.begin() as session:
        result = await session.execute(update(_LEDGER).where(
            offered_filter(), _LEDGER.c.text.is_not(None), _LEDGER.c.received_at < now - ttl,
        ).values(text=None))
    return result.rowcount or 0
