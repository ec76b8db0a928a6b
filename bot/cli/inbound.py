"""`inbound --failed`: the messages whose handling failed, kept in the ledger for staff to follow up."""

from __future__ import annotations

import argparse

from bot.cli.errors import CommandError
from config.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:
    """Adds inbound."""
    inbound = commands.add_parser("inbound", help="list inbound messages from the ledger")
    inbound.add_argument("--failed", action="store_true", help="the messages whose handling failed (required)")
    inbound.add_argument("--limit", type=int, default=100, help="at most this many, newest first (default 100)")
    inbound.set_defaults(run=inbound_command)


async def inbound_command(settings: Settings, args: argparse.Namespace) -> int:
    """Prints one line per failed ledger row: id, channel, when, sender, error, and the text with phones masked."""
    from sqlalchemy import select

    from bot.pipeline.identities import mask_phones_in
    from models import InboundMessage, InboundStatus
    from models.db import create_engine, migrate, session_factory

    if not args.failed:
        raise CommandError("say which messages: inbound --failed")
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    engine = create_engine(settings.database_url, drivers=settings.database_drivers)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session:
            rows = (await session.scalars(select(InboundMessage).where(InboundMessage.status == InboundStatus.FAILED)
                                          .order_by(InboundMessage.id.desc()).limit(args.limit))).all()
    finally:
        await engine.dispose()
    for row in rows:
        error = (row.error or "").splitlines()[0][:80] if row.error else ""
        text = mask_phones_in((row.text or "").replace("\n", " "))[:60]
        when = row.received_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        print(f"{row.id}\t{row.channel}\t{when}\t{row.sender_id}\t{error}\t{text}")
    print(f"{len(rows)} failed message(s)")
    return 0
