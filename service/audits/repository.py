"""Queries on audits and their samples."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Row,
    and_,
    case,
    delete,
    false,
    func,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..reviews.actions import DECISIONS
from .models import Audit, Sample

# "Just above the threshold": a given-label confidence from k up to k + this, k being the
# sample's class's threshold (close calls the reviewer may want to check by hand).
NEAR_THRESHOLD_BAND = 0.15


@dataclass(frozen=True)
class SampleFilter:
    flagged: bool | None = None
    given_label: str | None = None
    suggested_label: str | None = None
    # "any", "pending", "done" or one of the decisions (reviews.actions.DECISIONS).
    review: str = "any"
    reviewed_by: str | None = None
    # Part of the sample id, any case.
    search: str | None = None
    # True: only samples an earlier round decided on; False: only the others.
    prior_review: bool | None = None
    near_threshold: bool = False
    # Only the audit's worth-a-look samples (formats.worth_a_look): the ``worth_a_look``
    # unflagged samples with the highest scores, ties by row.
    worth_a_look: int | None = None


def get_audit(session: Session, audit_id: uuid.UUID, *, for_update: bool = False) -> Audit | None:
    query = select(Audit).where(Audit.id == audit_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def list_audits(
    session: Session,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    status: str | None,
) -> list[Audit]:
    """Newest first, by (created_at, id) descending: keyset pagination."""
    query = select(Audit).order_by(Audit.created_at.desc(), Audit.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Audit.status == status)
    if after is not None:
        created_at, audit_id = after
        query = query.where(
            or_(
                Audit.created_at < created_at,
                and_(Audit.created_at == created_at, Audit.id < audit_id),
            )
        )
    return list(session.scalars(query))


def review_counts(
    session: Session, audit_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Reviewed samples by action, per audit."""
    if not audit_ids:
        return {}
    rows = session.execute(
        select(Sample.audit_id, Sample.review_action, func.count())
        .where(Sample.audit_id.in_(audit_ids), Sample.review_action.is_not(None))
        .group_by(Sample.audit_id, Sample.review_action)
    )
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for audit_id, action, count in rows:
        counts.setdefault(audit_id, {})[str(action)] = count
    return counts


def sample_page(
    session: Session,
    audit_id: uuid.UUID,
    where: SampleFilter,
    *,
    order: str,
    after: list[Any] | None,
    limit: int,
    thresholds: dict[str, float],
) -> list[Sample]:
    """A page of samples, most suspicious first (``order=score``), in file order (``row``),
    or by how far their confidence lies above their class's k in ``thresholds``, lowest first
    (``margin``; classes without a k are left out)."""
    margin = _threshold_margin(thresholds)
    conditions = _conditions(where, margin)
    if where.worth_a_look is not None:
        conditions += _worth_a_look(session, audit_id, where.worth_a_look)
    query = select(Sample).where(Sample.audit_id == audit_id, *conditions).limit(limit)
    if order == "margin":
        query = query.where(margin.is_not(None)).order_by(margin, Sample.row_index)
        if after is not None:
            last_margin, row_index = after
            query = query.where(
                or_(margin > last_margin, and_(margin == last_margin, Sample.row_index > row_index))
            )
    elif order == "score":
        query = query.order_by(Sample.score.desc(), Sample.row_index)
        if after is not None:
            score, row_index = after
            # ``score <= :score`` is implied by the OR but, unlike it, bounds the index scan:
            # without it a page deep in the list reads every row above it (O(offset)).
            query = query.where(
                Sample.score <= score,
                or_(
                    Sample.score < score,
                    and_(Sample.score == score, Sample.row_index > row_index),
                ),
            )
    else:
        query = query.order_by(Sample.row_index)
        if after is not None:
            query = query.where(Sample.row_index > after[0])
    return list(session.scalars(query))


def _worth_a_look(session: Session, audit_id: uuid.UUID, size: int) -> list[ColumnElement[bool]]:
    """The conditions that keep the ``size`` unflagged samples with the highest scores: at
    or above the last of them in (score descending, row) order. Found by one short walk of
    the flagged-score index, so the list composes with every other filter and order."""
    unflagged = Sample.flagged.is_(False)
    if size <= 0:
        return [unflagged, false()]
    last = session.execute(
        select(Sample.score, Sample.row_index)
        .where(Sample.audit_id == audit_id, unflagged)
        .order_by(Sample.score.desc(), Sample.row_index)
        .offset(size - 1)
        .limit(1)
    ).one_or_none()
    if last is None:
        return [unflagged]
    score, row_index = last
    return [
        unflagged,
        or_(Sample.score > score, and_(Sample.score == score, Sample.row_index <= row_index)),
    ]


def _threshold_margin(thresholds: dict[str, float]) -> ColumnElement[float]:
    """A sample's given-label confidence minus its class's k (NULL for a class without one)."""
    if not thresholds:
        return type_coerce(null(), Float)
    return Sample.confidence - case(thresholds, value=Sample.given_label)


def _conditions(where: SampleFilter, margin: ColumnElement[float]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.near_threshold:
        conditions.append(margin.between(0.0, NEAR_THRESHOLD_BAND))
    if where.flagged is not None:
        conditions.append(Sample.flagged.is_(where.flagged))
    if where.given_label is not None:
        conditions.append(Sample.given_label == where.given_label)
    if where.suggested_label is not None:
        conditions.append(Sample.suggested_label == where.suggested_label)
    if where.review == "pending":
        conditions.append(Sample.review_action.is_(None))
    elif where.review == "done":
        conditions.append(Sample.review_action.is_not(None))
    elif where.review in DECISIONS:
        conditions.append(Sample.review_action == where.review)
    if where.reviewed_by is not None:
        conditions.append(Sample.reviewed_by == where.reviewed_by)
    if where.search is not None:
        conditions.append(
            func.lower(Sample.sample_id).contains(where.search.lower(), autoescape=True)
        )
    if where.prior_review is not None:
        prior = Sample.prior_review
        conditions.append(prior.is_not(None) if where.prior_review else prior.is_(None))
    return conditions


def confidence_histogram(
    session: Session, audit_id: uuid.UUID, bins: int
) -> list[tuple[int, bool, int]]:
    """Samples per (confidence bin, flagged), ``bins`` equal bins over [0, 1], counted by the
    database. The bin is a CASE over the edges: SQLite has no FLOOR, and PostgreSQL's CAST
    rounds."""
    edges = [(Sample.confidence < (i + 1) / bins, i) for i in range(bins - 1)]
    bucket = case(*edges, else_=bins - 1).label("bucket")
    rows = session.execute(
        select(bucket, Sample.flagged, func.count())
        .where(Sample.audit_id == audit_id)
        .group_by(bucket, Sample.flagged)
    )
    return [(int(index), bool(flagged), int(count)) for index, flagged, count in rows]


def flagged_review_counts(session: Session, audit_id: uuid.UUID) -> dict[str | None, int]:
    """Flagged samples by their decision (None: pending)."""
    rows = session.execute(
        select(Sample.review_action, func.count())
        .where(Sample.audit_id == audit_id, Sample.flagged.is_(True))
        .group_by(Sample.review_action)
    )
    return {action: count for action, count in rows}


def get_sample(session: Session, audit_id: uuid.UUID, sample_id: str) -> Sample | None:
    return session.scalars(
        select(Sample).where(Sample.audit_id == audit_id, Sample.sample_id == sample_id)
    ).one_or_none()


def get_sample_at_row(session: Session, audit_id: uuid.UUID, row_index: int) -> Sample | None:
    return session.scalars(
        select(Sample).where(Sample.audit_id == audit_id, Sample.row_index == row_index)
    ).one_or_none()


def row_indexes(session: Session, audit_id: uuid.UUID, sample_ids: list[str]) -> dict[str, int]:
    """The row of each of ``sample_ids`` (a few per class: bound parameters stay few)."""
    found: dict[str, int] = {}
    for start in range(0, len(sample_ids), 500):
        chunk = sample_ids[start : start + 500]
        rows = session.execute(
            select(Sample.sample_id, Sample.row_index).where(
                Sample.audit_id == audit_id, Sample.sample_id.in_(chunk)
            )
        )
        found.update({sample_id: row_index for sample_id, row_index in rows})
    return found


def iter_sample_rows(
    session: Session,
    audit_id: uuid.UUID,
    columns: Sequence[InstrumentedAttribute[Any]],
    *,
    flagged_only: bool,
    batch: int = 1000,
) -> Iterator[Row[Any]]:
    """``columns`` of every sample in an order fit for a file (by score for suspects, else by
    row), fetched through a server-side cursor in batches, so memory stays constant.

    Plain rows, not ORM objects: building a ``Sample`` per row made an export of a million
    samples five times slower."""
    query = select(*columns).where(Sample.audit_id == audit_id)
    if flagged_only:
        query = query.where(Sample.flagged.is_(True)).order_by(
            Sample.score.desc(), Sample.row_index
        )
    else:
        query = query.order_by(Sample.row_index)
    yield from session.execute(query.execution_options(yield_per=batch))


def delete_samples(session: Session, audit_id: uuid.UUID) -> None:
    session.execute(delete(Sample).where(Sample.audit_id == audit_id))


def delete_audit(session: Session, audit_id: uuid.UUID) -> None:
    session.execute(delete(Audit).where(Audit.id == audit_id))
