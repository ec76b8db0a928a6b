"""The WeChat settings: each surface is on when its settings are present; bad keys stop start-up with one line."""

import pytest

from bot.channels.registry import enabled_channels
from config.settings import SettingsError, load_settings
from tests.harness import Harness

WECOM = {"GRIDBOT_WECOM_CORP_ID": "ww1", "GRIDBOT_WECOM_TOKEN": "t",
         "GRIDBOT_WECOM_AES_KEY": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}


def test_keys_and_agent_ids_are_checked():
    with pytest.raises(SettingsError, match="GRIDBOT_WECOM_AES_KEY"):
        load_settings({**WECOM, "GRIDBOT_WECOM_AES_KEY": "short"})
    with pytest.raises(SettingsError, match="GRIDBOT_WECOM_AGENT_ID"):
        load_settings({**WECOM, "GRIDBOT_WECOM_AGENT_ID": "app-one"})
    settings = load_settings({**WECOM, "GRIDBOT_WECHAT_APPID": " ", "GRIDBOT_WECOM_AGENT_ID": "1000002"})
    assert settings.wechat_appid is None and settings.wecom_agent_id == "1000002"
    assert settings.wechat_api_base == "https://api.weixin.qq.com"
    assert settings.wecom_api_base == "https://qyapi.weixin.qq.com"


async def test_each_surface_is_on_when_its_settings_are_present(database_url):
    harness = await Harness.start(database_url)
    try:
        assert [c.name for c in enabled_channels(harness.runtime) if c.name in ("wechat", "wecom")] == []
    finally:
        await harness.close()
    harness = await Harness.start(database_url, wecom_robot_token="rt",
                                  wecom_robot_aes_key="ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut",
                                  wechat_appid="wxapp", wechat_token="tok")
    try:
        channels = [c for c in enabled_channels(harness.runtime) if c.name in ("wechat", "wecom")]
        assert [c.name for c in channels] == ["wechat", "wecom"]
        for channel in channels:
            await channel.close()
    finally:
        await harness.close()
