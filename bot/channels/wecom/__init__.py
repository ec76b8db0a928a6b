"""WeChat Work (企业微信): callbacks in (channel: the app and the intelligent robot) and sends out (sender)."""

from bot.channels.wechat_callbacks import safe_text
from bot.channels.wecom.channel import WeComChannel
from bot.channels.wecom.sender import WeComSender

__all__ = ["WeComChannel", "WeComSender", "safe_text"]
