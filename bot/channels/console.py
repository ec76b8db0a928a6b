"""The console channel: lines from a terminal or a script become Inbound messages; notices print as text."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable
from typing import TextIO

from bot.delivery.outbox import SendResult
from bot.delivery.runner import drain
from bot.pipeline.dispatcher import Dispatcher
from bot.pipeline.messages import Inbound, Media, Reply
from models import Outbox

CHANNEL = "console"
MENTION = re.compile(r"^@(gridbot|网格助手)\s*", re.IGNORECASE)
PHOTO = re.compile(r"\[(图片|照片|photo)\]", re.IGNORECASE)


def render(reply_text: str, buttons: Iterable[tuple[str, str]] | Iterable) -> str:
    labels = [b[0] if isinstance(b, list | tuple) else b.label for b in buttons]
    return reply_text + (("\n  [" + "] [".join(labels) + "]") if labels else "")


class ConsoleSender:
    """Prints outbox notices addressed to console identities."""

    channel = CHANNEL

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send(self, row: Outbox) -> SendResult:
        where = row.chat_id.removeprefix("private:")
        if mention := row.extras.get("mention"):
            where += f" @{mention['name']}"
        body = render(row.text, row.extras.get("buttons", [])).replace("\n", "\n    ")
        self.out.write(f"  → 通知 {where}：{body}\n")
        return SendResult(ok=True)


class ConsoleChannel:
    """One person typing into the bot, in a bound group or in a private chat."""

    def __init__(self, dispatcher: Dispatcher, out: TextIO) -> None:
        self.dispatcher = dispatcher
        self.sender = ConsoleSender(out)
        self.out = out
        self._photos = itertools.count(1)

    def inbound(self, line: str, *, user_id: str, user_name: str, group_chat: str | None) -> Inbound:
        """Builds the Inbound for one typed line: '@gridbot' is a mention, '[图片]' attaches a photo."""
        mentioned = bool(MENTION.match(line))
        text = MENTION.sub("", line)
        photos = tuple(Media("photo", f"console-photo-{next(self._photos)}") for _ in PHOTO.findall(text))
        text = PHOTO.sub("", text).strip()
        return Inbound(
            channel=CHANNEL, chat_id=group_chat or f"private:{user_id}", is_group=group_chat is not None,
            sender_id=user_id, sender_name=user_name, text=text, message_id=uuid.uuid4().hex,
            sent_at=self.dispatcher.services.clock.now(), media=photos, mentions_bot=mentioned,
        )

    async def say(self, line: str, *, user_id: str, user_name: str, group_chat: str | None) -> list[Reply]:
        """Sends one line as that person, prints the bot's replies and then any notices it caused."""
        replies = await self.dispatcher.handle(self.inbound(line, user_id=user_id, user_name=user_name,
                                                            group_chat=group_chat))
        for reply in replies:
            self.out.write("  bot：" + render(reply.text, reply.buttons).replace("\n", "\n       ") + "\n")
        await self.flush()
        return replies

    async def flush(self) -> int:
        services = self.dispatcher.services
        return await drain(services.sessions, self.sender, services.clock)
