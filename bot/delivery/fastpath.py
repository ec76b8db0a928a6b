"""The fast path of durable replies, off the update's own path.

Once the transaction that wrote a message's reply rows has committed, the reply is durable: claimed by this
process under a lease, sent again by any instance's runner if this process dies or the send fails. So the
update's handling (and a webhook's HTTP answer) need not wait for the send, nor for the transaction that marks
it sent: the rows go out in the background at once, each destination chat's rows in the order they were written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

from models import Outbox

log = logging.getLogger(__name__)

Deliver = Callable[[Sequence[Outbox]], Awaitable[object]]


class ReplySends:
    """Background sends of claimed reply rows, in order per destination chat; `settled` waits for those in flight."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._tails: dict[str, asyncio.Task[None]] = {}  # per chat: the last send started, which the next one awaits
        self._running: set[asyncio.Task[None]] = set()

    def start(self, rows: Sequence[Outbox]) -> None:
        """Starts sending the rows now, after any earlier rows to the same chats."""
        if not rows:
            return
        chats = list(dict.fromkeys(row.chat_id for row in rows))
        before = [tail for chat in chats if (tail := self._tails.get(chat)) is not None]
        task = asyncio.get_running_loop().create_task(self._send(list(rows), before))
        for chat in chats:
            self._tails[chat] = task
        self._running.add(task)
        task.add_done_callback(partial(self._done, chats))

    async def _send(self, rows: list[Outbox], before: list[asyncio.Task[None]]) -> None:
        if before:
            await asyncio.wait(before)
        try:
            await self._deliver(rows)
        except Exception:  # the rows stay claimed: the runner sends them once the lease runs out
            log.exception("fast-path send of outbox rows %s failed", [row.id for row in rows])

    def _done(self, chats: list[str], task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        for chat in chats:
            if self._tails.get(chat) is task:
                del self._tails[chat]

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def settled(self, within: float | None = None) -> bool:
        """Waits until no send is in flight (at most `within` seconds); True when none is left."""
        deadline = None if within is None else time.monotonic() + within
        while self._running:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(set(self._running), timeout=left)
        return True

    async def cancel(self) -> None:
        """Stops what is still in flight; its rows stay claimed and go out after the lease (any instance)."""
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
