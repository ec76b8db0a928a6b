"""The aiohttp web application: health check now, channel webhooks as they are added."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import text

from bot.channels import Channel
from bot.delivery.runner import DeliveryRunner
from bot.jobs.scheduler import JobRunner, Scheduler
from bot.pipeline.dispatcher import Dispatcher
from bot.services import Services
from bot.web import api, open311

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


def create_app(services: Services, dispatcher: Dispatcher, channels: Sequence[Channel] = (), *,
               background: bool = False) -> web.Application:
    """Builds the web app around already-built services and channels; nothing here reads the environment."""
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICES] = services
    app[DISPATCHER] = dispatcher
    app.router.add_get("/healthz", healthz)
    open311.setup(app, services)
    api.setup(app, services)
    for channel in channels:
        channel.setup(app)
    if background:  # outbox senders and cron jobs (serve); tests drive them with an injected clock instead
        add_delivery_and_schedule(app, services, channels)  # after the channels, so their bots are up first
    return app


DELIVERY = web.AppKey("delivery", DeliveryRunner)
SCHEDULER = web.AppKey("scheduler", Scheduler)


def add_delivery_and_schedule(app: web.Application, services: Services, channels: Sequence[Channel]) -> None:
    """Starts the outbox senders (and the cron jobs, unless a separate scheduler runs them) with the app."""
    settings = services.settings
    senders = [channel.sender for channel in channels if channel.sender is not None]

    async def start(app: web.Application) -> None:
        runner = DeliveryRunner(services.sessions, senders, services.clock, tick=settings.delivery_tick_seconds,
                                rates=settings.delivery_rates, chat_per_minute=settings.delivery_chat_per_minute)
        runner.start()
        app[DELIVERY] = runner
        if settings.scheduler_in_serve:
            scheduler = Scheduler(JobRunner(services))
            scheduler.start()
            app[SCHEDULER] = scheduler

    async def stop(app: web.Application) -> None:  # on shutdown, before the channels close their clients
        if SCHEDULER in app:
            await app[SCHEDULER].stop()
        if DELIVERY in app:
            await app[DELIVERY].stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
