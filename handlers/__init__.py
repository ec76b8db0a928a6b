"""Conversation and actor handlers, one module per feature, composed into one router here."""

from bot.pipeline.dispatcher import HandlerRouter
from handlers import (
    appointment,
    appointment_desk,
    claim,
    corrections,
    followup,
    help,
    home,
    login,
    merging,
    offer,
    person,
    projects,
    rating,
    remark,
    report,
    status,
    wish,
    wish_review,
    worker,
)


def build_router() -> HandlerRouter:
    """The root router: every feature's handlers in one place."""
    root = HandlerRouter("root").include(
        worker.router, merging.router, login.router, appointment_desk.router, corrections.router, help.router, report.router, wish.router,
        appointment.router, status.router, rating.router, wish_review.router, projects.router, claim.router,
        offer.router, person.router, remark.router, home.router, followup.router,
    )
    # 取消预约 12, 改约 12 and the waiting-list answers are read before any intent (取消… would be a plain cancel).
    # 不满意 12 … is a rating whatever the words after it say.
    root.intents = {intent: rating.with_grades(appointment.with_commands(handler))
                    for intent, handler in root.intents.items()}
    return root
