"""Queries of the review log."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ReviewEvent


def log_page(
    session: Session,
    audit_id: uuid.UUID,
    *,
    sample_id: str | None,
    after_id: int | None,
    limit: int,
) -> list[ReviewEvent]:
    """Decisions in the order they were made (keyset on the event id)."""
    query = (
        select(ReviewEvent)
        .where(ReviewEvent.audit_id == audit_id)
        .order_by(ReviewEvent.id)
        .limit(limit)
    )
    if sample_id is not None:
        query = query.where(ReviewEvent.sample_id == sample_id)
    if after_id is not None:
        query = query.where(ReviewEvent.id > after_id)
    return list(session.scalars(query))
