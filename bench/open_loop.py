"""Open-loop load for the channel benches (`--rate`): work is started at a fixed offered rate whatever the service
answers, as residents arriving independently would, so a slow answer shows as latency instead of slowing the load
down (a closed loop of N residents each waiting for the bot holds mean latency at N / throughput by Little's law:
its p99 measures the loop, not the service). Latencies of work started late by the load's own process count from
when it was due, not from when it went out (no coordinated omission); how late the load itself ran is reported
beside them, so an overloaded load process is not mistaken for a slow service."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def at_rate(count: int, interval: float, start: Callable[[int, float], Awaitable[Any]]) -> tuple[list[Any], float]:
    """Runs `start(n, due)` for n in range(count), the n-th due `n * interval` seconds after the first, each as its
    own task without waiting for the earlier ones (one due while the loop was busy starts at once: the rate is held
    on average); returns their results (an exception as itself) and the first one's due time."""
    began = time.perf_counter()
    tasks: list[asyncio.Task[Any]] = []
    for n in range(count):
        due = began + n * interval
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(start(n, due)))
    return list(await asyncio.gather(*tasks, return_exceptions=True)), began


def percentile(sorted_values: list[float], share: float) -> float:
    """The value below which `share` of the sorted values lie (the nearest rank)."""
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * share))]


def summary(offered_per_s: float, done: int, began: float, ended: float, latencies: list[float], lags: list[float],
            *, prefix: str = "") -> dict[str, Any]:
    """Offered and achieved rates (achieved: `done` over the time from the first start to the last answer), the
    latencies' p50/p99 and the load process's own lateness, in ms."""
    latencies, lags = sorted(latencies), sorted(lags)
    return {
        f"{prefix}offered_per_s": round(offered_per_s, 1),
        f"{prefix}achieved_per_s": round(done / (ended - began), 1) if ended > began else None,
        f"{prefix}p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        f"{prefix}p99_ms": round(percentile(latencies, 0.99) * 1000, 2) if latencies else None,
        f"{prefix}max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        f"{prefix}load_late_p99_ms": round(percentile(lags, 0.99) * 1000, 2) if lags else None,
    }
