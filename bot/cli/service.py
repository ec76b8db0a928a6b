"""Commands that run or maintain the service: serve, chat, migrate, seed, scheduler, outbox, staff invites."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import timedelta
from pathlib import Path

from bot.clock import SystemClock
from bot.jobs.scheduler import JobRunner, Scheduler
from bot.pipeline.invites import DEFAULT_TTL, create_invite
from config.settings import Settings, SettingsError
from models.db import create_engine, migrate, session_factory


def register(commands: argparse._SubParsersAction) -> None:
    """Adds serve, chat, migrate, seed, outbox, staff and scheduler."""
    commands.add_parser("serve", help="start the web service (GET /healthz; channel webhooks)").set_defaults(
        run=serve_command)
    chat = commands.add_parser("chat", help="talk to the bot from the terminal, one line per message")
    where = chat.add_mutually_exclusive_group()
    where.add_argument("--group", help="unit code or name of the bound group to speak in (default: private chat)")
    chat.add_argument("--user", default="居民", help="resident code from the district (R001) or a new display name")
    chat.add_argument("--staff", help="act as this staff member (staff code)")
    chat.set_defaults(run=chat_command)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=migrate_command)
    seed = commands.add_parser("seed", help="load the configured district, or a synthetic Weibin-scale one")
    seed.add_argument("--district", type=Path, help="district YAML (default: GRIDBOT_DISTRICT_PATH)")
    seed.add_argument("--synthetic", action="store_true", help="generate a district at full Weibin scale")
    seed.add_argument("--cases", type=int, default=0, help="with --synthetic: historical cases to generate")
    seed.set_defaults(run=seed_command)
    outbox = commands.add_parser(
        "outbox", help="list unsent notifications (pending, sending, failed, dead), or re-queue dead ones")
    outbox.add_argument("--retry", metavar="ID|all-dead")
    outbox.add_argument("--dead", action="store_true", help="only the dead letters, each with the reason")
    outbox.set_defaults(run=outbox_command)
    staff = commands.add_parser("staff", help="staff accounts: one-time invite links")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    invite = staff_commands.add_parser(
        "invite", help="print a one-time deep link that binds a chat account to a staff member")
    invite.add_argument("code", help="staff code, e.g. W001")
    invite.set_defaults(run=staff_command)
    scheduler = commands.add_parser(
        "scheduler", help="run the cron jobs (reminders, escalation, digests, weekly reports)")
    scheduler.add_argument("--once", action="store_true", help="run what is due now once (catching up) and exit")
    scheduler.set_defaults(run=scheduler_command)


async def migrate_command(settings: Settings, args: argparse.Namespace) -> int:
    """Applies the Alembic migrations to the configured database."""
    engine = create_engine(settings.database_url, drivers=settings.database_drivers)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    print(f"migrated {settings.database_url.split('@')[-1]}")
    return 0


async def seed_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.community.claimers import load_district_claimers
    from bot.grid.district import DistrictError, load_district
    from bot.grid.synthetic import generate_synthetic

    engine = create_engine(settings.database_url, drivers=settings.database_drivers)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        now = SystemClock().now()
        if args.synthetic:
            summary = await generate_synthetic(sessions, now=now, cases=args.cases)
        else:
            try:
                async with sessions.begin() as session:
                    summary = await load_district(session, args.district or settings.district_path, now=now)
                    await load_district_claimers(session, args.district or settings.district_path, now=now)
            except DistrictError as exc:
                print(f"gridbot: {exc}", file=sys.stderr)
                return 2
    finally:
        await engine.dispose()
    print(json.dumps({"units": summary.units, "staff": summary.staff, "groups": summary.groups,
                      "residents": summary.residents, "cases": args.cases if args.synthetic else 0},
                     ensure_ascii=False))
    return 0


async def chat_command(settings: Settings, args: argparse.Namespace) -> int:
    """Reads lines from stdin and prints replies and notices, through the same dispatcher as every channel."""
    from bot.channels.console import ConsoleChannel
    from bot.runtime import start
    from models import Staff

    runtime = await start(settings)
    try:
        console = ConsoleChannel(runtime.dispatcher, sys.stdout)
        group_chat = None
        if args.group:
            unit = runtime.services.directory.resolve(args.group)
            if unit is None:
                print(f"gridbot: no unit called {args.group!r}", file=sys.stderr)
                return 2
            group_chat = f"group:{unit.code}"
        user_id, user_name = args.user, args.user
        if args.staff:
            async with runtime.services.sessions() as session:
                from sqlalchemy import select

                staff = await session.scalar(select(Staff).where(Staff.code == args.staff))
            if staff is None:
                print(f"gridbot: no staff member with code {args.staff!r}", file=sys.stderr)
                return 2
            user_id, user_name = staff.code, staff.name
        interactive = sys.stdin.isatty()
        while True:
            if interactive:
                print("> ", end="", flush=True)
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            if line.strip():
                await console.say(line.rstrip("\n"), user_id=user_id, user_name=user_name, group_chat=group_chat)
                sys.stdout.flush()
    finally:
        await runtime.close()
    return 0


def serve_command(settings: Settings, args: argparse.Namespace) -> int:
    """Serves the web app until stopped, on uvloop unless GRIDBOT_EVENT_LOOP=asyncio."""
    from bot.runtime import run_on_loop

    return run_on_loop(settings, serve(settings))


async def serve(settings: Settings) -> int:
    from aiohttp import web

    from bot.app import PathAccessLogger, create_app
    from bot.channels.registry import enabled_channels
    from bot.runtime import event_loop_name, freeze_startup_heap, shut_down, start, until_stopped

    runtime = await start(settings)
    try:
        channels = enabled_channels(runtime)
    except SettingsError as exc:
        await runtime.close()
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    freeze_startup_heap()
    runner = web.AppRunner(create_app(runtime.services, runtime.dispatcher, channels, background=True),
                           shutdown_timeout=settings.shutdown_grace_seconds, access_log_class=PathAccessLogger)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log = logging.getLogger("gridbot")
    log.info("serving on http://%s:%s (event loop: %s)", settings.host, settings.port, event_loop_name())
    try:
        signal_name = await until_stopped()
        log.info("%s received: shutting down (new updates refused, in-flight work finishes)", signal_name)
    finally:
        await shut_down(runner)
        await runtime.close()
    log.info("stopped")
    return 0


async def outbox_command(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.delivery.outbox import requeue
    from bot.pipeline.identities import mask_phones_in
    from models import Outbox, SendState

    engine = create_engine(settings.database_url, drivers=settings.database_drivers)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        if args.retry:
            ids = None if args.retry == "all-dead" else [int(part) for part in args.retry.split(",")]
            print(f"re-queued {await requeue(sessions, ids, now=SystemClock().now())}")
            return 0
        async with sessions() as session:
            shown = Outbox.state == SendState.DEAD if args.dead else Outbox.state != SendState.SENT
            rows = (await session.scalars(select(Outbox).where(shown).order_by(Outbox.id))).all()
        for row in rows:
            print(f"{row.id}\t{row.state.value}\t{row.channel}\t{row.recipient}\tattempts={row.attempts}\t"
                  f"{row.last_error or ''}\t{mask_phones_in(row.text)[:40]!r}")
        if args.dead:
            print(f"{len(rows)} dead letter(s); re-queue with outbox --retry ID|all-dead")
    finally:
        await engine.dispose()
    return 0


async def issue_invite(settings: Settings, staff_code: str, *, ttl: timedelta = DEFAULT_TTL) -> str:
    """Opens the configured database, stores an invite for the staff member and returns its token."""
    engine = create_engine(settings.database_url, drivers=settings.database_drivers)
    try:
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            return await create_invite(session, staff_code, now=SystemClock().now(), ttl=ttl)
    finally:
        await engine.dispose()


async def staff_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints a one-time invite: the Telegram deep link when Telegram is configured, else the bare token."""
    from bot.pipeline.invites import InviteError

    try:
        token = await issue_invite(settings, args.code)
    except InviteError as exc:
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    if settings.telegram_token:
        from bot.channels.telegram import invite_link

        print(await invite_link(settings, token))
    else:
        print(token)
    return 0


async def run_scheduler(settings: Settings, *, once: bool = False) -> int:
    """`run.py scheduler`: runs the cron jobs until stopped, or what is due now once with --once."""
    from bot.runtime import event_loop_name, freeze_startup_heap, start, until_stopped

    runtime = await start(settings)
    runner = JobRunner(runtime.services)
    logging.getLogger("gridbot").info("scheduler started (event loop: %s)", event_loop_name())
    try:
        if once:
            for job, slot, outcome in await runner.run_due(runtime.services.clock.now()):
                print(f"{job}\t{slot}\t{outcome}")
            return 0
        freeze_startup_heap()
        scheduler = Scheduler(runner)
        scheduler.start()
        try:
            logging.getLogger("gridbot").info("%s received: scheduler stopping", await until_stopped())
        finally:
            await scheduler.stop()
    finally:
        await runtime.close()
    return 0


def scheduler_command(settings: Settings, args: argparse.Namespace) -> int:
    """Runs the scheduler, on uvloop unless GRIDBOT_EVENT_LOOP=asyncio."""
    from bot.runtime import run_on_loop

    return run_on_loop(settings, run_scheduler(settings, once=args.once))
