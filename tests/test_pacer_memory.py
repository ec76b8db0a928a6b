"""The delivery pacer forgets chats that have gone quiet (found by bench/soak_serve.py: ~1 KB kept per chat ever
sent to, for the life of the process) and keeps every limit of the chats that have not."""

from __future__ import annotations

import gc
import tracemalloc

from bot.delivery.runner import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def telegram_pacer(clock: Clock) -> Pacer:
    return Pacer(rate=None, chat_per_minute=20, private_per_second=1.0, is_group=lambda chat: chat.startswith("-"),
                 monotonic=clock)


async def test_twenty_thousand_residents_told_once_each_cost_the_pacer_no_lasting_memory():
    clock = Clock()
    pacer = telegram_pacer(clock)
    for n in range(2000):  # warm up: the dict and the windows of a first crowd
        clock.now += 5.0
        assert await pacer.acquire(str(100_000 + n)) == 0.0
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):
            clock.now += 5.0  # each resident's one-second window has long passed when the next is told
            assert await pacer.acquire(str(200_000 + n)) == 0.0
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 3 * 1024 * 1024, f"{grown / 1024 / 1024:.1f} MiB kept for chats that went quiet"


async def test_chats_still_inside_their_window_keep_their_limits_through_the_forgetting():
    clock = Clock()
    pacer = telegram_pacer(clock)
    group = "-1001"
    for _ in range(20):  # the group's twenty a minute, used up
        assert await pacer.acquire(group) == 0.0
    assert await pacer.acquire("777") == 0.0  # a private chat told just now
    for n in range(5000):  # thousands of other chats told within the same second: the pacer sweeps meanwhile
        await pacer.acquire(str(300_000 + n))
    assert await pacer.acquire(group) > 50.0  # still about a minute to wait
    assert 0.0 < await pacer.acquire("777") <= 1.02
    clock.now += 1.1
    assert await pacer.acquire("777") == 0.0
    clock.now += 62.0
    assert await pacer.acquire(group) == 0.0
