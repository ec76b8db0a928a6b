"""Channel-neutral message types: what a channel hands the dispatcher and what handlers answer; and the text
clean-up every message gets before it is stored."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

# Channels whose bot can write to any member privately (a WeCom app messages its members); elsewhere only a person
# who has opened a private chat with the bot can be reached there (Telegram: after /start).
REACHES_MEMBERS_PRIVATELY = frozenset({"wecom"})


@dataclass(frozen=True, slots=True)
class Media:
    """A photo, voice note or location a resident sent; `ref` is the platform's id for it."""

    kind: str  # photo | voice | location | file
    ref: str
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from any channel, already verified by the channel."""

    channel: str
    chat_id: str
    is_group: bool
    sender_id: str
    sender_name: str
    text: str
    message_id: str
    sent_at: datetime
    media: tuple[Media, ...] = ()
    mentions_bot: bool = False
    reply_to_bot: bool = False
    callback: str | None = None  # button payload, e.g. "case:accept:12"
    extras: dict[str, Any] = field(default_factory=dict)  # reply_to: the platform id of the bot's message quoted


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    payload: str  # the same words a user could type, e.g. "接单 12"


@dataclass(frozen=True, slots=True)
class Reply:
    """Text for the chat the message came from; channels render buttons where they can."""

    text: str
    buttons: tuple[Button, ...] = ()
    private: bool = False  # prefer the sender's private chat over the group
    alert: bool = False  # a refusal: shown as an alert where the platform has them (button presses)
    awaits_answer: bool = False  # the sender's dialogue is open: their next message in this chat continues it
    extras: dict[str, Any] = field(default_factory=dict)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff\ufffd]")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
def storable(inbound: Inbound) -> Inbound:
    """PostgreSQL text cannot hold NUL and no database can hold a lone surrogate (a cut UTF-8 character read with
    surrogateescape): a message carrying either is kept with U+FFFD in their place."""
    fields = ("chat_id", "sender_id", "sender_name", "text", "message_id")
    if not any(_UNSTORABLE.search(getattr(inbound, name)) for name in fields):
        return inbound
    return replace(inbound, **{name: _UNSTORABLE.sub("\ufffd", getattr(inbound, name)) for name in fields})


def clean_text(text: str, limit: int) -> tuple[str, bool]:
    """Drops control characters and trims; returns the text cut to `limit` characters and whether it was cut."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text or "")).strip()
    return (text[:limit], True) if len(text) > limit else (text, False)
