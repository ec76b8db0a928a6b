"""Per-source limits on the channel webhooks: requests per minute from one address and into one webhook path.

The per-sender limit (bot/pipeline/limits.py) counts what one platform user sends; these count what arrives
before any body is read, so a flood from one address, or into one path, is refused cheaply: 429 with a one-line
body and Retry-After (a platform retries later; nothing is written). Counted per instance, in memory; both are off
(0) by default: the platforms' own servers send from a few addresses, so set them above a busy minute's traffic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from aiohttp import web

from bot.clock import Clock

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WINDOW = 60.0
CAPACITY = 100_000  # addresses remembered at most; past it the counts start again (a spray of addresses)


@dataclass
class MinuteCounter:
    """At most `limit` events per key in any minute."""

    limit: int
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def wait(self, key: str, now: float) -> float:
        """0 when the event is admitted (and counted); else the seconds until it would be."""
        if len(self._seen) > CAPACITY:
            self._seen.clear()
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            return 0.0
        return times[0] + WINDOW - now


def source_limits(paths: Collection[str], clock: Clock, *, per_source: int, per_path: int) -> web.middleware | None:
    """The middleware that refuses webhook requests over either limit; None when both are off."""
    if not (per_source or per_path) or not paths:
        return None
    webhooks = frozenset(paths)
    sources = MinuteCounter(per_source) if per_source else None
    by_path = MinuteCounter(per_path) if per_path else None

    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        path = resource.canonical if resource is not None else request.path
        if request.method != "POST" or path not in webhooks:
            return await handler(request)
        now = clock.now().timestamp()
        if sources is not None and (wait := sources.wait(request.remote or "?", now)):
            return _refuse("too many requests from this address", wait)
        if by_path is not None and (wait := by_path.wait(path, now)):
            return _refuse("too many requests to this webhook", wait)
        return await handler(request)

    return limit


def _refuse(reason: str, wait: float) -> web.Response:
    seconds = max(1, int(wait + 0.999))
    return web.Response(status=429, text=f"{reason}; retry after {seconds} s\n", headers={"Retry-After": str(seconds)})
