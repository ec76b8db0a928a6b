"""One send budget per bot, shared by every instance through the database.

Telegram allows a bot about 30 messages a second, whatever number of processes send for it. Each send takes the
next slot of the bot's budget: one UPDATE moves `send_budget.next_at` on by one interval (window / rate) and
returns how long this sender must wait for the slot it got, both measured on the database's clock, so instances
whose clocks disagree still space their sends evenly. No window of `window` seconds ever holds more than `rate`
sends from all instances together. One round trip per send; on for PostgreSQL by default (on SQLite, one process
sends, and its own pacer is the whole budget).
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.outbox import ChannelSender
from models import SendBudget
from models.db import PerDialect

_CREATE = PerDialect(lambda insert: insert(SendBudget.__table__).on_conflict_do_nothing(index_elements=["bot"]))
_NOW = {"postgresql": "extract(epoch from clock_timestamp())", "sqlite": "((julianday('now') - 2440587.5) * 86400.0)"}
_TAKE = {
    "postgresql": text(
        f"WITH t AS (SELECT {_NOW['postgresql']}::float8 AS now) "
        "UPDATE send_budget SET next_at = GREATEST(send_budget.next_at, t.now) + :interval FROM t "
        "WHERE send_budget.bot = :bot RETURNING send_budget.next_at - :interval - t.now"),
    "sqlite": text(
        f"UPDATE send_budget SET next_at = max(next_at, {_NOW['sqlite']}) + :interval "
        f"WHERE bot = :bot RETURNING next_at - :interval - {_NOW['sqlite']}"),
}


class SharedBudget:
    """`rate` sends per `window` seconds for one bot, across every instance on the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], bot: str, rate: float, *,
                 window: float = 1.02) -> None:
        self.sessions = sessions
        self.bot = bot
        self.interval = window / rate
        self._created = False
        self._lock = asyncio.Lock()

    async def take(self, count: int = 1) -> float:
        """Waits until this sender's slot for `count` messages (a notice with photos sends several); returns the
        seconds waited."""
        async with self._lock:  # one reservation in flight per instance: its slots come in order
            async with self.sessions.begin() as session:
                if not self._created:
                    await session.execute(_CREATE(session), {"bot": self.bot, "next_at": 0.0})
                    self._created = True
                wait = (await session.execute(_TAKE[session.bind.dialect.name],
                                              {"bot": self.bot, "interval": self.interval * count})).scalar_one()
        if wait > 0:
            await asyncio.sleep(wait)
        return max(0.0, wait)


def shares_budget(settings: Any) -> bool:
    """Whether senders take from the shared budget: the setting, else on for PostgreSQL."""
    if settings.delivery_shared_budget is not None:
        return bool(settings.delivery_shared_budget)
    return not settings.is_sqlite


def attach_budget(sender: ChannelSender, sessions: async_sessionmaker[AsyncSession], settings: Any) -> None:
    """Gives the sender its bot's shared budget when the settings give the channel a rate (send_one takes it)."""
    rate = settings.delivery_rates.get(sender.channel)
    if rate and shares_budget(settings):
        sender.budget = SharedBudget(sessions, budget_key(sender, settings), rate)  # type: ignore[attr-defined]


def budget_key(sender: ChannelSender, settings: Any) -> str:
    """The bot a budget belongs to: Telegram's bot id (the token's public part) when known, else the channel."""
    if sender.channel == "telegram" and settings.telegram_token:
        return f"telegram:{settings.telegram_token.split(':', 1)[0]}"
    return sender.channel
