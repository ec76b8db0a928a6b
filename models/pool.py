"""A connection pool that hands connections out in the order they were asked for.

SQLAlchemy's asyncio pool queues on an asyncio.Queue, which lets a newcomer take a connection that was just put
back for a waiter; the waiter then goes to the back of the line. With SQLite's single connection and a dozen
requests waiting for it, that made some requests wait ten times the median (p99 100 ms against a p50 of
10 ms in bench/wecom_callback.py). Here a returned connection goes straight to the longest-waiting request.
It builds on SQLAlchemy's private queue protocol, pinned in pyproject.toml and listed in models/db.py
POOL_INTERNALS, which create_engine checks before using this pool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util.concurrency import await_
from sqlalchemy.util.queue import Empty, Full, QueueCommon


class FairQueue(QueueCommon[Any]):
    """The pool's queue of idle connections, with waiters served first come, first served."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._idle: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()

    def empty(self) -> bool:
        return not self._idle

    def full(self) -> bool:
        return bool(self.maxsize) and len(self._idle) >= self.maxsize

    def qsize(self) -> int:
        return len(self._idle)

    def put_nowait(self, item: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # one that timed out or was cancelled is passed over
                waiter.set_result(item)
                return
        if self.full():
            raise Full()
        self._idle.append(item)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.put_nowait(item)  # the pool never returns more connections than it made

    def get_nowait(self) -> Any:
        if not self._idle:
            raise Empty()
        return self._idle.pop() if self.use_lifo else self._idle.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if self._idle or not block:  # idle connections exist only while nobody waits
            return self.get_nowait()
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await_(_wait(waiter, timeout))
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                # Handed a connection just as this request gave up: pass it on rather than lose it.
                self.put_nowait(waiter.result())
            else:
                waiter.cancel()
            if isinstance(error, TimeoutError):
                raise Empty() from error
            raise


async def _wait(waiter: asyncio.Future[Any], seconds: float | None) -> Any:
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that arrives as the
    # connection does (cpython gh-86296), and the cancelled request would then hold it.
    async with asyncio.timeout(seconds):
        return await waiter


class FairAsyncPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio queue pool on a FairQueue."""

    _queue_class = FairQueue
    _sqla_logger_namespace = "sqlalchemy.pool.impl.FairAsyncPool"  # quiet unless SQLAlchemy's logging is turned up
