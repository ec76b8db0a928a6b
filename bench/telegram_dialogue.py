"""Dialogue throughput in polling mode: 50 residents × 10 complete reports through the fake Bot API.

Every report is the whole conversation: the problem without a place → the bot asks where → the place → the bot
asks to confirm → 确认 → the bot files it. Each resident waits for the bot's answer before the next step. The
service polls the fake with PTB's updater; the outbox is drained while the residents talk, and the clock stops
when every case is filed and every grid worker's notice has reached the fake. The fake Bot API and the residents
run in a second process (bench/peer.py), as Telegram's servers would be elsewhere. PTB's rate limiter is off
(one real bot is capped by Telegram at 30 msg/s; this measures gridbot). Prints one JSON line.

That default run is a closed loop: 50 residents each wait for the bot, so the mean update latency is 50 /
throughput whatever the code does (Little's law; 50 ms at 1,000 updates/s). `--rate R` runs it open-loop instead
(bench/open_loop.py): a report starts every 3/R s for `--seconds` (R updates/s offered, a report being three),
by a resident not in a dialogue already (one who finished a report comes back; a new one joins when all are busy),
who answers each question as soon as it arrives. It reports the offered and achieved updates/s, the update
latency's p50/p99 (the first step's counted from when it was due) and how late the residents' process itself ran;
a report not filed or a notice not delivered fails the run, as in the closed loop.
Usage: python bench/telegram_dialogue.py [--backend sqlite|postgres|both] [--residents 50] [--reports 10]
       [--rate UPDATES_PER_S [--seconds 10]]  (open loop: e.g. --rate 500, 800, 1000)
       [--statements]  (also counts the SQL statements and commits per update; costs a little CPU)
       (on PostgreSQL on this machine, database_cpu_ms_per_update is the CPU its backends for the bench's database
       spent during the dialogues: the server shares the machine's cores with the service)
       [--profile FILE (pstats) or FILE.txt (py-spy samples)]  (the service during the dialogues)
       [--instructions]  (instructions per update of the service's process during the dialogues, under callgrind:
       a count the machine's load does not move; try --residents 20 --reports 3, it runs ~50x slower)
       [--warm REPORTS]  (first, unmeasured, every resident files REPORTS reports: on PostgreSQL the pool's
       connections are opened and their statements prepared before the count, which a short run otherwise pays
       inside it; e.g. --instructions --residents 20 --reports 3 --warm 3)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import web
from open_loop import at_rate, percentile, summary
from peer import Commands, Peer
from profiling import counted, counted_run, profiled
from scratch_db import drop_database, fresh_database, server_cpu_seconds
from sqlalchemy import event, func, select

from bot.channels.telegram import telegram_channel
from bot.clock import SystemClock
from bot.delivery.runner import drain
from bot.pipeline.invites import create_invite, redeem_invite
from bot.pipeline.messages import Inbound
from bot.runtime import freeze_startup_heap, start
from config.settings import load_settings
from fakes.telegram_api import TOKEN, FakeBotApi, FloodLimits, message_update, private_chat, user
from models import Case, Outbox, SendState, Staff
from models.db import Prepared, _Lean

STAFF_BASE = 50_000
RESIDENT_BASE = 100_000
PROBLEMS = ["门口路灯坏了", "电梯又坏了", "下水道堵了", "楼道有人飞线充电", "门口垃圾没人清运", "楼道灯不亮"]
COMPOUNDS = ["铁塔厂家属院", "铁塔新村", "发电厂生活区", "电厂南苑小区", "卫校家属楼", "姜谭花园小区", "秦机小区"]


# --- the platform's side: the fake Bot API and the residents talking to it (in the peer process) ---

def platform_side() -> Commands:
    fake = FakeBotApi(limits=FloodLimits(overall=(10**9, 1.0), group=(10**9, 1.0)))
    staff_chats: set[int] = set()

    async def open_api() -> dict[str, Any]:
        await fake.start()
        return {"base_url": fake.base_url}

    async def open_chats(ids: list[int]) -> dict[str, Any]:
        staff_chats.update(ids)
        fake.started.update(ids)
        return {}

    def notified() -> int:
        return sum(len(fake.by_chat[c]) for c in staff_chats)

    async def talk(residents: int, reports: int) -> dict[str, Any]:
        """Every resident files their reports, each step waiting for the bot's answer; then waits until every
        grid worker's notice has arrived."""
        latencies: list[float] = []

        async def step(chat: dict, person: dict, text: str, expect: str) -> None:
            seen = len(fake.by_chat[chat["id"]])
            began = time.perf_counter()
            await fake.push(message_update(chat, person, text))
            answer = await asyncio.wait_for(fake.wait_messages(chat["id"], seen + 1), 60)
            latencies.append(time.perf_counter() - began)
            assert expect in answer[-1]["text"], (text, answer[-1]["text"])

        async def resident(n: int) -> None:
            person = user(RESIDENT_BASE + n, f"居民{n}")
            chat = private_chat(person["id"], person["first_name"])
            for k in range(reports):
                await step(chat, person, f"{PROBLEMS[(n + k) % len(PROBLEMS)]}，麻烦处理一下", "哪个小区")
                await step(chat, person, f"{COMPOUNDS[(n + k) % len(COMPOUNDS)]}{k % 4 + 1}号楼", "请确认")
                await step(chat, person, "确认", "已受理")

        began, cpu = time.perf_counter(), time.process_time()
        already = notified()  # a warm-up talk's (--warm)
        await asyncio.gather(*(resident(n) for n in range(residents)))
        filed_at = time.perf_counter()
        await asyncio.wait_for(fake.wait_for(lambda f: notified() >= already + residents * reports), 60)
        elapsed = time.perf_counter() - began
        latencies.sort()
        return {"seconds": elapsed, "seconds_until_all_filed": filed_at - began, "updates": len(latencies),
                "update_p50_ms": round(statistics.median(latencies) * 1000, 2),
                "update_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
                "workers_notified": notified() - already, "get_updates_calls": len(fake.called("getUpdates")),
                "platform_cpu_s": round(time.process_time() - cpu, 2)}

    async def talk_at_rate(rate: float, reports: int) -> dict[str, Any]:
        """A report starts every 3/rate s (open loop), each step answered as soon as the bot asks; then waits until
        every grid worker's notice has arrived."""
        latencies: list[float] = []
        lags: list[float] = []
        idle: deque[int] = deque()  # residents between reports, the longest idle first
        joined = 0
        last_answer = 0.0

        async def report(k: int, due: float) -> None:
            nonlocal joined, last_answer
            lags.append(time.perf_counter() - due)
            if idle:
                n = idle.popleft()
            else:
                n, joined = joined, joined + 1
            person = user(RESIDENT_BASE + n, f"居民{n}")
            chat = private_chat(person["id"], person["first_name"])
            began = due
            for text, expect in ((f"{PROBLEMS[k % len(PROBLEMS)]}，麻烦处理一下", "哪个小区"),
                                 (f"{COMPOUNDS[k % len(COMPOUNDS)]}{k % 4 + 1}号楼", "请确认"), ("确认", "已受理")):
                seen = len(fake.by_chat[chat["id"]])
                await fake.push(message_update(chat, person, text))
                answer = await asyncio.wait_for(fake.wait_messages(chat["id"], seen + 1), 60)
                last_answer = time.perf_counter()
                latencies.append(last_answer - began)
                began = last_answer
                assert expect in answer[-1]["text"], (text, answer[-1]["text"])
            idle.append(n)

        cpu = time.process_time()
        already = notified()  # a warm-up talk's (--warm)
        outcomes, began = await at_rate(reports, 3 / rate, report)
        if failed := [outcome for outcome in outcomes if isinstance(outcome, BaseException)]:
            raise RuntimeError(f"{len(failed)} of {reports} reports failed, the first: {failed[0]!r}")
        await asyncio.wait_for(fake.wait_for(lambda f: notified() >= already + reports), 60)
        elapsed = time.perf_counter() - began
        return {"seconds": elapsed, "seconds_until_all_filed": last_answer - began, "updates": len(latencies),
                **summary(rate, len(latencies), began, last_answer, latencies, lags, prefix="update_"),
                "residents": joined, "workers_notified": notified() - already,
                "get_updates_calls": len(fake.called("getUpdates")),
                "platform_cpu_s": round(time.process_time() - cpu, 2)}

    return {"open_api": open_api, "open_chats": open_chats, "talk": talk, "talk_at_rate": talk_at_rate,
            "stop": fake.stop}


# --- the service's side ---

async def bind_every_staff_member(runtime) -> list[int]:  # type: ignore[no-untyped-def]
    """Binds every staff member to a Telegram account, so every notice goes through the fake."""
    now = SystemClock().now()
    chats: list[int] = []
    async with runtime.services.sessions.begin() as session:
        for offset, code in enumerate((await session.scalars(select(Staff.code).order_by(Staff.id))).all()):
            token = await create_invite(session, code, now=now)
            chat = STAFF_BASE + offset
            await redeem_invite(session, token, channel="telegram", user_id=str(chat), display_name=code,
                                private_chat_id=str(chat), now=now)
            chats.append(chat)
    return chats


async def core_only_rate(runtime, residents: int, reports: int) -> float:  # type: ignore[no-untyped-def]
    """The same dialogues straight into the dispatcher, no Telegram at all: what the core alone sustains."""
    async def resident(n: int) -> None:
        sender = f"core{n}"
        for k in range(reports):
            for text in (f"{PROBLEMS[(n + k) % len(PROBLEMS)]}，麻烦处理一下",
                         f"{COMPOUNDS[(n + k) % len(COMPOUNDS)]}{k % 4 + 1}号楼", "确认"):
                await runtime.dispatcher.handle(Inbound(
                    channel="telegram", chat_id=sender, is_group=False, sender_id=sender, sender_name=sender,
                    text=text, message_id=uuid.uuid4().hex, sent_at=SystemClock().now()))

    began = time.perf_counter()
    await asyncio.gather(*(resident(n) for n in range(residents)))
    return round(residents * reports / (time.perf_counter() - began), 1)


class StatementCount:
    """SQL statements (BEGIN included) and commits on an engine while counting is on. BEGIN on SQLite's inline
    driver and the statements run prepared (models.db.Prepared) reach the driver without SQLAlchemy's
    before_cursor_execute: BEGIN is counted from the begin event, the prepared ones by wrapping their calls, and a
    lean transaction's BEGIN and COMMIT by wrapping its own."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.statements = self.commits = 0
        self.on = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "begin", self._begin)
        event.listen(engine.sync_engine, "commit", self._commit)
        through_driver = Prepared._through

        def counted(prepared, *args: Any) -> Any:  # type: ignore[no-untyped-def]
            self.statements += self.on
            return through_driver(prepared, *args)

        Prepared._through = counted  # type: ignore[method-assign]
        fetch = Prepared._fetch  # every round trip of one statement on asyncpg (writes folded in count as none)

        async def counted_fetch(prepared, *args: Any) -> Any:  # type: ignore[no-untyped-def]
            self.statements += self.on
            return await fetch(prepared, *args)

        Prepared._fetch = counted_fetch  # type: ignore[method-assign]
        # A lean transaction (models.db._Lean) begins and commits on the DBAPI connection, without those events.
        lean_open, lean_close = _Lean.open, _Lean.close

        def counted_open(lean) -> None:  # type: ignore[no-untyped-def]
            self.statements += self.on and lean.fairy is None
            lean_open(lean)

        def counted_close(lean, commit: bool) -> None:  # type: ignore[no-untyped-def]
            self.commits += self.on and commit and lean.fairy is not None and lean.connection is None
            lean_close(lean, commit)

        _Lean.open, _Lean.close = counted_open, counted_close  # type: ignore[method-assign]

    def _statement(self, conn, cursor, statement: str, *args: Any) -> None:  # type: ignore[no-untyped-def]
        self.statements += self.on and not statement.startswith("BEGIN")

    def _begin(self, *args: Any) -> None:
        self.statements += self.on

    def _commit(self, *args: Any) -> None:
        self.commits += self.on


async def bench(backend: str, residents: int, reports: int, profile: str | None = None,
                statements: bool = False, under_callgrind: bool = False, rate: float | None = None,
                seconds: float = 10.0, warm: int = 0) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(backend, Path(workdir))
        async with Peer(platform_side) as telegram:
            api = await telegram.ask("open_api")
            settings = load_settings({}, database_url=url, telegram_token=TOKEN, telegram_api_base=api["base_url"],
                                     telegram_mode="polling", duplicate_window_hours=0)
            runtime = await start(settings, SystemClock())
            channel = telegram_channel(runtime.dispatcher, settings, limits=None, poll_timeout=1.0)
            freeze_startup_heap()  # as `run.py serve` does
            app = web.Application()
            channel.setup(app)
            runner = web.AppRunner(app)
            await runner.setup()  # runs on_startup: PTB initializes and starts polling the fake
            total = round(rate * seconds / 3) if rate else residents * reports
            try:
                await telegram.ask("open_chats", ids=await bind_every_staff_member(runtime))

                async def deliver_until_done(done: asyncio.Event) -> None:
                    while not done.is_set():
                        if not await drain(runtime.services.sessions, channel.sender, runtime.services.clock,
                                           batch=200):
                            await asyncio.sleep(0.2)  # the delivery loop's tick (1 s in serve), shortened

                count = StatementCount(runtime.services.sessions.kw["bind"]) if statements else None
                talking = asyncio.Event()
                delivering = asyncio.create_task(deliver_until_done(talking))
                if warm:  # unmeasured: the pool's connections opened, their statements prepared, caches filled
                    await telegram.ask("talk", residents=residents, reports=warm)
                server_cpu = await server_cpu_seconds(url)
                cpu = time.process_time()
                if count is not None:
                    count.on = True
                with counted(under_callgrind), profiled(profile):
                    if rate:
                        figures = await telegram.ask("talk_at_rate", rate=rate, reports=total)
                    else:
                        figures = await telegram.ask("talk", residents=residents, reports=reports)
                figures["service_cpu_ms_per_update"] = round((time.process_time() - cpu) * 1000 / figures["updates"], 2)
                if server_cpu is not None and (server_cpu_after := await server_cpu_seconds(url)) is not None:
                    figures["database_cpu_ms_per_update"] = round((server_cpu_after - server_cpu) * 1000
                                                                  / figures["updates"], 2)
                if count is not None:  # the notices' delivery goes on after the talk: counted until it is done
                    talking.set()
                    await delivering
                    count.on = False
                    figures["statements_per_update"] = round(count.statements / figures["updates"], 2)
                    figures["commits_per_update"] = round(count.commits / figures["updates"], 2)
                talking.set()
                await delivering
                async with runtime.services.sessions() as session:
                    cases = await session.scalar(select(func.count()).select_from(Case))
                    unsent = await session.scalar(select(func.count()).select_from(Outbox).where(
                        Outbox.state != SendState.SENT))
                core_only = None if under_callgrind or rate else await core_only_rate(runtime, residents, reports)
            finally:
                await runner.cleanup()
                await runtime.close()
        await drop_database(url)
    if cases != total + residents * warm or unsent:
        raise SystemExit(f"lost work: {cases} of {total + residents * warm} cases filed, {unsent} notices unsent")
    seconds = figures.pop("seconds")
    return {
        "reports": total, **({"warm_reports": residents * warm} if warm else {}), "cases_filed": cases,
        "workers_notified": figures.pop("workers_notified"),
        "unsent_notices": unsent, "reports_per_s": round(total / seconds, 1), "seconds": round(seconds, 2),
        "seconds_until_all_filed": round(figures.pop("seconds_until_all_filed"), 2), **figures,
        "core_only_reports_per_s": core_only,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--reports", type=int, default=10, help="complete reports per resident")
    parser.add_argument("--rate", type=float, help="open loop: updates/s offered (a report every 3/RATE s) instead of "
                                                   "--residents each waiting for the bot")
    parser.add_argument("--seconds", type=float, default=10.0, help="with --rate: how long reports are started")
    parser.add_argument("--profile", help="profile the service during the dialogues into this file (pstats; py-spy's "
                                          "samples for a .txt)")
    parser.add_argument("--statements", action="store_true", help="count SQL statements and commits per update")
    parser.add_argument("--warm", type=int, default=0, metavar="REPORTS",
                        help="first, unmeasured, every resident files REPORTS reports (the pool warm, its statements "
                             "prepared): what an update costs a running service")
    parser.add_argument("--instructions", action="store_true", help="count instructions per update (callgrind)")
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instructions:
        count, run = counted_run(__file__, args.backend, ["--residents", str(args.residents),
                                                          "--reports", str(args.reports), "--warm", str(args.warm)])
        updates = run["updates"]
        print(json.dumps({"bench": "telegram_dialogue", "backend": args.backend, "updates": updates,
                          "instructions_per_update": round(count / updates), "run": run}, ensure_ascii=False))
        return
    figures: dict = {"bench": "telegram_dialogue", "python": platform.python_version(),
                     "machine": platform.machine(), "event_loop": "uvloop", "rate_limiter": "off",
                     "steps_per_report": 3, "platform_side": "fake Bot API and residents in a second process",
                     **({"load": "open loop", "offered_updates_per_s": args.rate, "seconds_offered": args.seconds}
                        if args.rate else {"load": "closed loop", "residents": args.residents,
                                           "reports_each": args.reports})}
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        figures[backend] = uvloop.run(bench(backend, args.residents, args.reports, args.profile,
                                            args.statements, args.under_callgrind, args.rate, args.seconds,
                                            args.warm))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
