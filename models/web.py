"""The web app's own rows: one-time login links, staff sessions, optional passwords, stored photos, web audit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime
from models.cases import Case


class LoginToken(Base):
    """A one-time login link sent to a staff member's own chat; only its SHA-256 is kept."""

    __tablename__ = "web_login_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser; the cookie carries the id encrypted, the row says whether it still counts."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(256), default="")


class StaffPassword(Base):
    """An optional password (argon2 hash) for staff who prefer it to a chat link."""

    __tablename__ = "web_staff_password"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CasePhoto(Base):
    """A case photo downloaded once from its platform, verified and stripped of EXIF, stored on disk."""

    __tablename__ = "case_photo"
    __table_args__ = (UniqueConstraint("case_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    ref: Mapped[str] = mapped_column(String(256))  # the platform's file or media id
    file_name: Mapped[str] = mapped_column(String(128), default="")  # under the photo directory; "" when failed
    content_type: Mapped[str] = mapped_column(String(32), default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    size: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebAudit(Base):
    """What a staff member did on the web (channel `web`): log-ins, log-outs, case actions with their event."""

    __tablename__ = "web_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    action: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Integer)
    case_event_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="")
    remote: Mapped[str] = mapped_column(String(64), default="")


Index("ix_web_audit_staff_at", WebAudit.staff_id, WebAudit.at)
Index("ix_web_audit_case", WebAudit.case_id)
# The case list's scope is `unit_id IN (the unit's subtree)` for grids and communities: newest first per unit.
Index("ix_case_unit_created", Case.unit_id, Case.created_at)
