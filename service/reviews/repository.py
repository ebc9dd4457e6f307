"""Queries of the reviews domain: the samples a batch decides on, and the review log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..audits.models import Sample
from .models import ReviewEvent


def samples_for_review(
    session: Session, audit_id: uuid.UUID, sample_ids: Sequence[str]
) -> dict[str, Sample]:
    """The named samples of an audit by id, locked until the batch commits (in row order,
    so two batches never lock in opposite orders). SQLite ignores the lock:
    :func:`write_decision` is what keeps two writers apart there."""
    rows = session.scalars(
        select(Sample)
        .where(Sample.audit_id == audit_id, Sample.sample_id.in_(sample_ids))
        .order_by(Sample.row_index)
        .with_for_update()
    )
    return {row.sample_id: row for row in rows}


def write_decision(
    session: Session, sample: Sample, seen_version: int, decision: dict[str, Any]
) -> bool:
    """Write ``decision`` (column values) on ``sample`` and bump its version, only if the
    version is still ``seen_version``.

    The database checks the version in the UPDATE itself, so a writer that got there first
    is noticed on SQLite too, where reading and writing are not one locked step. Returns
    whether the row was written; if so, ``sample`` carries the new values.
    """
    values = {**decision, "version": seen_version + 1}
    result = session.execute(
        update(Sample)
        .where(Sample.id == sample.id, Sample.version == seen_version)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", result).rowcount != 1:
        return False
    for name, value in values.items():
        set_committed_value(sample, name, value)
    return True


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
