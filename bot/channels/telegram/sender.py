"""Sends outbox rows to Telegram — notices, and the durable replies the channel plans for each message."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.channels.telegram.transport import CHANNEL, UpdatesBot, retry_seconds
from bot.delivery.outbox import Picture, SendResult, note_extras
from bot.pipeline.messages import Button
from models import Outbox

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024  # a photo's caption, counted after entity parsing in UTF-16 code units
IMAGE_SENT = "telegram_message_id"  # set in extras["image"] once the chart went out on its own (see _deliver)
PHOTOS_SENT = "photos_sent"  # in extras: how many of a notice's case photos are out, so a retry skips them
CALLBACK_DATA_LIMIT = 64
FORCE_REPLY = {"force_reply": True, "selective": True, "input_field_placeholder": "直接回复本条消息"}
REPLY_RETRIES = 2  # a reply is sent at once: let the rate limiter wait out a 429 itself before the outbox retries


def _button_rows(buttons: Sequence[Button] | Sequence[Sequence[str]]) -> list[list[tuple[str, str]]]:
    """Rows of at most three (label, payload) pairs; payloads longer than Telegram allows are left out."""
    pairs = [(b.label, b.payload) if isinstance(b, Button) else (str(b[0]), str(b[1])) for b in buttons]
    pairs = [(label, payload) for label, payload in pairs if len(payload.encode()) <= CALLBACK_DATA_LIMIT]
    width = 2 if len(pairs) == 4 else 3
    return [pairs[i:i + width] for i in range(0, len(pairs), width)]


def keyboard(buttons: Sequence[Button] | Sequence[Sequence[str]]) -> InlineKeyboardMarkup | None:
    """The inline keyboard as PTB's object (for PTB's own calls: photos)."""
    rows = _button_rows(buttons)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=payload) for label, payload in row]
                                 for row in rows]) if rows else None


def keyboard_json(buttons: Sequence[Button] | Sequence[Sequence[str]]) -> dict[str, Any] | None:
    """The inline keyboard as the Bot API's JSON (what PTB's InlineKeyboardMarkup.to_dict gives)."""
    if not buttons:
        return None
    rows = _button_rows(buttons)
    return {"inline_keyboard": [[{"text": label, "callback_data": payload} for label, payload in row]
                                for row in rows]} if rows else None


def cut(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class Chart:
    """A notice's picture (the weekly report's chart), and whether an earlier attempt already sent it."""

    picture: Picture
    sent_as: int | None  # the message id of an earlier attempt's photo, when only the text is still owed

    @classmethod
    def of(cls, extras: dict[str, Any]) -> Chart | None:
        picture = Picture.of(extras)
        if picture is None:
            return None
        sent = extras["image"].get(IMAGE_SENT)
        return cls(picture, int(sent) if sent is not None else None)

    @property
    def filename(self) -> str:
        return self.picture.filename

    def upload(self) -> InputFile:
        return InputFile(self.picture.data, filename=self.picture.filename)


class TelegramSender:
    """Sends outbox rows: case photos first, then the text with its inline keyboard and any mention; a chart
    (extras["image"]) goes as an uploaded photo carrying the text as its caption when it fits."""

    channel = CHANNEL

    def __init__(self, bot: UpdatesBot, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.bot = bot
        self.sessions = sessions  # where a chart sent ahead of its text is noted; see _deliver

    @staticmethod
    def is_group_chat(chat_id: str) -> bool:
        """Telegram's groups and channels have negative ids; private chats are the user's own positive id."""
        return chat_id.startswith("-")

    async def send(self, row: Outbox) -> SendResult:
        """Sends one row and maps Telegram's answer to retry-after, transient or permanent."""
        try:
            message_id = await self._deliver(row)
        except Forbidden as exc:
            fallback = (row.extras or {}).get("fallback")
            if fallback is None:  # blocked, or never started: retrying cannot help
                return SendResult(ok=False, permanent=True, error=f"Forbidden: {exc}"[:500])
            return await self.send(_fallback_row(row, fallback))
        except RetryAfter as exc:
            return SendResult(ok=False, retry_after=retry_seconds(exc), error=str(exc)[:500])
        except (BadRequest, ChatMigrated) as exc:  # deleted chat, bad request: retrying cannot help
            return SendResult(ok=False, permanent=True, error=f"{type(exc).__name__}: {exc}"[:500])
        except TelegramError as exc:  # 5xx, timeouts, network: retried by the outbox with backoff
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return SendResult(ok=True, platform_message_id=str(message_id))

    async def _deliver(self, row: Outbox) -> int:
        """Sends the row's parts and returns the id of the message that bears its text (the sent ledger's id).

        Case photos go first, each noted in the row (extras[PHOTOS_SENT]) as it goes, so a retry sends only
        those not yet out. A chart goes out at most once per row, as far as we can know. When the text fits a
        caption, photo and text are one sendPhoto: it delivered everything or nothing, and a retry repeats that
        one call. When the text is too long, the chart goes first with the text's heading as its caption, and
        its message id is written into the row's extras["image"][IMAGE_SENT] (under the same claim, before the
        text is sent); an attempt that finds it there sends only the text. What is left is the window every
        send has: the platform accepted a part but we died, or timed out, before hearing or noting it."""
        try:
            chat_id = int(row.chat_id)
        except ValueError:
            raise BadRequest(f"chat id {row.chat_id!r} is not a Telegram chat") from None
        extras = row.extras or {}
        if edit := extras.get("edit"):
            return await self._edit(chat_id, row.text, edit)
        photos = [m for m in extras.get("media", []) if m.get("kind") == "photo" and m.get("channel") == CHANNEL]
        for number, photo in enumerate(photos, 1):
            if number <= extras.get(PHOTOS_SENT, 0):
                continue  # out in an earlier attempt
            await self.bot.send_photo(chat_id, photo=photo["ref"], caption=f"现场照片 {number}/{len(photos)}")
            row.extras = extras = {**extras, PHOTOS_SENT: number}
            await note_extras(self.sessions, row)
        text, visible, parse_mode = cut(row.text), cut(row.text), None
        if mention := extras.get("mention"):
            name, body = str(mention["name"]), cut(row.text, TEXT_LIMIT - 200)
            link = f'<a href="tg://user?id={int(mention["user_id"])}">{html.escape(name)}</a>'
            text, visible, parse_mode = f"{link} {html.escape(body)}", f"{name} {body}", "HTML"
        buttons = extras.get("buttons", [])
        chart = Chart.of(extras)
        try:
            if chart is not None and chart.sent_as is None and utf16_length(visible) <= CAPTION_LIMIT:
                return (await self.bot.send_photo(chat_id, photo=chart.upload(), caption=text,
                                                  parse_mode=parse_mode, reply_markup=keyboard(buttons))).message_id
            if chart is not None and chart.sent_as is None:
                heading = cut(row.text.split("\n", 1)[0], CAPTION_LIMIT)
                sent = await self.bot.send_photo(chat_id, photo=chart.upload(), caption=heading)
                await self._note_chart_sent(row, sent.message_id)
        except BadRequest as exc:  # a picture Telegram refuses must not cost the text; a bad chat fails again below
            log.warning("chart %s refused for outbox row %s (%s); sending the text alone", chart and chart.filename,
                        row.id, exc)
        answer = extras.get("reply") or {}
        # sendMessage's parameters as the Bot API's JSON, as PTB would write them (nothing unset is sent).
        parameters: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if parse_mode is not None:
            parameters["parse_mode"] = parse_mode
        if (markup := keyboard_json(buttons)) is not None:
            parameters["reply_markup"] = markup
        elif answer.get("force"):
            parameters["reply_markup"] = FORCE_REPLY
        if to := answer.get("to"):
            parameters["reply_parameters"] = {"message_id": int(to), "allow_sending_without_reply": True}
        retries = REPLY_RETRIES if answer and self.bot.rate_limiter is not None else None
        sent = await self.bot.post_json("sendMessage", parameters, rate_limit_args=retries)
        return int(sent["message_id"])

    async def _edit(self, chat_id: int, text: str, edit: dict[str, Any]) -> int:
        """A button's outcome shown in the pressed message; an edit Telegram refuses (unchanged, too old) is moot.
        Returns the edited message's id."""
        message_id = int(edit["message_id"])
        parameters: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": cut(text)}
        if edit.get("keep"):
            parameters["reply_markup"] = edit["keep"]
        try:
            await self.bot.post_json("editMessageText", parameters)
        except BadRequest as exc:
            log.info("edit of telegram message %s refused: %s", message_id, exc)
        return message_id

    async def _note_chart_sent(self, row: Outbox, message_id: int) -> None:
        """Records in the row that its chart is out, so a retry sends only the text."""
        row.extras = {**row.extras, "image": {**row.extras["image"], IMAGE_SENT: message_id}}
        await note_extras(self.sessions, row)


def _fallback_row(row: Outbox, fallback: dict[str, Any]) -> Outbox:
    """The group message that stands in for a private reply the sender cannot receive (no private chat yet)."""
    return Outbox(id=row.id, dedupe_key=row.dedupe_key, channel=row.channel, chat_id=str(fallback["chat_id"]),
                  recipient=row.recipient, text=str(fallback["text"]), attempts=row.attempts, state=row.state,
                  extras={"mention": fallback["mention"], "reply": {"fallback": True}})
