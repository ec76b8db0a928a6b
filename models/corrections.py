"""Staff corrections of a case's category (改类): what the rules said, what a person said, and the words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class CategoryCorrection(Base):
    """One re-categorisation by staff; `rules suggest --from-corrections` learns from these rows."""

    __tablename__ = "category_correction"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff_id: Mapped[int | None] = mapped_column(Integer)
    staff_name: Mapped[str] = mapped_column(String(128), default="")
    old_code: Mapped[str | None] = mapped_column(String(64))
    new_code: Mapped[str] = mapped_column(String(64), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
