"""The Telegram channel: the channel itself, from update to Inbound and from replies to outbox rows (channel), the
Bot API transport and webhook checks (transport), and the outbox sender (sender); telegram_channel builds it."""

from __future__ import annotations

from typing import Any

from bot.channels.telegram.channel import SECRET_FORMAT, SECRET_HEADER, WEBHOOK_PATH, TelegramChannel
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.transport import RateLimits, build_application, invite_link
from bot.pipeline.dispatcher import Dispatcher
from config.settings import Settings, SettingsError

__all__ = ["SECRET_HEADER", "WEBHOOK_PATH", "RateLimits", "TelegramChannel", "TelegramSender", "build_application",
           "invite_link", "telegram_channel"]


def telegram_channel(dispatcher: Dispatcher, settings: Settings, **overrides: Any) -> TelegramChannel:
    """Builds the channel from settings; webhook mode without a secret or a public URL refuses to start."""
    if not settings.telegram_token:
        raise SettingsError("invalid setting GRIDBOT_TELEGRAM_TOKEN: the Telegram channel needs a bot token")
    webhook = settings.telegram_mode == "webhook"
    if webhook and not settings.telegram_webhook_secret:
        raise SettingsError("invalid setting GRIDBOT_TELEGRAM_WEBHOOK_SECRET: webhook mode needs a secret")
    if webhook and not SECRET_FORMAT.fullmatch(settings.telegram_webhook_secret or ""):
        raise SettingsError("invalid setting GRIDBOT_TELEGRAM_WEBHOOK_SECRET: 1-256 characters of A-Z a-z 0-9 _ -")
    if webhook and not settings.public_url:
        raise SettingsError("invalid setting GRIDBOT_PUBLIC_URL: webhook mode needs the service's public URL")
    limits = overrides.pop("limits", RateLimits())
    read_timeout = overrides.pop("read_timeout", max(1.0, settings.send_timeout_seconds - 5.0))
    application = build_application(settings.telegram_token, settings.telegram_api_base, limits=limits,
                                    polling=not webhook, read_timeout=read_timeout)
    return TelegramChannel(dispatcher, application, mode=settings.telegram_mode, public_url=settings.public_url,
                           webhook_secret=settings.telegram_webhook_secret, **overrides)
