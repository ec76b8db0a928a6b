"""Encrypted WeCom app callbacks end to end over HTTP on 127.0.0.1: verify, decrypt, parse, classify, route,
persist, and the encrypted passive reply.

Residents write to the app in private chats (demo district): 80% report a problem and confirm it (so a case is
classified, routed and filed), 20% ask for their cases; then a run of status queries only, where the core does
little; then enter_agent events, which are verified, decrypted and parsed but never reach the core: the
surface's own cost (HTTP, signature, AES, XML). Requests are encrypted and signed before the clock
starts, as WeCom would send them; 16 senders post concurrently from a second process (bench/peer.py), as
WeCom's servers would be elsewhere. Prints one JSON line with, per backend, callbacks/s, p50/p99 latency and the
service's CPU per callback of the mixed run.

Those runs are closed loops (16 senders, each waiting for its answer), which caps the latency the service can show
at 16 / throughput. `--rate R` runs every phase open-loop (bench/open_loop.py): R callbacks/s offered for
`--seconds`, a resident's sequence started every (mean callbacks per sequence)/R s and its confirmation posted as
soon as the first answer arrives, without waiting for the other residents. Latencies of a first callback count
from when it was due; the offered and achieved rates and how late the senders' process itself ran are reported;
a failed callback or a report not filed fails the run.
Usage: python bench/wecom_callback.py [--backend sqlite|postgres|both] [--messages N] [--profile FILE]
       [--rate CALLBACKS_PER_S [--seconds 10]]  (open loop: e.g. --rate 500, 800, 1000)
       [--instructions]  (instructions per callback of the service's process during the mixed run, under
       callgrind: a count the machine's load does not move; try --messages 300 --concurrency 4: it runs ~50x
       slower, and 16 callbacks at a time there would outlast the 4 s reply window)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import itertools
import json
import platform
import random
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import uvloop
from aiohttp import web
from open_loop import at_rate, summary
from peer import Commands, Peer
from profiling import counted, counted_run, profiled
from scratch_db import drop_database, fresh_database
from sqlalchemy import func, select
from wechatpy.crypto import PrpCrypto

from bot.app import create_app
from bot.channels.wecom import WeComChannel
from bot.runtime import freeze_startup_heap, start
from config.settings import load_settings
from models import Case

CORP_ID, TOKEN, AES_KEY = "wx5823bf96d3bd56c7", "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
COMPOUNDS = ["铁塔厂家属院", "铁塔新村", "发电厂生活区", "卫校家属楼", "秦机小区", "红旗路小区", "石坝河小区", "峪泉小区"]
PROBLEMS = ["{b}号楼门口路灯坏了", "{b}号楼电梯又坏了，老人下不了楼", "{b}号楼下水道堵了，污水冒出来了",
            "{b}号楼门口垃圾好几天没人清运", "{b}号楼楼道有人飞线充电"]


def sealed(text: str, user: str, msg_id: int, timestamp: int) -> tuple[dict[str, str], bytes]:
    """One text callback as WeCom sends it: the query (signature) and the XML body with the encrypted message."""
    return sealed_xml(f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
                      f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                      f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>",
                      timestamp)


def enter_agent(user: str, timestamp: int) -> tuple[dict[str, str], bytes]:
    """An enter_agent event: verified, decrypted and parsed, then answered empty without reaching the core."""
    return sealed_xml(f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
                      f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                      f"<Event><![CDATA[enter_agent]]></Event><AgentID>1000002</AgentID></xml>", timestamp)


def sealed_xml(plaintext: str, timestamp: int) -> tuple[dict[str, str], bytes]:
    encrypted = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt(plaintext, CORP_ID).decode()
    nonce = uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted([TOKEN, str(timestamp), nonce, encrypted])).encode()).hexdigest()
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    return {"msg_signature": signature, "timestamp": str(timestamp), "nonce": nonce}, body.encode()


MSG_IDS = itertools.count(7_000_000_000_000_000_000)


def scripts(count: int, rng: random.Random, *, reports: float = 0.8) -> list[list[tuple[dict[str, str], bytes]]]:
    """Callback sequences, each from one resident: a report and its confirmation, or a status query."""
    sequences: list[list[tuple[dict[str, str], bytes]]] = []
    produced, now = 0, int(time.time())
    while produced < count:
        user = f"resident{rng.randrange(1_000_000)}"
        if rng.random() < reports:
            problem = rng.choice(COMPOUNDS) + rng.choice(PROBLEMS).format(b=rng.randint(1, 4))  # every compound here has buildings 1-4
            texts = [f"#随手拍 {problem}", "确认"]
        else:
            texts = ["我的诉求"]
        sequence = []
        for text in texts:
            sequence.append(sealed(text, user, next(MSG_IDS), now))
        sequences.append(sequence)
        produced += len(sequence)
    return sequences


async def measure(url: str, sequences: list[list[tuple[dict[str, str], bytes]]], concurrency: int, *,
                  surface_only: bool = False) -> dict:
    latencies: list[float] = []
    queue = list(sequences)
    failures = 0
    expect_reply = not surface_only

    async def sender(http: aiohttp.ClientSession) -> None:
        nonlocal failures
        while queue:
            for params, body in queue.pop():
                began = time.perf_counter()
                async with http.post(url, params=params, data=body) as response:
                    answer = await response.read()
                latencies.append(time.perf_counter() - began)
                if response.status != 200 or (b"<Encrypt>" in answer) != expect_reply:
                    failures += 1


    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        began = time.perf_counter()
        await asyncio.gather(*(sender(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "callbacks": len(latencies), "per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2), "failures": failures,
    }


async def measure_at_rate(url: str, sequences: list[list[tuple[dict[str, str], bytes]]], rate: float, *,
                          surface_only: bool = False) -> dict:
    """The sequences started at `rate` callbacks/s on average (open loop), each one's callbacks in turn."""
    latencies: list[float] = []
    lags: list[float] = []
    failures = 0
    last = 0.0
    callbacks = sum(len(sequence) for sequence in sequences)
    expect_reply = not surface_only

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        async def resident(n: int, due: float) -> None:
            nonlocal failures, last
            lags.append(time.perf_counter() - due)
            began = due
            for params, body in sequences[n]:
                async with http.post(url, params=params, data=body) as response:
                    answer = await response.read()
                last = time.perf_counter()
                latencies.append(last - began)
                began = last
                if response.status != 200 or (b"<Encrypt>" in answer) != expect_reply:
                    failures += 1
            if len(sequences[n]) == 2:
                confirmations.append(answer)

        confirmations: list[bytes] = []
        outcomes, began = await at_rate(len(sequences), callbacks / len(sequences) / rate, resident)
    failures += sum(isinstance(outcome, BaseException) for outcome in outcomes)
    return {"callbacks": len(latencies), "per_s": round(len(latencies) / (last - began), 1),
            **summary(rate, len(latencies), began, last, latencies, lags), "failures": failures,
            "reports": len(confirmations), "answered_filed": sum(map(answered_filed, confirmations))}


def answered_filed(answer: bytes) -> bool:
    """Whether an encrypted passive reply says a case was filed (a new one, or one merged into a duplicate); a
    report whose place the bot asked to choose is not filed by its 确认, in either mode."""
    sealed = re.search(rb"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", answer)
    said = PrpCrypto(base64.b64decode(AES_KEY + "=")).decrypt(sealed.group(1).decode(), CORP_ID) if sealed else ""
    return "已受理" in said or "已并入" in said


def platform_side() -> Commands:
    """WeCom's side: seals the callbacks and posts them, 16 at a time."""
    rng = random.Random(11)

    async def post(url: str, count: int, concurrency: int, reports: float = 0.8) -> dict:
        return await measure(url, scripts(count, rng, reports=reports), concurrency)

    async def post_events(url: str, count: int, concurrency: int) -> dict:
        events = [[enter_agent(f"member{i}", int(time.time()))] for i in range(count)]
        return await measure(url, events, concurrency, surface_only=True)

    async def post_at_rate(url: str, count: int, rate: float, reports: float = 0.8) -> dict:
        return await measure_at_rate(url, scripts(count, rng, reports=reports), rate)

    async def post_events_at_rate(url: str, count: int, rate: float) -> dict:
        events = [[enter_agent(f"member{i}", int(time.time()))] for i in range(count)]
        return await measure_at_rate(url, events, rate, surface_only=True)

    return {"post": post, "post_events": post_events, "post_at_rate": post_at_rate,
            "post_events_at_rate": post_events_at_rate}


async def bench(backend: str, messages: int, concurrency: int, profile: str | None = None,
                under_callgrind: bool = False, rate: float | None = None, seconds: float = 10.0) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        url = await fresh_database(backend, Path(workdir))
        try:
            settings = load_settings({}, database_url=url, wecom_corp_id=CORP_ID, wecom_token=TOKEN,
                                     wecom_aes_key=AES_KEY, wecom_agent_id="1000002", wecom_secret="unused",
                                     wecom_api_base="http://127.0.0.1:9", scheduler_in_serve=False,
                                     delivery_tick_seconds=60.0, log_level="WARNING")
            runtime = await start(settings)
            freeze_startup_heap()  # as `run.py serve` does
            runner = web.AppRunner(create_app(runtime.services, runtime.dispatcher,
                                              [WeComChannel(runtime.dispatcher)]), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            try:
                callback = f"http://127.0.0.1:{port}/wecom/callback"
                async with Peer(platform_side) as wecom:
                    await wecom.ask("post", url=callback, count=100, concurrency=concurrency)  # warm-up
                    async with runtime.services.sessions() as session:
                        warm_cases = await session.scalar(select(func.count()).select_from(Case))
                    load = ({"rate": rate} if rate else {"concurrency": concurrency})
                    post, post_events = ("post_at_rate", "post_events_at_rate") if rate else ("post", "post_events")
                    if rate:
                        messages = round(rate * seconds)
                    cpu = time.process_time()
                    with counted(under_callgrind), profiled(profile):
                        figures = await wecom.ask(post, url=callback, count=messages, **load)
                    # the service's CPU seconds (this process; the senders are the other): robust to a loaded machine
                    figures["service_cpu_ms_per_callback"] = round((time.process_time() - cpu) * 1000 / messages, 2)
                    async with runtime.services.sessions() as session:
                        figures["cases_filed"] = await session.scalar(select(func.count()).select_from(Case))
                    figures["status_queries_only"] = await wecom.ask(post, url=callback, count=messages, **load,
                                                                     reports=0.0)
                    figures["surface_only"] = await wecom.ask(post_events, url=callback, count=messages, **load)
            finally:
                await runner.cleanup()
                await runtime.close()
        finally:
            await drop_database(url)
    if rate:  # every callback answered as expected, and every answer that says a case was filed is a row
        failures = sum(f["failures"] for f in (figures, figures["status_queries_only"], figures["surface_only"]))
        filed = figures["cases_filed"] - warm_cases
        if failures or filed != figures["answered_filed"]:
            raise SystemExit(f"lost work at {rate:g} callbacks/s: {failures} callbacks failed, {filed} cases filed "
                             f"where {figures['answered_filed']} answers said so")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, help="open loop: callbacks/s offered instead of --concurrency senders "
                                                   "each waiting for its answer")
    parser.add_argument("--seconds", type=float, default=10.0, help="with --rate: how long each phase posts")
    parser.add_argument("--profile", help="profile the service during the mixed run into this file (pstats; py-spy's "
                                          "samples for a .txt)")
    parser.add_argument("--instructions", action="store_true", help="count instructions per callback (callgrind)")
    parser.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instructions:
        count, run = counted_run(__file__, args.backend, ["--messages", str(args.messages),
                                                          "--concurrency", str(args.concurrency)])
        print(json.dumps({"bench": "wecom_callback", "backend": args.backend, "callbacks": run["callbacks"],
                          "instructions_per_callback": round(count / run["callbacks"]), "run": run},
                         ensure_ascii=False))
        return
    figures: dict = {"bench": "wecom_callback", "python": platform.python_version(), "event_loop": "uvloop",
                     "platform_side": "senders in a second process",
                     **({"load": "open loop", "offered_per_s": args.rate, "seconds_offered": args.seconds}
                        if args.rate else {"load": "closed loop", "concurrency": args.concurrency})}
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        figures[backend] = uvloop.run(bench(backend, args.messages, args.concurrency, args.profile,
                                            args.under_callgrind, args.rate, args.seconds))
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
