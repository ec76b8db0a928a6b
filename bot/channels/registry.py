"""Which channels run, decided once from the settings: a channel is on when its credentials are present."""

from __future__ import annotations

from bot.channels import Channel
from bot.runtime import Runtime


def enabled_channels(runtime: Runtime) -> list[Channel]:
    """Builds the channels whose settings are present; each import stays inside its branch."""
    settings = runtime.services.settings
    channels: list[Channel] = []
    # --- telegram (issue 3) ---
    if settings.telegram_token:
        from bot.channels.telegram import telegram_channel

        channels.append(telegram_channel(runtime.dispatcher, settings))
    # --- wechat / wecom (issue 4) ---
    if settings.wechat_appid and settings.wechat_token:
        from bot.channels.wechat import WeChatChannel

        channels.append(WeChatChannel(runtime.dispatcher))
    if (settings.wecom_corp_id and settings.wecom_token and settings.wecom_aes_key) or (
            settings.wecom_robot_token and settings.wecom_robot_aes_key):
        from bot.channels.wecom import WeComChannel

        channels.append(WeComChannel(runtime.dispatcher))
    del settings
    return channels
