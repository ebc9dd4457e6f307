"""A sample's review columns (its latest decision and version), which only this module
writes: the reviews domain records each decision through :func:`record_decision`, in the
unit of work of its request (nothing here commits)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..reviews.actions import Decision
from .models import Sample


def samples_for_review(
    session: Session, audit_id: uuid.UUID, sample_ids: Sequence[str]
) -> dict[str, Sample]:
    """The named samples of an audit by id, locked until the batch commits (in row order,
    so two batches never lock in opposite orders). SQLite ignores the lock:
    :func:`record_decision` is what keeps two writers apart there."""
    rows = session.scalars(
        select(Sample)
        .where(Sample.audit_id == audit_id, Sample.sample_id.in_(sample_ids))
        .order_by(Sample.row_index)
        .with_for_update()
    )
    return {row.sample_id: row for row in rows}


def record_decision(
    session: Session,
    sample: Sample,
    seen_version: int,
    *,
    action: Decision | None,
    final_label: str | None,
    reviewed_by: str | None,
    reviewed_at: datetime | None,
) -> bool:
    """Write a decision on ``sample`` (``action`` None: pending again) and bump its version,
    only if the version is still ``seen_version``.

    The database checks the version in the UPDATE itself, so a writer that got there first
    is noticed on SQLite too, where reading and writing are not one locked step. Returns
    whether the row was written; if so, ``sample`` carries the new values.
    """
    values = {
        "review_action": action,
        "final_label": final_label,
        "reviewed_by": reviewed_by,
        "reviewed_at": reviewed_at,
        "version": seen_version + 1,
    }
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


def review_state(sample: Sample) -> dict[str, Any]:
    """What the review log keeps of a sample before and after a decision."""
    return {
        "action": sample.review_action,
        "final_label": sample.final_label,
        "version": sample.version,
    }
