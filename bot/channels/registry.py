"""Which channels run, decided once from the settings: a channel is on when its credentials are present."""

from __future__ import annotations

from bot.channels import Channel
from bot.runtime import Runtime


def enabled_channels(runtime: Runtime) -> list[Channel]:
    """Builds the channels whose settings are present; each import stays inside its branch."""
    settings = runtime.services.settings
    channels: list[Channel] = []
    # --- telegram (issue 3) ---
    # --- wechat / wecom (issue 4) ---
    del settings
    return channels
