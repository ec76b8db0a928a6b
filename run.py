#!/usr/bin/env python3
"""gridbot command line: serve | demo | chat | classify | migrate | seed | outbox | scheduler | report."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import sys
from pathlib import Path

from config.settings import Settings, SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run.py", description="gridbot: resident requests on the community grid")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="start the web service (GET /healthz; channel webhooks)")
    demo = commands.add_parser("demo", help="run a scripted day in the demo district and print the transcript")
    demo.add_argument("--database", help="database URL (default: a fresh SQLite file var/demo.db)")
    chat = commands.add_parser("chat", help="talk to the bot from the terminal, one line per message")
    where = chat.add_mutually_exclusive_group()
    where.add_argument("--group", help="unit code or name of the bound group to speak in (default: private chat)")
    chat.add_argument("--user", default="居民", help="resident code from the district (R001) or a new display name")
    chat.add_argument("--staff", help="act as this staff member (staff code)")
    classify = commands.add_parser("classify", help="classify a message, or a CSV with a text column")
    classify.add_argument("text", nargs="?")
    classify.add_argument("--file", type=Path)
    classify.add_argument("--out", type=Path)
    commands.add_parser("migrate", help="apply database migrations")
    seed = commands.add_parser("seed", help="load the configured district, or a synthetic Weibin-scale one")
    seed.add_argument("--district", type=Path, help="district YAML (default: GRIDBOT_DISTRICT_PATH)")
    seed.add_argument("--synthetic", action="store_true", help="generate a district at full Weibin scale")
    seed.add_argument("--cases", type=int, default=0, help="with --synthetic: historical cases to generate")
    outbox = commands.add_parser("outbox", help="list unsent notifications (pending, sending, failed, dead), or re-queue dead ones")
    outbox.add_argument("--retry", metavar="ID|all-dead")
    staff = commands.add_parser("staff", help="staff accounts: one-time invite links")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    invite = staff_commands.add_parser("invite", help="print a one-time deep link that binds a chat account to a staff member")
    invite.add_argument("code", help="staff code, e.g. W001")
    scheduler = commands.add_parser("scheduler", help="run the cron jobs (reminders, escalation, digests, weekly reports)")
    scheduler.add_argument("--once", action="store_true", help="run what is due now once (catching up) and exit")
    report = commands.add_parser("report", help="preview a report")
    report_kinds = report.add_subparsers(dest="report_kind", required=True)
    weekly = report_kinds.add_parser("weekly", help="print a unit's weekly progress report")
    weekly.add_argument("--unit", required=True, help="unit code or name, e.g. JT-TTC or JT-TTC-01")
    weekly.add_argument("--week", help="ISO week such as 2026-W48 (default: last week)")
    weekly.add_argument("--chart", type=Path, help="also write the eight-week chart to this PNG")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    if args.command == "classify":
        return classify_command(settings, args)
    return asyncio.run(COMMANDS[args.command](settings, args))


def classify_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints one JSON object for a text, or writes a CSV with intent, category and confidence columns."""
    from bot.classifier import Classifier
    from bot.rules import RulesError, load_rules

    try:
        classifier = Classifier(load_rules(settings.rules_path))
    except RulesError as exc:
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    if args.file is None:
        if args.text is None:
            print("gridbot: give a text or --file in.csv --out out.csv", file=sys.stderr)
            return 2
        print(json.dumps(classifier.classify(args.text).as_dict(), ensure_ascii=False))
        return 0
    if args.out is None:
        print("gridbot: --file needs --out", file=sys.stderr)
        return 2
    with args.file.open(encoding="utf-8-sig", newline="") as source:
        reader = csv.DictReader(source)
        if not reader.fieldnames or "text" not in reader.fieldnames:
            print(f"gridbot: {args.file} has no 'text' column", file=sys.stderr)
            return 2
        columns = [*reader.fieldnames, *(c for c in ("intent", "category", "category_name", "confidence")
                                         if c not in reader.fieldnames)]
        with args.out.open("w", encoding="utf-8", newline="") as target:
            writer = csv.DictWriter(target, fieldnames=columns)
            writer.writeheader()
            for row in reader:
                result = classifier.classify(row["text"] or "")
                row.update(intent=result.intent.value, category=result.category.code if result.category else "",
                           category_name=result.category.name if result.category else "",
                           confidence=f"{result.confidence:.3f}")
                writer.writerow(row)
    return 0


async def migrate_command(settings: Settings, args: argparse.Namespace) -> int:
    from models.db import create_engine, migrate

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    print(f"migrated {settings.database_url.split('@')[-1]}")
    return 0


async def seed_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from bot.district import DistrictError, load_district
    from bot.synthetic import generate_synthetic
    from models.db import create_engine, migrate, session_factory

    engine = create_engine(settings.database_url)
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


async def demo_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return await run_demo(settings, sys.stdout, database_url=args.database)


async def serve_command(settings: Settings, args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.app import create_app
    from bot.channels.registry import enabled_channels
    from bot.runtime import freeze_startup_heap, start

    runtime = await start(settings)
    try:
        channels = enabled_channels(runtime)
    except SettingsError as exc:
        await runtime.close()
        print(f"gridbot: {exc}", file=sys.stderr)
        return 2
    freeze_startup_heap()
    runner = web.AppRunner(create_app(runtime.services, runtime.dispatcher, channels, background=True))
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    logging.getLogger("gridbot").info("serving on http://%s:%s", settings.host, settings.port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await runtime.close()
    return 0


async def outbox_command(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from bot.clock import SystemClock
    from bot.outbox import requeue
    from models import Outbox, SendState
    from models.db import create_engine, migrate, session_factory

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        if args.retry:
            ids = None if args.retry == "all-dead" else [int(part) for part in args.retry.split(",")]
            print(f"re-queued {await requeue(sessions, ids, now=SystemClock().now())}")
            return 0
        async with sessions() as session:
            rows = (await session.scalars(select(Outbox).where(
                Outbox.state != SendState.SENT).order_by(Outbox.id))).all()
        for row in rows:
            print(f"{row.id}\t{row.state.value}\t{row.channel}\t{row.recipient}\tattempts={row.attempts}\t"
                  f"{row.last_error or ''}\t{row.text[:40]!r}")
    finally:
        await engine.dispose()
    return 0


async def staff_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints a one-time invite: the Telegram deep link when Telegram is configured, else the bare token."""
    from bot.invites import InviteError, issue_invite

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


async def scheduler_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.scheduler import run_scheduler

    return await run_scheduler(settings, once=args.once)


async def report_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.reports import preview_weekly

    return await preview_weekly(settings, args.unit, args.week, args.chart, sys.stdout)


COMMANDS = {
    "serve": serve_command, "demo": demo_command, "chat": chat_command, "migrate": migrate_command,
    "seed": seed_command, "outbox": outbox_command, "staff": staff_command, "scheduler": scheduler_command,
    "report": report_command,
}

if __name__ == "__main__":
    sys.exit(main())
