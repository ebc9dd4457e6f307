"""Queries of the reviews domain: the samples a batch decides on, and the review log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audits.models import Sample
from .models import ReviewEvent


def samples_for_review(
    session: Session, audit_id: uuid.UUID, sample_ids: Sequence[str]
) -> dict[str, Sample]:
    """The named samples of an audit by id, locked until the batch commits (in row order,
    so two batches never lock in opposite orders)."""
    rows = session.scalars(
        select(Sample)
        .where(Sample.audit_id == audit_id, Sample.sample_id.in_(sample_ids))
        .order_by(Sample.row_index)
        .with_for_update()
    )
    return {row.sample_id: row for row in rows}


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
