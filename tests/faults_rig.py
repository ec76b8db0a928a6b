"""What the fault tests share: a Telegram world whose client gives up quickly, the drive-until-settled loop, and
the count of what each chat received."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.channels.telegram import telegram_channel
from bot.clock import FrozenClock
from bot.delivery.runner import Pacer
from bot.runtime import start
from config.settings import load_settings
from fakes.faults import FaultPlan
from fakes.telegram_api import TOKEN, FakeBotApi, FloodLimits
from models import Outbox, SendState
from tests.harness import START, TEST_DRIVERS
from tests.test_telegram import FAST, SECRET, World

CLIENT_TIMEOUT = 1.0  # seconds the platform clients wait for an answer here: each slow answer costs this much
# (not less: on a loaded machine a prompt answer can take a few hundred ms, and a timed-out one is a legitimate repeat)
OWED = (SendState.PENDING, SendState.FAILED)  # states of a row still to be sent


async def telegram_world(database_url: str) -> World:
    """A webhook world as tests/test_telegram.py opens it, with the Bot API client's timeout at CLIENT_TIMEOUT."""
    fake = await FakeBotApi(limits=FloodLimits(overall=(10**9, 1.0), group=(10**9, 1.0))).start()
    settings = load_settings({}, database_url=database_url, database_drivers=TEST_DRIVERS, telegram_token=TOKEN,
                             telegram_api_base=fake.base_url, telegram_mode="webhook", telegram_webhook_secret=SECRET,
                             public_url="https://gridbot.test", duplicate_window_hours=0)
    clock = FrozenClock(START)
    runtime = await start(settings, clock)
    channel = telegram_channel(runtime.dispatcher, settings, limits=FAST, read_timeout=CLIENT_TIMEOUT,
                               poll_timeout=1.0)
    app = web.Application()
    channel.setup(app)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return World(fake, runtime, channel, server, ClientSession(), clock, "webhook")


async def owed_rows(sessions: Any, channels: tuple[str, ...]) -> list[Outbox]:
    async with sessions() as session:
        query = select(Outbox).where(Outbox.channel.in_(channels), Outbox.state.in_(OWED))
        return list((await session.scalars(query)).all())


async def settle(sessions: Any, channels: tuple[str, ...], clock: FrozenClock,
                 deliver: Callable[[], Awaitable[Any]], *, rounds: int = 40) -> None:
    """Runs the delivery runner's ticks, the injected clock moved past every backoff and retry-after, until no row
    of the channels is owed (bounded: a row that never goes out fails the test)."""
    for _ in range(rounds):
        if not await owed_rows(sessions, channels):
            return
        clock.advance(minutes=10)
        await deliver()
    owed = await owed_rows(sessions, channels)
    assert not owed, [(r.dedupe_key, r.state, r.attempts, r.last_error) for r in owed]


def paced_by(clock: FrozenClock, settings: Any, sender: Any) -> Pacer:
    """The sender's pacer on the injected clock: the platform's per-chat and per-second limits still hold, and
    moving the clock on (as settle does) is what gives a chat room again."""
    async def wait(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return replace(Pacer.for_sender(settings, sender), monotonic=lambda: clock.now().timestamp(), sleep=wait)


def repeats(delivered: Counter[Any], late: Counter[Any]) -> dict[Any, int]:
    """Messages that arrived more often than once plus once for every late answer to them: what no platform
    behaviour excuses (a late answer leaves the sender unable to know the message went through)."""
    return {key: n for key, n in delivered.items() if n != 1 + late[key]}


def plan(seed: int) -> FaultPlan:
    """The mix the issue measured under (30% 5xx, 10% rate limits, 5% slow), with late answers and dropped
    connections besides."""
    return FaultPlan.mixed(seed, server_error=0.3, rate_limited=0.1, slow=0.05, late=0.05, dropped=0.05)
