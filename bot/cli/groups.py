"""`groups list|webhook`: the resident groups bound to the grid, and the WeCom group robot key each one sends by."""

from __future__ import annotations

import argparse
import re
import sys

from sqlalchemy import select

from bot.cli.errors import CommandError
from models import ChatGroup, GridUnit
from models.db import create_engine, migrate, session_factory

WEBHOOK_KEY = "webhook_key"
# A WeCom group robot's key is the `key` of its webhook address: a UUID today; letters, digits and dashes always.
KEY_PATTERN = re.compile(r"[A-Za-z0-9-]{8,64}")
WEBHOOK_URL_KEY = re.compile(r"[?&]key=([^&\s]+)")


def register(commands: argparse._SubParsersAction) -> None:
    """Adds groups list and groups webhook."""
    groups = commands.add_parser("groups", help="resident groups bound to the grid, and WeCom group robot keys")
    actions = groups.add_subparsers(dest="groups_command", required=True)
    listing = actions.add_parser("list", help="list bound groups (channel, chat id, unit, title, robot key set)")
    listing.add_argument("--channel", help="only this channel (console, telegram, wechat, wecom)")
    webhook = actions.add_parser(
        "webhook", help="set the WeCom group robot key a group's notices are sent by (read from standard input, "
                        "so it stays out of the shell history); the robot's whole webhook address is taken too")
    webhook.add_argument("chat_id", help="the WeCom group's chat id (see `groups list --channel wecom`)")
    webhook.add_argument("--clear", action="store_true", help="remove the key: the group gets no more notices")
    groups.set_defaults(run=groups_command)


def key_from(line: str) -> str:
    """The robot key in a pasted key or webhook address; refuses anything else without echoing it."""
    line = line.strip()
    if found := WEBHOOK_URL_KEY.search(line):
        line = found.group(1)
    if not KEY_PATTERN.fullmatch(line):
        raise CommandError("standard input holds no WeCom robot key: paste the key or the robot's webhook address "
                           "(…/cgi-bin/webhook/send?key=…)")
    return line


async def groups_command(settings, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """Runs one groups action against the configured database."""
    key = None
    if args.groups_command == "webhook" and not args.clear:
        key = key_from(sys.stdin.readline())
    engine = create_engine(settings.database_url, drivers=settings.database_drivers)
    try:
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            if args.groups_command == "list":
                query = select(ChatGroup, GridUnit).join(GridUnit, GridUnit.id == ChatGroup.unit_id)
                if args.channel:
                    query = query.where(ChatGroup.channel == args.channel)
                rows = (await session.execute(query.order_by(ChatGroup.channel, ChatGroup.chat_id))).all()
                if not rows:
                    raise CommandError("no bound groups: load a district with `run.py seed`, or `/bind` in a group")
                for group, unit in rows:
                    robot = "robot key set" if (group.extras or {}).get(WEBHOOK_KEY) else "-"
                    print(f"{group.channel}\t{group.chat_id}\t{unit.code}\t{group.title}\t{robot}")
                return 0
            group = await session.scalar(select(ChatGroup).where(ChatGroup.channel == "wecom",
                                                                 ChatGroup.chat_id == args.chat_id))
            if group is None:
                raise CommandError(f"no bound WeCom group {args.chat_id!r}: bind it first (`/bind <unit>` in the "
                                   "group, or the district file's groups:), then see `run.py groups list`")
            extras = {name: value for name, value in (group.extras or {}).items() if name != WEBHOOK_KEY}
            group.extras = extras if key is None else {**extras, WEBHOOK_KEY: key}
            print(f"{args.chat_id}: robot key {'removed' if key is None else 'set'}")
    finally:
        await engine.dispose()
    return 0
