"""State shared by channels and the scheduler: one-time binding codes, platform tokens, job runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class StaffInvite(Base):
    """A one-time code that binds whoever opens it on a channel to a staff record (Telegram deep link, WeCom)."""

    __tablename__ = "staff_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[str | None] = mapped_column(String(160))  # "<channel>:<user id>"


class PlatformToken(Base):
    """A platform access token shared by every service instance (WeChat, WeCom), refreshed under a lock."""

    __tablename__ = "platform_token"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SendBudget(Base):
    """One bot's send rate shared by every instance: the earliest moment (epoch seconds, the database's clock) its
    next message may go; each send moves it on by one interval (bot/delivery/budget.py)."""

    __tablename__ = "send_budget"

    bot: Mapped[str] = mapped_column(String(128), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)


class JobRun(Base):
    """One scheduled job's run for one time slot; the unique key makes a double fire or a second instance a no-op."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    slot: Mapped[str] = mapped_column(String(64))  # e.g. 2026-W48, 2026-11-30, 2026-11-30T08:30
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    instance: Mapped[str] = mapped_column(String(128), default="")
    # renewed while the run is alive; an unfinished run whose lease ran out is taken over by the next instance
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(Text, default="")
