"""Webhook throughput: Telegram updates POSTed to /telegram/webhook, end to end, against the fake Bot API.

Each resident files reports in a private chat (the report with its place, then 确认), waiting for the bot's reply
before the next step. Two latencies per update: the HTTP answer (p50/p99: the rows, the reply's durable row
among them, are committed) and the reply (reply_p50/p99: update posted → the reply recorded by the fake Bot API). Afterwards the outbox is drained to the bound grid
workers and every count is checked. The fake Bot API and the clients posting the updates run in a second
process (bench/peer.py), as Telegram's servers would be elsewhere; the service has the other core. PTB's rate
limiter is off: one real bot is capped by Telegram at 30 msg/s, this measures gridbot. A second phase posts
group chatter (one group, a new member each time; recorded, never answered): each message is still read for a
report to offer (bot/understanding/offers.py), so it costs the service more than a private report's step.
Prints one JSON line.

Both phases are closed loops by default (`--concurrency` posts in flight, each waiting for its answer), which caps
the latency the service can show at concurrency / throughput. `--rate R` runs them open-loop (bench/open_loop.py):
a new resident's report starts every 2/R s for `--seconds` (R report updates/s offered; the 确认 follows as soon as
the reply arrives), then a chatter message goes out every 1/R s as long, each without waiting for the answers
before it. Latencies of a first step count from when it was due; the offered and achieved rates and how late the
posting process itself ran are reported; lost work (a case not filed, a reply or notice not delivered, an answer
other than 200) fails the run.
Usage: python bench/telegram_webhook.py [--backend sqlite|postgres|both] [--reports N] [--concurrency N]
       [--rate UPDATES_PER_S [--seconds 10]]  (open loop: e.g. --rate 500, 800, 1000)
       [--instructions]  (instructions per update of the service's process, under callgrind: a count the
       machine's load does not move; both phases together as before, then each phase's own and each thread's.
       Counted: the HTTP server, the webhook, the dispatcher, the replies' sends to the fake (they run while the
       residents post) and W001's /start; not the outbox drain of the staff notices afterwards, nor the posting
       clients (the peer process). Try --reports 100: it runs ~50x slower)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import uvloop
from aiohttp import ClientSession, TCPConnector, web
from open_loop import at_rate, percentile, summary
from peer import Commands, Peer
from profiling import counted, counted_run, instructions_so_far, profiled
from scratch_db import drop_database, fresh_database
from sqlalchemy import func, select

from bot.app import PathAccessLogger, create_app
from bot.channels.telegram import SECRET_HEADER, WEBHOOK_PATH, telegram_channel
from bot.clock import SystemClock
from bot.delivery.runner import drain
from bot.logs import configure_logging
from bot.pipeline.invites import create_invite, redeem_invite
from bot.runtime import freeze_startup_heap, start
from config.settings import load_settings
from fakes.telegram_api import (
    TOKEN,
    FakeBotApi,
    FloodLimits,
    group_chat,
    message_update,
    private_chat,
    user,
)
from models import Case, Outbox, SendState, Staff

SECRET = "bench-secret"
WORKER_ID = 9001
STAFF_BASE = 50_000
RESIDENT_BASE = 100_000
NOWHERE = open(os.devnull, "w")  # (--serve's log: each line formatted and written, then dropped)
CHATTER = ["大家早上好", "谁家的快递放错了", "今晚广场舞几点开始", "哈哈哈", "收到，谢谢", "明天降温多穿点"]
PROBLEMS = ["门口路灯坏了", "电梯又坏了", "下水道堵了", "楼道有人飞线充电", "门口垃圾没人清运", "楼道灯不亮"]


# --- the platform's side: the fake Bot API and the clients that post updates (in the peer process) ---

def platform_side() -> Commands:
    fake = FakeBotApi(limits=FloodLimits(overall=(10**9, 1.0), group=(10**9, 1.0)))

    async def open_api() -> dict[str, Any]:
        await fake.start()
        return {"base_url": fake.base_url}

    async def open_chats(ids: list[int]) -> dict[str, Any]:
        fake.started.update(ids)
        return {}

    update_ids = iter(range(1, 10**9))

    async def post(http: ClientSession, endpoint: str, update: dict, latencies: list[float],
                   reply_latencies: list[float] | None = None, *, due: float | None = None) -> None:
        """Posts the update; with `reply_latencies`, also waits (as the resident does) for the bot's reply. The
        latencies count from `due` when given (open loop: when the post was due), else from now."""
        update["update_id"] = next(update_ids)
        chat = update["message"]["chat"]["id"]
        seen = len(fake.by_chat[chat])
        began = time.perf_counter() if due is None else due
        async with http.post(endpoint, json=update, headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 200, response.status
        latencies.append(time.perf_counter() - began)
        if reply_latencies is not None:
            await asyncio.wait_for(fake.wait_messages(chat, seen + 1), 60)
            reply_latencies.append(time.perf_counter() - began)

    async def post_reports(endpoint: str, token: str, reports: int, concurrency: int) -> dict[str, Any]:
        """W001 redeems its invite; then residents file `reports` reports (report, 确认), `concurrency` at a time."""
        latencies: list[float] = []
        reply_latencies: list[float] = []
        async with ClientSession(connector=TCPConnector(limit=concurrency)) as http:
            fake.started.add(WORKER_ID)
            await post(http, endpoint, message_update(private_chat(WORKER_ID, "李娟"), user(WORKER_ID, "李娟"),
                                                      f"/start {token}"), [], [])
            queue = list(range(reports))

            async def resident_loop() -> None:
                while queue:
                    n = queue.pop()
                    person = user(RESIDENT_BASE + n, f"居民{n}")
                    chat = private_chat(person["id"], person["first_name"])
                    fake.started.add(person["id"])
                    await post(http, endpoint,
                               message_update(chat, person, f"铁塔厂家属院{n % 8 + 1}号楼{PROBLEMS[n % len(PROBLEMS)]}"),
                               latencies, reply_latencies)
                    await post(http, endpoint, message_update(chat, person, "确认"), latencies, reply_latencies)

            began, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(resident_loop() for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
            platform_cpu = time.process_time() - cpu
        latencies.sort()
        reply_latencies.sort()
        return {
            "report_updates": len(latencies), "updates_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "reply_p50_ms": round(statistics.median(reply_latencies) * 1000, 2),
            "reply_p99_ms": round(percentile(reply_latencies, 0.99) * 1000, 2),
            "platform_cpu_s": round(platform_cpu, 2),
        }

    async def post_chatter(endpoint: str, updates: int, concurrency: int) -> dict[str, Any]:
        """Group chatter from `updates` different members of one group, never answered."""
        latencies: list[float] = []
        chatter = list(range(updates))
        group = group_chat(-100_777, "铁塔厂家属院居民群")
        async with ClientSession(connector=TCPConnector(limit=concurrency)) as http:
            async def chatter_loop() -> None:
                while chatter:
                    n = chatter.pop()
                    await post(http, endpoint, message_update(group, user(200_000 + n, f"群友{n}"),
                                                              CHATTER[n % len(CHATTER)]), latencies)

            began = time.perf_counter()
            await asyncio.gather(*(chatter_loop() for _ in range(concurrency)))
            elapsed = time.perf_counter() - began
        latencies.sort()
        return {
            "chatter_updates": len(latencies), "chatter_updates_per_s": round(len(latencies) / elapsed, 1),
            "chatter_p50_ms": round(statistics.median(latencies) * 1000, 2),
            "chatter_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        }

    async def post_reports_at_rate(endpoint: str, token: str, reports: int, rate: float) -> dict[str, Any]:
        """W001 redeems its invite; then a new resident's report starts every 2/rate s (open loop), its 确认 posted
        as soon as the reply arrives."""
        latencies: list[float] = []
        reply_latencies: list[float] = []
        lags: list[float] = []
        last = 0.0
        async with ClientSession(connector=TCPConnector(limit=0)) as http:
            fake.started.add(WORKER_ID)
            await post(http, endpoint, message_update(private_chat(WORKER_ID, "李娟"), user(WORKER_ID, "李娟"),
                                                      f"/start {token}"), [], [])

            async def report(n: int, due: float) -> None:
                nonlocal last
                lags.append(time.perf_counter() - due)
                person = user(RESIDENT_BASE + n, f"居民{n}")
                chat = private_chat(person["id"], person["first_name"])
                fake.started.add(person["id"])
                await post(http, endpoint,
                           message_update(chat, person, f"铁塔厂家属院{n % 8 + 1}号楼{PROBLEMS[n % len(PROBLEMS)]}"),
                           latencies, reply_latencies, due=due)
                await post(http, endpoint, message_update(chat, person, "确认"), latencies, reply_latencies)
                last = max(last, time.perf_counter())

            cpu = time.process_time()
            outcomes, began = await at_rate(reports, 2 / rate, report)
            platform_cpu = time.process_time() - cpu
        if failed := [outcome for outcome in outcomes if isinstance(outcome, BaseException)]:
            raise RuntimeError(f"{len(failed)} of {reports} reports failed, the first: {failed[0]!r}")
        return {"report_updates": len(latencies), "updates_per_s": round(len(latencies) / (last - began), 1),
                **summary(rate, len(latencies), began, last, latencies, lags),
                **{f"reply_{key}": value for key, value in summary(rate, len(reply_latencies), began, last,
                                                                   reply_latencies, []).items()
                   if key in ("p50_ms", "p99_ms", "max_ms")},
                "platform_cpu_s": round(platform_cpu, 2)}

    async def post_chatter_at_rate(endpoint: str, updates: int, rate: float) -> dict[str, Any]:
        """Group chatter from `updates` different members of one group, one every 1/rate s (open loop)."""
        latencies: list[float] = []
        lags: list[float] = []
        last = 0.0
        group = group_chat(-100_777, "铁塔厂家属院居民群")
        async with ClientSession(connector=TCPConnector(limit=0)) as http:
            async def chatter(n: int, due: float) -> None:
                nonlocal last
                lags.append(time.perf_counter() - due)
                await post(http, endpoint, message_update(group, user(200_000 + n, f"群友{n}"),
                                                          CHATTER[n % len(CHATTER)]), latencies, due=due)
                last = max(last, time.perf_counter())

            outcomes, began = await at_rate(updates, 1 / rate, chatter)
        if failed := [outcome for outcome in outcomes if isinstance(outcome, BaseException)]:
            raise RuntimeError(f"{len(failed)} of {updates} chatter posts failed, the first: {failed[0]!r}")
        return {"chatter_updates": len(latencies), "chatter_updates_per_s": round(len(latencies) / (last - began), 1),
                **summary(rate, len(latencies), began, last, latencies, lags, prefix="chatter_")}

    async def delivered() -> dict[str, Any]:
        """Replies to residents, and notices to staff (without W001's answer to its /start)."""
        return {"replies": sum(1 for (chat, _) in fake.messages if chat >= RESIDENT_BASE),
                "staff_notices": sum(1 for (chat, _) in fake.messages if STAFF_BASE <= chat < RESIDENT_BASE
                                     or chat == WORKER_ID) - 1}

    return {"open_api": open_api, "open_chats": open_chats, "post_reports": post_reports,
            "post_chatter": post_chatter, "post_reports_at_rate": post_reports_at_rate,
            "post_chatter_at_rate": post_chatter_at_rate, "delivered": delivered, "stop": fake.stop}


# --- the service's side ---

async def bind_every_staff_member(runtime) -> tuple[list[int], str]:  # type: ignore[no-untyped-def]
    """Binds every staff member but W001 to a Telegram account (so every notice goes through the fake); returns
    their chats and a fresh invite for W001, which the bench redeems through the webhook."""
    now = SystemClock().now()
    chats: list[int] = []
    async with runtime.services.sessions.begin() as session:
        codes = (await session.scalars(select(Staff.code).order_by(Staff.id))).all()
        for offset, code in enumerate(codes):
            if code == "W001":
                continue
            token = await create_invite(session, code, now=now)
            await redeem_invite(session, token, channel="telegram", user_id=str(STAFF_BASE + offset), display_name=code,
                                private_chat_id=str(STAFF_BASE + offset), now=now)
            chats.append(STAFF_BASE + offset)
        return chats, await create_invite(session, "W001", now=now)


def chatter_profile(path: str | None) -> str | None:
    """The chatter phase's profile beside the reports': profile.pstats → profile-chatter.pstats."""
    if not path:
        return None
    stem, dot, suffix = path.rpartition(".")
    return f"{stem}-chatter.{suffix}" if dot else f"{path}-chatter"


async def bench(backend: str, reports: int, concurrency: int, profile: str | None = None,
                under_callgrind: bool = False, serve: bool = False, rate: float | None = None,
                seconds: float = 10.0) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(backend, Path(workdir))
        async with Peer(platform_side) as telegram:
            api = await telegram.ask("open_api")
            limits = {"inbound_per_source_per_minute": 1_000_000, "inbound_per_path_per_minute": 1_000_000}
            settings = load_settings({}, database_url=url, telegram_token=TOKEN, telegram_api_base=api["base_url"],
                                     telegram_mode="webhook", telegram_webhook_secret=SECRET,
                                     public_url="https://gridbot.bench", duplicate_window_hours=0,
                                     **(limits if serve else {}))
            runtime = await start(settings, SystemClock())
            channel = telegram_channel(runtime.dispatcher, settings, limits=None)
            freeze_startup_heap()  # as `run.py serve` does
            if serve:  # serve's app, logging and access log (the outbox runner stays off: the drain below is timed)
                configure_logging(settings, command="serve", stream=NOWHERE)
                app = create_app(runtime.services, runtime.dispatcher, [channel])
                runner = web.AppRunner(app, access_log_class=PathAccessLogger)
            else:
                app = web.Application()
                channel.setup(app)
                runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            if rate:
                reports = round(rate * seconds / 2)
            try:
                staff_chats, token = await bind_every_staff_member(runtime)
                await telegram.ask("open_chats", ids=staff_chats)
                endpoint = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
                cpu = time.process_time()
                with counted(under_callgrind):
                    with profiled(profile):
                        if rate:
                            figures = await telegram.ask("post_reports_at_rate", endpoint=endpoint, token=token,
                                                         reports=reports, rate=rate)
                        else:
                            figures = await telegram.ask("post_reports", endpoint=endpoint, token=token,
                                                         reports=reports, concurrency=concurrency)
                    after_reports = instructions_so_far(under_callgrind)
                    with profiled(chatter_profile(profile)):
                        if rate:
                            figures |= await telegram.ask("post_chatter_at_rate", endpoint=endpoint,
                                                          updates=round(rate * seconds), rate=rate)
                        else:
                            figures |= await telegram.ask("post_chatter", endpoint=endpoint, updates=2 * reports,
                                                          concurrency=concurrency)
                    after_chatter = instructions_so_far(under_callgrind)
                # both phases (reports, then chatter): the service's CPU seconds, robust to a loaded machine
                figures["service_cpu_ms_per_update"] = round(
                    (time.process_time() - cpu) * 1000 / (figures["report_updates"] + figures["chatter_updates"]), 2)
                drained = time.perf_counter()
                notified = await drain(runtime.services.sessions, channel.sender, runtime.services.clock, batch=200)
                drain_seconds = time.perf_counter() - drained
                async with runtime.services.sessions() as session:
                    cases = await session.scalar(select(func.count()).select_from(Case))
                    unsent = await session.scalar(select(func.count()).select_from(Outbox).where(
                        Outbox.state != SendState.SENT))
                delivered = await telegram.ask("delivered")
            finally:
                await runner.cleanup()
                await runtime.close()
        await drop_database(url)
    if under_callgrind:  # per phase and thread ("Th 1": the event loop; the others, SQLite's and the peer pipe's)
        figures["instructions"] = {"reports": after_reports, "chatter": {
            thread: count - after_reports.get(thread, 0) for thread, count in after_chatter.items()}}
    lost = (reports - cases) + (2 * reports - delivered["replies"]) + (reports - delivered["staff_notices"])
    if rate and lost:
        raise SystemExit(f"lost work at {rate:g} updates/s: {cases} of {reports} cases, {delivered['replies']} of "
                         f"{2 * reports} replies, {delivered['staff_notices']} of {reports} notices")
    return figures | {
        "cases": cases, "replies_recorded": delivered["replies"], "worker_notices_sent": notified,
        "worker_notices_recorded": delivered["staff_notices"], "worker_notices_per_s": round(notified / drain_seconds, 1),
        "unsent_notices": unsent,
        "lost": lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--reports", type=int, default=1000, help="reports filed; each is two updates")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--rate", type=float, help="open loop: updates/s offered in each phase instead of "
                                                   "--concurrency posts each waiting for its answer")
    parser.add_argument("--seconds", type=float, default=10.0, help="with --rate: how long each phase posts")
    parser.add_argument("--profile", help="profile the service during the posts into this file (pstats; py-spy's "
                                          "samples for a .txt)")
    parser.add_argument("--instructions", action="store_true", help="count instructions per update (callgrind)")
    parser.add_argument("--serve", action="store_true", help="the app, access log and limits as serve has them")
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instructions:
        count, run = counted_run(__file__, args.backend, ["--reports", str(args.reports), "--concurrency",
                                                          str(args.concurrency), *(["--serve"] if args.serve else [])])
        updates = run["report_updates"] + run["chatter_updates"]
        phases = run.pop("instructions")
        print(json.dumps({
            "bench": "telegram_webhook", "backend": args.backend, "serve": args.serve, "updates": updates,
            "instructions_per_update": round(count / updates),
            "report_instructions_per_update": round(sum(phases["reports"].values()) / run["report_updates"]),
            "chatter_instructions_per_update": round(sum(phases["chatter"].values()) / run["chatter_updates"]),
            "threads": phases, "run": run}, ensure_ascii=False))
        return
    figures: dict = {"bench": "telegram_webhook", "python": platform.python_version(), "machine": platform.machine(),
                     "event_loop": "uvloop", "rate_limiter": "off", "serve": args.serve,
                     **({"load": "open loop", "offered_updates_per_s": args.rate, "seconds_offered": args.seconds}
                        if args.rate else {"load": "closed loop", "concurrency": args.concurrency}),
                     "platform_side": "fake Bot API and update clients in a second process"}
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        figures[backend] = uvloop.run(bench(backend, args.reports, args.concurrency, args.profile,
                                            args.under_callgrind, args.serve, args.rate, args.seconds))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
