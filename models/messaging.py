"""Inbound message ledger, conversation state and the notification outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, TextClause, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime
from models.grid import _enum


class InboundStatus(enum.StrEnum):
    HANDLED = "handled"
    IGNORED = "ignored"  # group chatter not addressed to the bot; its text is not kept
    FAILED = "failed"  # handling raised; the text is kept for staff
    OFFERED = "offered"  # group words the bot offered to file; the text goes when the offer lapses or is declined


class InboundMessage(Base):
    """Every platform message seen, keyed so that a retry or a replay changes nothing."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("channel", "platform_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_message_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(128))
    sender_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[InboundStatus] = mapped_column(_enum(InboundStatus))
    text: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # a failed message is handled again by a job: how often it was tried, when next, and what it needs for that
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    payload: Mapped[dict | None] = mapped_column(JSON)


class Conversation(Base):
    """Where one user stands in a multi-step dialogue in one chat; kept in the database to survive restarts."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(128))
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SendState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # last attempt failed, will be retried at due_at
    DEAD = "dead"  # gave up; visible to staff, re-queued by hand


class Outbox(Base):
    """A notification to send; written in the transaction that causes it, sent once per dedupe key."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(128))
    recipient: Mapped[str] = mapped_column(String(128), default="")
    text: Mapped[str] = mapped_column(Text)
    extras: Mapped[dict] = mapped_column(JSON, default=dict)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    state: Mapped[SendState] = mapped_column(_enum(SendState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_message_id: Mapped[str | None] = mapped_column(String(128))  # the sent ledger: what the platform called it


Index("ix_outbox_due", Outbox.channel, Outbox.state, Outbox.due_at)
Index("ix_inbound_message_retry_at", InboundMessage.retry_at)  # the retry job's scan; NULL for all but a few
# Offers in a chat by sender and time: the one-offer-per-sender window and the lapse job read offered rows only, which
# are few, where the ledger keeps a row for every message a group ever carried (a full scan per offer grew with it).
_OFFERED_SQL = text(f"status = '{InboundStatus.OFFERED.value}'")
Index("ix_inbound_message_offered", InboundMessage.channel, InboundMessage.chat_id, InboundMessage.sender_id,
      InboundMessage.received_at, postgresql_where=_OFFERED_SQL, sqlite_where=_OFFERED_SQL)


def offered_filter() -> TextClause:
    """The ledger's offered rows, in the very words of ix_inbound_message_offered's condition: PostgreSQL's generic
    plans do not match a bound parameter to a partial index's condition, nor SQLite an IN list."""
    return _OFFERED_SQL
