"""`apikey create|revoke|list`: the keys other systems (Open311 clients, the JSON API) call gridbot with."""

from __future__ import annotations

import argparse

from bot.cli.errors import CommandError
from bot.clock import SystemClock
from bot.web.keys import ApiKeyRefused, create_key, list_keys, revoke_key
from config.settings import Settings
from models.db import create_engine, migrate, session_factory


def register(commands: argparse._SubParsersAction) -> None:
    """Adds apikey create, revoke and list."""
    apikey = commands.add_parser("apikey", help="API keys for Open311 clients and the JSON API")
    actions = apikey.add_subparsers(dest="apikey_command", required=True)
    create = actions.add_parser("create", help="create a key and print it (shown once)")
    create.add_argument("name", help="who the key is for, e.g. 12345-hotline")
    create.add_argument("--staff", metavar="CODE", help="a staff member's own key: acts within their scope")
    create.add_argument("--unit", metavar="CODE", help="limit an integration to this unit's subtree")
    create.add_argument("--per-minute", type=int, default=120, help="requests a minute before 429 (default 120)")
    revoke = actions.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    actions.add_parser("list", help="list keys (names and prefixes, never the keys)")
    apikey.set_defaults(run=apikey_command)


async def apikey_command(settings: Settings, args: argparse.Namespace) -> int:
    """Runs one apikey action against the configured database."""
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        now = SystemClock().now()
        async with sessions.begin() as session:
            if args.apikey_command == "create":
                key = await create_key(session, args.name, now=now, staff_code=args.staff, unit_code=args.unit,
                                       per_minute=args.per_minute)
                print(key)
            elif args.apikey_command == "revoke":
                await revoke_key(session, args.name, now=now)
                print(f"revoked {args.name}")
            else:
                for row in await list_keys(session):
                    state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                    print(f"{row.name}\t{row.prefix}…\t{state}\t{row.per_minute}/min")
    except ApiKeyRefused as exc:
        raise CommandError(str(exc)) from None
    finally:
        await engine.dispose()
    return 0
