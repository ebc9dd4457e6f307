"""The append-only review log: every decision, who made it, and what it replaced."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from formats.limits import MAX_ID_CHARS

from ..auth.models import MAX_NAME_CHARS
from ..db import Base, BigIdType, utcnow


class ReviewEvent(Base):
    __tablename__ = "review_events"

    id: Mapped[int] = mapped_column(BigIdType, primary_key=True)
    audit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"))
    sample_id: Mapped[str] = mapped_column(String(MAX_ID_CHARS))
    actor: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    action: Mapped[str] = mapped_column(String(16))
    # {"action", "final_label", "version"} of the sample before and after the decision.
    before: Mapped[dict[str, Any]]
    after: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_review_events_audit_id_id", "audit_id", "id"),)
