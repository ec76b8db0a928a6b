"""The Telegram channel: the channel itself, from update to Inbound and from replies to outbox rows (channel), the
Bot API transport and webhook checks (transport), and the outbox sender (sender)."""

from bot.channels.telegram.channel import (
    SECRET_HEADER,
    WEBHOOK_PATH,
    TelegramChannel,
    telegram_channel,
)
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.transport import RateLimits, build_application, invite_link

__all__ = ["SECRET_HEADER", "WEBHOOK_PATH", "RateLimits", "TelegramChannel", "TelegramSender", "build_application",
           "invite_link", "telegram_channel"]
