"""The aiohttp web application: health check, channel webhooks, the staff dashboard and public pages."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy import func, select, text

from bot import web as web_app
from bot.channels import Channel
from bot.delivery.addressing import Addresser
from bot.delivery.budget import attach_budget
from bot.delivery.runner import DeliveryRunner, Pacer
from bot.jobs.scheduler import JobRunner, Scheduler
from bot.metrics import gauge, render
from bot.pipeline.dispatcher import Dispatcher
from bot.services import Services
from bot.source_limits import source_limits
from bot.web import api, open311
from models import Outbox, SendState


class PathAccessLogger(AbstractAccessLogger):
    """The access log without query strings: WeChat and WeCom sign their callbacks there, and a logged signed URL
    is a forgery kit. Method, path, status and time only."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000,
                         extra={"event": "http", "method": request.method, "path": request.path,
                                "status": response.status, "ms": round(time * 1000, 1)})


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


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: the counters, and the outbox's depth and oldest age by channel and state."""
    services = request.app[SERVICES]
    now = services.clock.now()
    depth: dict[tuple[tuple[str, str], ...], float] = {}
    age: dict[tuple[tuple[str, str], ...], float] = {}
    async with services.sessions() as session:
        rows = await session.execute(select(Outbox.channel, Outbox.state, func.count(), func.min(Outbox.created_at))
                                     .where(Outbox.state != SendState.SENT).group_by(Outbox.channel, Outbox.state))
        for channel, state, count, oldest in rows:
            labels = (("channel", channel), ("state", str(state)))
            depth[labels] = count
            if oldest is not None:
                age[labels] = max(0.0, (now - oldest).total_seconds())
    extra = (gauge("gridbot_outbox_rows", "Outbox rows not yet sent, by channel and state.", depth)
             + gauge("gridbot_outbox_oldest_age_seconds", "Age of the oldest unsent row.", age))
    return web.Response(text=render(extra), content_type="text/plain", charset="utf-8",
                        headers={"X-Prometheus-Format": "0.0.4"})


def create_app(services: Services, dispatcher: Dispatcher, channels: Sequence[Channel] = (), *,
               background: bool = False) -> web.Application:
    """Builds the web app around already-built services and channels; nothing here reads the environment."""
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICES] = services
    app[DISPATCHER] = dispatcher
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    open311.setup(app, services)
    api.setup(app, services)
    web_app.setup(app, services)  # staff dashboard (/staff/) and public pages (/public/)
    before = {route.resource.canonical for route in app.router.routes() if route.resource is not None}
    for channel in channels:
        channel.setup(app)
    webhooks = {route.resource.canonical for route in app.router.routes()
                if route.resource is not None and route.method == "POST"} - before
    limit = source_limits(webhooks, services.clock, per_source=services.settings.inbound_per_source_per_minute,
                          per_path=services.settings.inbound_per_path_per_minute)
    if limit is not None:
        app.middlewares.append(limit)
    if background:  # outbox senders and cron jobs (serve); tests drive them with an injected clock instead
        add_delivery_and_schedule(app, services, channels)  # after the channels, so their bots are up first
    return app


DELIVERY = web.AppKey("delivery", DeliveryRunner)
SCHEDULER = web.AppKey("scheduler", Scheduler)
ADDRESSER = web.AppKey("addresser", Addresser)


def add_delivery_and_schedule(app: web.Application, services: Services, channels: Sequence[Channel]) -> None:
    """Starts the outbox senders (and the cron jobs, unless a separate scheduler runs them) with the app."""
    settings = services.settings
    senders = [channel.sender for channel in channels if channel.sender is not None]
    for sender in senders:  # replies on the fast path and notices alike take from the bot's shared budget
        attach_budget(sender, services.sessions, settings)

    async def start(app: web.Application) -> None:
        runner = DeliveryRunner(services.sessions, senders, services.clock, tick=settings.delivery_tick_seconds,
                                pacers={s.channel: Pacer.for_sender(settings, s) for s in senders},
                                send_timeout=settings.send_timeout_seconds)
        runner.start()
        app[DELIVERY] = runner
        if senders:  # notices written for a channel no sender runs are re-addressed, or become dead letters
            addresser = Addresser(services.sessions, [s.channel for s in senders], services.clock)
            addresser.start()
            app[ADDRESSER] = addresser
        if settings.scheduler_in_serve:
            scheduler = Scheduler(JobRunner(services))
            scheduler.start()
            app[SCHEDULER] = scheduler

    async def stop(app: web.Application) -> None:  # on shutdown, before the channels close their clients
        if SCHEDULER in app:
            await app[SCHEDULER].stop()
        if ADDRESSER in app:
            await app[ADDRESSER].stop()
        if DELIVERY in app:
            await app[DELIVERY].stop(settings.shutdown_grace_seconds / 2)

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
