"""The Telegram channel: update parsing (updates), the Bot API transport (transport), the outbox sender (sender),
how a message is answered (replies) and the channel itself (channel)."""

from bot.channels.telegram.channel import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramChannel,
    invite_link,
    telegram_channel,
)
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.transport import RateLimits, build_application

__all__ = ["SECRET_HEADER", "WEBHOOK_PATH", "RateLimits", "TelegramChannel", "TelegramSender", "build_application",
           "invite_link", "telegram_channel"]
