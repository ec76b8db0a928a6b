"""Platform channels: each module is the only importer of its platform library and turns events into Inbound."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from bot.delivery.outbox import ChannelSender


class Channel(Protocol):
    """What the web app needs from a channel: its routes and lifecycle hooks, and its outbox sender."""

    name: str
    sender: ChannelSender | None

    def setup(self, app: web.Application) -> None:
        """Adds the channel's routes and on_startup/on_cleanup hooks to the app."""
