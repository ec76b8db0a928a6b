"""Conversation and actor handlers, one module per feature, composed into one router here."""

from bot.pipeline.router import HandlerRouter
from handlers import appointment, help, offer, person, rating, report, status, wish, worker


def build_router() -> HandlerRouter:
    """The root router: every feature's handlers in one place."""
    return HandlerRouter("root").include(
        worker.router, help.router, report.router, wish.router, appointment.router, status.router, rating.router,
        offer.router, person.router,
    )
