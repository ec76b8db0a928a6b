"""Delivery: drains each enabled channel's outbox rows on a tick, within the platform's rate limits.

Each channel's sender gets a pacer: at most `rate` sends in any one second (a sliding window, so a burst
never exceeds what the platform counts), and at most `chat_per_minute` to one chat in any minute. A row
whose chat is at its limit goes back to the queue unsent, without counting an attempt, due when the chat
has room. Rates are per service instance: with several instances, divide the platform's limit among them
(a 429 is still handled: the row is retried after the platform's retry-after).

Exactly-once: a row is claimed under a lease and marked by the same claim (bot/delivery/outbox.py). A sender killed
between the platform's accepting a message and our marking it sent leaves that one row to be sent again
after the lease: where the platform cannot deduplicate, at most the messages in flight may repeat (one per
concurrent send: `concurrency` chats are served at once, 4 by default).

Replies also take a fast path, off the update's own path (ReplySends, deliver_claimed, Marks). Once the
transaction that wrote a message's reply rows has committed, the reply is durable: claimed by this process under
a lease, sent again by any instance's runner if this process dies or the send fails. So the update's handling (and
a webhook's HTTP answer) need not wait for the send, nor for the transaction that marks it sent: the rows go out
in the background at once, each destination chat's rows in the order they were written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.delivery.outbox import ChannelSender, SendResult, claim_due, record_results, release
from models import Outbox, SendState

log = logging.getLogger(__name__)

SEND_TIMEOUT = 30.0
LEASE_MARGIN = timedelta(seconds=10)  # a row whose lease is this close to running out is handed back unsent
Sleep = Callable[[float], Awaitable[None]]
Deliver = Callable[[Sequence[Outbox]], Awaitable[object]]


class SlidingWindow:
    """At most `limit` events in any `window` seconds of a monotonic clock."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits; 0 when it fits now."""
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            return 0.0
        return self._times[0] + self.window - now

    def record(self, now: float) -> None:
        self._times.append(now)

    def idle(self, now: float) -> bool:
        """True when no event lies inside the window: the window is then as good as a new one."""
        self.wait(now)
        return not self._times


IDLE_SWEEP_FROM = 1024  # the pacer forgets idle chats' windows once it tracks this many (and twice the busy ones)


@dataclass
class Pacer:
    """A channel's limits: sends per second overall, sends per minute to one group chat, and sends per second to
    one private chat (Telegram: about one a second; a group only twenty a minute)."""

    rate: float | None = None
    chat_per_minute: int | None = None
    private_per_second: float | None = None
    is_group: Callable[[str], bool] = lambda chat_id: True
    monotonic: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    # a sliver of slack so that the platform, which counts arrivals, never sees one too many in its second
    window: float = 1.02
    _overall: SlidingWindow | None = field(init=False, default=None)
    _chats: dict[str, SlidingWindow] = field(init=False, default_factory=dict)
    _sweep_at: int = field(init=False, default=IDLE_SWEEP_FROM)
    _lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        if self.rate:
            # whole-number rates count sends per window; fractional ones space single sends out
            per_window = max(1, int(self.rate)) if self.rate >= 1 else 1
            self._overall = SlidingWindow(per_window, self.window * per_window / self.rate)

    def chat_wait(self, chat_id: str) -> float:
        """Seconds before this chat may receive another message."""
        chat = self._chat(chat_id)
        return chat.wait(self.monotonic()) if chat is not None else 0.0

    def _chat(self, chat_id: str) -> SlidingWindow | None:
        if (window := self._chats.get(chat_id)) is not None:
            return window
        if len(self._chats) >= self._sweep_at:  # every chat ever sent to would otherwise stay: ~1 KB each
            now = self.monotonic()
            self._chats = {chat: kept for chat, kept in self._chats.items() if not kept.idle(now)}
            self._sweep_at = max(IDLE_SWEEP_FROM, 2 * len(self._chats))
        if self.is_group(chat_id):
            if not self.chat_per_minute:
                return None
            window = SlidingWindow(self.chat_per_minute, 60.0 * self.window)
        elif self.private_per_second:
            window = SlidingWindow(1, self.window / self.private_per_second)
        elif self.chat_per_minute:  # no private rule: private chats keep the group limit
            window = SlidingWindow(self.chat_per_minute, 60.0 * self.window)
        else:
            return None
        return self._chats.setdefault(chat_id, window)

    async def acquire(self, chat_id: str) -> float:
        """Reserves one send to the chat once the overall rate allows it and returns 0; or, when the chat is at
        its own limit, reserves nothing and returns the seconds it must wait."""
        async with self._lock:
            if (wait := self.chat_wait(chat_id)) > 0:
                return wait
            if self._overall is not None:
                while (delay := self._overall.wait(self.monotonic())) > 0:
                    await self.sleep(delay)
                self._overall.record(self.monotonic())
            if (chat := self._chat(chat_id)) is not None:
                chat.record(self.monotonic())
            return 0.0

    @classmethod
    def for_sender(cls, settings: Any, sender: ChannelSender) -> Pacer:
        """The sender's channel limits from the settings; the sender says which of its chats are groups."""
        channel = sender.channel
        return cls(settings.delivery_rates.get(channel), settings.delivery_chat_per_minute.get(channel),
                   settings.delivery_private_per_second.get(channel),
                   getattr(sender, "is_group_chat", lambda chat_id: True))


@dataclass
class DeliveryTally:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead


async def send_one(sender: ChannelSender, row: Outbox, *, send_timeout: float = SEND_TIMEOUT) -> SendResult:
    """One send, with a time limit; a sender that raises counts as a transient failure, never as a crash. A sender
    given its bot's shared budget (bot/delivery/budget.py) waits for its slot first."""
    try:
        if (budget := getattr(sender, "budget", None)) is not None:
            await budget.take(1 + len((row.extras or {}).get("media") or ()))
        async with asyncio.timeout(send_timeout):  # not wait_for: on Python 3.11 that runs the send in a task of its own
            return await sender.send(row)
    except TimeoutError:
        return SendResult(ok=False, error=f"timeout after {send_timeout:g}s")
    except Exception as exc:
        log.exception("sender %s raised on outbox row %s", sender.channel, row.id)
        return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession], sender: ChannelSender, clock: Clock, pacer: Pacer | None = None, *,
    batch: int = 50, send_timeout: float = SEND_TIMEOUT, concurrency: int = 4, stopping: asyncio.Event | None = None,
) -> DeliveryTally:
    """Sends every due row of the sender's channel within the pacer's limits: chats in parallel (up to
    `concurrency` sends in flight), each chat's rows in order."""
    pacer = pacer or Pacer()
    tally = DeliveryTally()
    slots = asyncio.Semaphore(concurrency)
    marks = Marks(sessions, clock)  # the concurrent sends' results marked together, as on the reply fast path

    async def chat_rows(rows: list[Outbox]) -> None:
        for row in rows:
            async with slots:
                if stopping is not None and stopping.is_set():  # shutdown: hand it back for the next process
                    await release(sessions, row, due_at=clock.now())
                    tally.deferred += 1
                    continue
                await _deliver_row(sessions, sender, clock, pacer, marks, row, tally, send_timeout)

    while rows := await claim_due(sessions, sender.channel, now=clock.now(), limit=batch):
        by_chat: dict[str, list[Outbox]] = {}
        for row in rows:
            by_chat.setdefault(row.chat_id, []).append(row)
        await asyncio.gather(*(chat_rows(chat) for chat in by_chat.values()))
        if len(rows) < batch or (stopping is not None and stopping.is_set()):
            break
    return tally


async def _deliver_row(sessions: async_sessionmaker[AsyncSession], sender: ChannelSender, clock: Clock, pacer: Pacer,
                       marks: Marks, row: Outbox, tally: DeliveryTally, send_timeout: float) -> None:
    """Sends one claimed row, or hands it back when its chat is at its limit or its lease nearly ran out."""
    now = clock.now()
    if row.lease_until is not None and now > row.lease_until - LEASE_MARGIN:
        await release(sessions, row, due_at=now)
        tally.deferred += 1
        return
    chat_wait = await pacer.acquire(row.chat_id)
    if chat_wait > 0:
        await release(sessions, row, due_at=now + timedelta(seconds=chat_wait))
        tally.deferred += 1
        return
    result = await send_one(sender, row, send_timeout=send_timeout)
    [state] = await marks.mark([(row, result)])
    if state is SendState.SENT:
        tally.sent += 1
    elif state is SendState.DEAD:
        tally.dead += 1
    else:
        tally.failed += 1


async def drain(sessions: async_sessionmaker[AsyncSession], sender: ChannelSender, clock: Clock,
                pacer: Pacer | None = None, *, batch: int = 50) -> int:
    """Delivers what is due now (deliver_due) and returns how many rows were sent."""
    return (await deliver_due(sessions, sender, clock, pacer, batch=batch)).sent


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


class Marks:
    """Group commit of send results: what many concurrent fast-path sends report is marked in one transaction,
    each caller waiting for the transaction that holds its rows (so a mark is never merely promised)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self._queued: list[tuple[Sequence[tuple[Outbox, SendResult]], asyncio.Future[list[SendState]]]] = []
        self._flushing = False

    async def mark(self, outcomes: Sequence[tuple[Outbox, SendResult]]) -> list[SendState]:
        future: asyncio.Future[list[SendState]] = asyncio.get_running_loop().create_future()
        self._queued.append((outcomes, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                try:
                    states = await record_results(self.sessions, [o for outcomes, _ in batch for o in outcomes],
                                                  now=self.clock.now())
                except Exception as exc:  # the callers see it; their rows are sent again after the lease
                    for _, future in batch:
                        future.set_exception(exc)
                    continue
                for outcomes, future in batch:
                    future.set_result(states[:len(outcomes)])
                    states = states[len(outcomes):]
        finally:
            self._flushing = False


async def deliver_claimed(sessions: async_sessionmaker[AsyncSession], sender: ChannelSender, rows: Sequence[Outbox],
                          clock: Clock, *, send_timeout: float = SEND_TIMEOUT,
                          marks: Marks | None = None) -> list[SendState]:
    """The fast path of durable replies: sends rows the caller already claimed, in order, and marks them (with
    `marks`, in a transaction shared with other sends). A row that fails is left to the runner, as any notice."""
    outcomes: list[tuple[Outbox, SendResult]] = []
    for row in rows:
        outcomes.append((row, await send_one(sender, row, send_timeout=send_timeout)))
    if not outcomes:
        return []
    if marks is not None:
        return await marks.mark(outcomes)
    return await record_results(sessions, outcomes, now=clock.now())


class DeliveryRunner:
    """One task per channel sender: deliver what is due, then wait a tick; stopped cleanly on shutdown."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], senders: Sequence[ChannelSender], clock: Clock,
                 *, tick: float = 1.0, rates: dict[str, float] | None = None,
                 chat_per_minute: dict[str, int] | None = None, pacers: dict[str, Pacer] | None = None,
                 send_timeout: float = SEND_TIMEOUT) -> None:
        self.sessions = sessions
        self.clock = clock
        self.tick = tick
        self.send_timeout = send_timeout
        self.pacers = {s.channel: Pacer((rates or {}).get(s.channel), (chat_per_minute or {}).get(s.channel))
                       for s in senders} | (pacers or {})
        self.senders = list(senders)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Starts a delivery loop per sender on the running event loop."""
        self._stop.clear()
        self._tasks = [asyncio.create_task(self._loop(s), name=f"delivery:{s.channel}") for s in self.senders]

    async def stop(self, grace: float = 10.0) -> None:
        """Stops the loops: sends in flight finish (for at most `grace` seconds, then they are cancelled and their
        rows go again after the lease); rows claimed and not yet sent are handed back at once."""
        self._stop.set()
        _, late = await asyncio.wait(self._tasks, timeout=grace) if self._tasks else (set(), set())
        for task in late:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _loop(self, sender: ChannelSender) -> None:
        while not self._stop.is_set():
            try:
                tally = await deliver_due(self.sessions, sender, self.clock, self.pacers[sender.channel],
                                          send_timeout=self.send_timeout, stopping=self._stop)
            except Exception:  # the database may be away for a moment; the next tick tries again
                log.exception("delivery on %s failed", sender.channel)
                tally = DeliveryTally()
            if tally.handled == 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), self.tick)
                except TimeoutError:
                    pass
