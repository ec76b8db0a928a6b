"""Telegram updates: their shape checked before anything is written, and turned into channel-neutral Inbound."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, Chat, Message, MessageEntity, User

from bot.pipeline.messages import Inbound, Media

CHANNEL = "telegram"
GROUP_CHATS = (Chat.GROUP, Chat.SUPERGROUP)


def split_command(text: str, username: str) -> tuple[str, bool]:
    """'/report@thisbot x' → ('/report x', True); a command addressed to another bot → (text, False)."""
    if not text.startswith("/"):
        return text, True
    head, _, rest = text.partition(" ")
    command, _, target = head.partition("@")
    if target and target.lower() != username.lower():
        return text, False
    return f"{command} {rest}".strip() if rest else command, True


def _entities(message: Message) -> list[tuple[MessageEntity, str]]:
    """The message's entities with their text; an entity whose offsets cut a character in two is left out."""
    entities = message.entities if message.text else message.caption_entities
    parse = message.parse_entity if message.text else message.parse_caption_entity
    found = []
    for entity in entities or ():
        try:
            found.append((entity, parse(entity)))
        except (UnicodeDecodeError, ValueError, IndexError):  # the offsets are the sender's (UTF-16 units)
            continue
    return found


def strip_mentions(message: Message, text: str, bot_user: User) -> tuple[str, bool]:
    """Removes @mentions of this bot from the text and says whether there was one."""
    mentioned = False
    for entity, value in _entities(message):
        if entity.type == MessageEntity.MENTION and value[1:].lower() == (bot_user.username or "").lower():
            mentioned = True
            text = text.replace(value, " ", 1)
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_user.id:
            mentioned = True
    return re.sub(r" {2,}", " ", text).strip() if mentioned else text, mentioned


def to_inbound(message: Message, bot_user: User) -> Inbound | None:
    """The channel-neutral form of a message; None for bots, service messages and other bots' commands."""
    sender = message.from_user
    if sender is None or sender.is_bot:
        return None
    text = message.text or message.caption or ""
    text, mentioned = strip_mentions(message, text, bot_user)
    text, ours = split_command(text, bot_user.username or "")
    if not ours:
        return None
    media: tuple[Media, ...] = ()
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width * size.height, size.file_size or 0))
        media = (Media("photo", largest.file_id, {"channel": CHANNEL, "file_unique_id": largest.file_unique_id,
                                                 "width": largest.width, "height": largest.height}),)
    if not text and not media:
        return None
    reply_to = message.reply_to_message
    quotes_bot = bool(reply_to and reply_to.from_user and reply_to.from_user.id == bot_user.id)
    return Inbound(
        channel=CHANNEL, chat_id=str(message.chat.id), is_group=message.chat.type in GROUP_CHATS,
        sender_id=str(sender.id), sender_name=sender.full_name or str(sender.id), text=text,
        # Telegram message ids are unique per chat; with the chat they survive a restart and a redelivery.
        message_id=f"{message.chat.id}:{message.message_id}", sent_at=message.date, media=media,
        mentions_bot=mentioned,
        reply_to_bot=quotes_bot,
        # The outbox's sent ledger knows which case the quoted notice was about (platform_message_id).
        extras={"reply_to": str(reply_to.message_id)} if quotes_bot and reply_to else {},
    )


def button_inbound(query: CallbackQuery, now: datetime) -> Inbound:
    """A button press as the words its payload stands for."""
    message = query.message
    chat = message.chat if message is not None else None
    return Inbound(
        channel=CHANNEL, chat_id=str(chat.id if chat else query.from_user.id),
        is_group=bool(chat and chat.type in GROUP_CHATS), sender_id=str(query.from_user.id),
        sender_name=query.from_user.full_name or str(query.from_user.id), text=query.data or "",
        message_id=f"cb:{query.id}", sent_at=now, callback=query.data or "",
    )


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _user_ok(value: Any) -> bool:
    return (isinstance(value, dict) and _int(value.get("id")) and isinstance(value.get("is_bot", False), bool)
            and isinstance(value.get("first_name", ""), str))


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "message is not an object"
    chat = message.get("chat")
    if not (_int(message.get("message_id")) and _int(message.get("date", 0))):
        return "message_id and date must be integers"
    if not (isinstance(chat, dict) and _int(chat.get("id")) and isinstance(chat.get("type"), str)):
        return "chat must carry an integer id and a type"
    if "from" in message and not _user_ok(message["from"]):
        return "from must be a user with an integer id"
    for name in ("text", "caption"):
        if name in message and not isinstance(message[name], str):
            return f"{name} must be a string"
    for name in ("entities", "caption_entities", "photo"):
        if name in message and not (isinstance(message[name], list) and all(isinstance(x, dict) for x in message[name])):
            return f"{name} must be a list of objects"
    return None


def update_problem(payload: Any) -> str | None:
    """Why a decoded webhook body is not an update gridbot can take, or None: checked before anything is written."""
    if not isinstance(payload, dict) or not _int(payload.get("update_id")):
        return "not an update"
    if "message" in payload:
        if problem := _message_problem(payload["message"]):
            return problem
        reply_to = payload["message"].get("reply_to_message")
        if reply_to is not None and (problem := _message_problem(reply_to)):
            return f"reply_to_message: {problem}"
    if "callback_query" in payload:
        query = payload["callback_query"]
        if not (isinstance(query, dict) and isinstance(query.get("id"), str) and _user_ok(query.get("from"))):
            return "callback_query must carry a string id and a user"
        if not isinstance(query.get("data", ""), str):
            return "callback data must be a string"
        if query.get("message") is not None and (problem := _message_problem(query["message"])):
            return f"callback message: {problem}"
    return None


def shallow(payload: dict[str, Any]) -> dict[str, Any]:
    """The update with quoted messages kept one level deep: gridbot reads only whether a reply quotes the bot, and
    a long chain of quotes must not recurse through PTB's parser."""
    for key in ("message", "callback_query"):
        message = payload.get(key)
        if key == "callback_query" and isinstance(message, dict):
            message = message.get("message")
        if isinstance(message, dict) and isinstance(message.get("reply_to_message"), dict):
            quoted = dict(message["reply_to_message"])
            quoted.pop("reply_to_message", None)
            quoted.pop("pinned_message", None)
            message["reply_to_message"] = quoted
    return payload
