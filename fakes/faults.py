"""One fault plan for every fake platform: server errors, rate limits, slow and late answers, dropped connections.

A plan answers, for each call a fake receives, whether that call meets a fault and which. The draw is seeded and
keyed by what the call is (its method and content) and how many times that same call came before, not by the
order calls arrive in: concurrent senders meet the same faults on every run. A scripted sequence, consumed in
call order, comes before the random draw. Each fake renders a fault in its platform's words (Telegram: HTTP 429
with retry_after; WeChat and WeCom: errcode 45009 in a 200).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Fault(StrEnum):
    SERVER_ERROR = "5xx"  # a 502; nothing delivered
    RATE_LIMITED = "rate_limited"  # Telegram 429 with retry_after, WeChat/WeCom errcode 45009; nothing delivered
    SLOW = "slow"  # no answer until the client gives up; nothing delivered
    LATE = "late"  # delivered, then no answer until the client gives up: the sender cannot know it went through
    DROPPED = "dropped"  # the connection closed without an answer; nothing delivered


@dataclass
class FaultPlan:
    """Rates per fault (fractions of calls), a script taken first, and a cap per call so that every message gets
    through before the outbox's attempt limit: a platform's trouble passes, a resident's message stays."""

    seed: int = 0
    rates: dict[Fault, float] = field(default_factory=dict)
    script: Iterable[Fault | None] = ()
    retry_after: int = 1  # seconds a rate-limited answer asks the client to wait
    max_per_call: int = 3  # faults one and the same call meets at most
    drawn: Counter[Fault] = field(default_factory=Counter)  # what the plan dealt, for the test's report

    def __post_init__(self) -> None:
        if sum(self.rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        self._script: deque[Fault | None] = deque(self.script)
        self._seen: Counter[str] = Counter()
        self._faulted: Counter[str] = Counter()

    @classmethod
    def mixed(cls, seed: int, *, server_error: float = 0.0, rate_limited: float = 0.0, slow: float = 0.0,
              late: float = 0.0, dropped: float = 0.0, **options: int) -> FaultPlan:
        rates = {Fault.SERVER_ERROR: server_error, Fault.RATE_LIMITED: rate_limited, Fault.SLOW: slow,
                 Fault.LATE: late, Fault.DROPPED: dropped}
        return cls(seed, {kind: rate for kind, rate in rates.items() if rate}, **options)

    def draw(self, call: str) -> Fault | None:
        """The fault this call meets, if any; `call` names it by method and content."""
        attempt = self._seen[call]
        self._seen[call] += 1
        if self._script:
            fault = self._script.popleft()
        elif self._faulted[call] >= self.max_per_call:
            fault = None
        else:
            roll = random.Random(f"{self.seed}|{call}|{attempt}").random()
            fault = None
            for kind, rate in self.rates.items():
                if roll < rate:
                    fault = kind
                    break
                roll -= rate
        if fault is not None:
            self._faulted[call] += 1
            self.drawn[fault] += 1
        return fault
