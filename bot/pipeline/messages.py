"""Channel-neutral message types: what a channel hands the dispatcher and what handlers answer."""

from __future__ import annotations

from dataclasses import dataclass, field
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
