"""Reading an audit's samples: keyset pages by suspicion or file order, and statistics for
the overview's charts."""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy.orm import Session

from formats.evidence import decode_history, decode_top_classes

from ..errors import InvalidInput, NotFound
from ..pagination import decode_cursor, encode_cursor
from . import repository
from .flag_reason import flag_reason
from .models import Audit, Sample
from .repository import SampleFilter
from .sample_schemas import (
    AuditStatistics,
    ClassProbability,
    ConfidenceBin,
    PriorReview,
    ReferenceExample,
    ReferenceExamples,
    ReviewState,
    SampleOut,
    SamplePage,
)
from .service import require_succeeded, worth_a_look_of


def list_samples(
    session: Session,
    audit_id: uuid.UUID,
    where: SampleFilter,
    *,
    order: str,
    limit: int,
    cursor: str | None,
    worth_a_look: bool = False,
) -> SamplePage:
    """A page of ``where``'s samples; with ``worth_a_look``, of the audit's worth-a-look
    samples only (formats.worth_a_look), as many as its summary's counts call for."""
    audit = require_succeeded(session, audit_id)
    summary = audit.stored_summary()
    if worth_a_look and summary is not None:
        where = replace(where, worth_a_look=worth_a_look_of(summary).size)
    after = None
    if cursor is not None:
        after = decode_cursor(cursor, 1 if order == "row" else 2)
        if not all(isinstance(value, int | float) for value in after):
            raise InvalidInput("the cursor is not valid", code="invalid_cursor")
    thresholds = _thresholds(audit)
    rows = repository.sample_page(
        session, audit_id, where, order=order, after=after, limit=limit + 1, thresholds=thresholds
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(_cursor_key(page[-1], order, thresholds))
    # Without the top classes: measured on 1M samples, they cost a page of 50 as much CPU
    # as the 50 histories; the cards need only the suggestion's probability.
    items = [sample_out(audit, row, top_classes=False) for row in page]
    return SamplePage(items=items, next_cursor=next_cursor)


def _cursor_key(last: Sample, order: str, thresholds: dict[str, float]) -> list[float]:
    """Where the next page starts: the sort key of the last sample shown."""
    if order == "row":
        return [last.row_index]
    if order == "margin":
        # The same subtraction as the query's, so the page boundary compares equal.
        return [last.confidence - thresholds[last.given_label], last.row_index]
    return [last.score, last.row_index]


def get_sample(session: Session, audit_id: uuid.UUID, sample_id: str) -> SampleOut:
    audit = require_succeeded(session, audit_id)
    return sample_out(audit, require_sample(session, audit_id, sample_id))


def require_sample(session: Session, audit_id: uuid.UUID, sample_id: str) -> Sample:
    sample = repository.get_sample(session, audit_id, sample_id)
    if sample is None:
        raise NotFound(
            f"audit {audit_id} has no sample {sample_id!r}",
            code="sample_not_found",
            details={"sample_id": sample_id},
        )
    return sample


def require_row(session: Session, audit_id: uuid.UUID, row_index: int) -> Sample:
    sample = repository.get_sample_at_row(session, audit_id, row_index)
    if sample is None:
        raise NotFound(
            f"audit {audit_id} has no sample at row {row_index}",
            code="sample_not_found",
            details={"row_index": row_index},
        )
    return sample


def get_sample_at_row(session: Session, audit_id: uuid.UUID, row_index: int) -> SampleOut:
    audit = require_succeeded(session, audit_id)
    return sample_out(audit, require_row(session, audit_id, row_index))


def image_url(audit: Audit, row_index: int) -> str:
    """Addressed by row, not by sample id: an id such as ``a/../b`` or ``.`` would be
    rewritten by the browser (dot segments are removed from URLs, even escaped as %2E)."""
    return f"/audits/{audit.id}/rows/{row_index}/image"


def sample_out(audit: Audit, sample: Sample, *, top_classes: bool = True) -> SampleOut:
    summary = audit.stored_summary()
    history = None if sample.history is None else decode_history(sample.history)
    window = None
    if history is not None and summary is not None and summary.window:
        window = list(range(len(history) - summary.window + 1, len(history) + 1))
    ranked = None if sample.top_classes is None else decode_top_classes(sample.top_classes)
    names = audit.class_names or []
    threshold = None if summary is None else summary.thresholds.get(sample.given_label)
    # The suggestion is the most probable class over the window: the first ranked.
    suggested_probability = None if not ranked else ranked[0][1]
    return SampleOut(
        sample_id=sample.sample_id,
        row_index=sample.row_index,
        given_label=sample.given_label,
        suggested_label=sample.suggested_label,
        confidence=sample.confidence,
        score=sample.score,
        flagged=sample.flagged,
        review=ReviewState(
            action=sample.review_action,  # type: ignore[arg-type]
            final_label=sample.final_label,
            reviewed_by=sample.reviewed_by,
            reviewed_at=sample.reviewed_at,
            version=sample.version,
        ),
        image_url=None if sample.image_path is None else image_url(audit, sample.row_index),
        features=_features(audit, sample),
        prior_review=PriorReview(**sample.prior_review) if sample.prior_review else None,
        history=history,
        window=window,
        threshold=threshold,
        suggested_probability=suggested_probability,
        top_classes=None
        if ranked is None or not top_classes
        else [ClassProbability(label=names[index], probability=p) for index, p in ranked],
        deciding_view=sample.deciding_view,  # type: ignore[arg-type]
        flag_reason=None
        if history is None or window is None
        else flag_reason(
            sample,
            window_history=[history[epoch - 1] for epoch in window],
            threshold=threshold,
            suggested_probability=suggested_probability,
        ),
    )


def reference_examples(session: Session, audit_id: uuid.UUID) -> ReferenceExamples:
    """The examples the engine chose per class; an image audit's with their thumbnails."""
    audit = require_succeeded(session, audit_id)
    summary = audit.stored_summary()
    chosen = {} if summary is None else summary.reference_examples
    with_images = audit.dataset_kind == "image"
    rows = {}
    if with_images:
        listed = [sample_id for sample_ids in chosen.values() for sample_id in sample_ids]
        rows = repository.row_indexes(session, audit_id, listed)
    return ReferenceExamples(
        examples={
            label: [
                ReferenceExample(
                    sample_id=sample_id,
                    image_url=image_url(audit, rows[sample_id]) if sample_id in rows else None,
                )
                for sample_id in sample_ids
            ]
            for label, sample_ids in chosen.items()
        }
    )


def _thresholds(audit: Audit) -> dict[str, float]:
    """k per class, as the audit's summary recorded it."""
    summary = audit.stored_summary()
    return {} if summary is None else dict(summary.thresholds)


def _features(audit: Audit, sample: Sample) -> dict[str, float] | None:
    if sample.features is None:
        return None
    summary = audit.stored_summary()
    names = [] if summary is None else summary.feature_names
    return dict(zip(names, sample.features, strict=False))


def statistics(session: Session, audit_id: uuid.UUID, *, bins: int) -> AuditStatistics:
    audit = require_succeeded(session, audit_id)
    counts = {
        (index, flagged): count
        for index, flagged, count in repository.confidence_histogram(session, audit_id, bins)
    }
    reviews = repository.flagged_review_counts(session, audit_id)
    return AuditStatistics(
        thresholds=_thresholds(audit),
        confidence_bins=[
            ConfidenceBin(
                lower=index / bins,
                upper=(index + 1) / bins,
                flagged=counts.get((index, True), 0),
                unflagged=counts.get((index, False), 0),
            )
            for index in range(bins)
        ],
        flagged_reviews={
            "pending": reviews.pop(None, 0),
            **{str(action): count for action, count in reviews.items()},
        },
    )
