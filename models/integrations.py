"""Other systems that file and follow cases: their API keys and the Open311 request tokens they were given."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class ApiKey(Base):
    """One integration's key (a 12345 hotline system, an Open311 client) or one staff member's API token.

    Only a SHA-256 of the key is kept: keys are 32 random bytes, so a fast hash is as safe as a slow one, and
    checking a key stays one indexed lookup. `prefix` lets people tell keys apart without the secret."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # a staff token acts within their scope
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("grid_unit.id"))  # an integration sees this subtree
    per_minute: Mapped[int] = mapped_column(Integer, default=120)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Open311Token(Base):
    """The token an Open311 POST answered with, so the client can find its request again (tokens/{token})."""

    __tablename__ = "open311_token"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
