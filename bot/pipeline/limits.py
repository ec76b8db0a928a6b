"""The per-sender limit: how many messages addressed to the bot one platform user may send in a minute."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

_MINUTE = timedelta(minutes=1)
TOO_FAST = "您发送得太快了，这一分钟内的消息已记录但暂不处理，请稍等一分钟后再发。"


class SenderLimit:
    """At most `per_minute` messages addressed to the bot from one sender in any minute, in this process (0: no limit)."""

    def __init__(self, per_minute: int, capacity: int = 100_000) -> None:
        self.per_minute = per_minute
        self.capacity = capacity
        self._seen: dict[str, deque[datetime]] = {}
        self._told: dict[str, datetime] = {}

    def admit(self, sender: str, now: datetime) -> bool | None:
        """None: go ahead (and it is counted). Else refused: True the first time in the window (say why), False after."""
        if not self.per_minute:
            return None
        if len(self._seen) > self.capacity:
            self._seen.clear()
            self._told.clear()
        times = self._seen.setdefault(sender, deque())
        while times and now - times[0] >= _MINUTE:
            times.popleft()
        if len(times) < self.per_minute:
            times.append(now)
            return None
        told = self._told.get(sender)
        if told is not None and now - told < _MINUTE:
            return False
        self._told[sender] = now
        return True
