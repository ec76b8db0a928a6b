"""The aiohttp web application: health check now, channel webhooks as they are added."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import text

from bot.channels import Channel
from bot.dispatch import Dispatcher
from bot.services import Services

SERVICES = web.AppKey("services", Services)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)


async def healthz(request: web.Request) -> web.Response:
    """Reports whether the database answers and the rules loaded."""
    services = request.app[SERVICES]
    try:
        async with services.sessions() as session:
            await session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # health must answer, whatever the database says
        database = f"error: {type(exc).__name__}"
    classifier = services.classifier.current()
    body = {
        "status": "ok" if database == "ok" else "degraded",
        "database": database,
        "categories": len(classifier.rules.categories),
        "rules_error": services.classifier.last_error,
    }
    return web.json_response(body, status=200 if database == "ok" else 503)


def create_app(services: Services, dispatcher: Dispatcher, channels: Sequence[Channel] = ()) -> web.Application:
    """Builds the web app around already-built services and channels; nothing here reads the environment."""
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICES] = services
    app[DISPATCHER] = dispatcher
    app.router.add_get("/healthz", healthz)
    for channel in channels:
        channel.setup(app)
    return app
