"""A running gridbot core on a test database, driven through the console channel like a person would."""

from __future__ import annotations

import io
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.channels.console import ConsoleChannel
from bot.clock import FrozenClock
from bot.pipeline.messages import Inbound, Media, Reply
from bot.runtime import Runtime, start
from config.settings import load_settings
from models import Case, CaseEvent, InboundMessage, Outbox

START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 09:00 in Asia/Shanghai
# The database drivers the tests run on; CI runs the database tests once more with GRIDBOT_DATABASE_DRIVERS=stock.
TEST_DRIVERS = os.environ.get("GRIDBOT_DATABASE_DRIVERS", "fast")


@dataclass
class Harness:
    runtime: Runtime
    clock: FrozenClock
    console: ConsoleChannel
    out: io.StringIO

    @classmethod
    async def start(cls, database_url: str, **overrides: Any) -> Harness:
        settings = load_settings({}, database_url=database_url, **{"database_drivers": TEST_DRIVERS, **overrides})
        clock = FrozenClock(START)
        runtime = await start(settings, clock)
        out = io.StringIO()
        return cls(runtime, clock, ConsoleChannel(runtime.dispatcher, out), out)

    async def close(self) -> None:
        await self.runtime.close()

    @property
    def services(self):  # type: ignore[no-untyped-def]
        return self.runtime.services

    def inbound(self, user_id: str, text: str, *, name: str | None = None, group: str | None = None,
                photos: int = 0, mention: bool = False, message_id: str | None = None, **extra: Any) -> Inbound:
        return Inbound(
            channel="console", chat_id=f"group:{group}" if group else f"private:{user_id}", is_group=group is not None,
            sender_id=user_id, sender_name=name or user_id, text=text,
            message_id=message_id or uuid.uuid4().hex, sent_at=self.clock.now(),
            media=tuple(Media("photo", f"photo-{uuid.uuid4().hex[:8]}") for _ in range(photos)),
            mentions_bot=mention, **extra,
        )

    async def send(self, inbound: Inbound) -> list[Reply]:
        return await self.runtime.dispatcher.handle(inbound)

    async def resident(self, name: str, text: str, **kwargs: Any) -> str:
        """A resident's message (a demo resident's code such as R001, or a new name); returns the bot's replies
        joined, '' when the bot stayed silent."""
        replies = await self.send(self.inbound(name, text, name=name, **kwargs))
        return "\n".join(r.text for r in replies)

    async def staff(self, code: str, text: str, **kwargs: Any) -> str:
        replies = await self.send(self.inbound(code, text, **kwargs))
        return "\n".join(r.text for r in replies)

    async def report(self, name: str, text: str, **kwargs: Any) -> Case:
        """A resident files a report end to end (answering the confirmation) and returns the case."""
        answer = await self.resident(name, f"#随手拍 {text}", **kwargs)
        assert "确认" in answer, answer
        answer = await self.resident(name, "确认", **kwargs)
        assert "编号 #" in answer or "已并入" in answer, answer
        return await self.latest_case()

    async def latest_case(self) -> Case:
        async with self.services.sessions() as session:
            return (await session.scalars(select(Case).order_by(Case.id.desc()).limit(1))).unique().one()

    async def case(self, case_id: int) -> Case:
        async with self.services.sessions() as session:
            case = await session.get(Case, case_id)
            assert case is not None
            return case

    async def cases(self) -> list[Case]:
        async with self.services.sessions() as session:
            return list((await session.scalars(select(Case).order_by(Case.id))).unique().all())

    async def events(self, case_id: int) -> list[CaseEvent]:
        async with self.services.sessions() as session:
            return list((await session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))).all())

    async def outbox(self, recipient: str | None = None) -> list[Outbox]:
        async with self.services.sessions() as session:
            query = select(Outbox).order_by(Outbox.id)
            if recipient is not None:
                query = query.where(Outbox.recipient == recipient)
            return list((await session.scalars(query)).all())

    async def inbound_rows(self) -> list[InboundMessage]:
        async with self.services.sessions() as session:
            return list((await session.scalars(select(InboundMessage).order_by(InboundMessage.id))).all())
