"""Applying review decisions: all of a batch or none, never over a newer decision."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..audits import decisions
from ..audits.models import Sample
from ..audits.samples import sample_out
from ..audits.service import require_audit, require_succeeded
from ..auth.schemas import Principal
from ..db import utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..pagination import decode_cursor, encode_cursor
from . import repository
from .actions import decision_of, final_label
from .models import ReviewEvent
from .schemas import ReviewBatch, ReviewEventOut, ReviewItem, ReviewLogPage, ReviewResult


def apply_reviews(
    session: Session, audit_id: uuid.UUID, batch: ReviewBatch, principal: Principal
) -> ReviewResult:
    """Record every decision of ``batch`` in one transaction, or none of them.

    A decision naming a ``version`` that is no longer the sample's answers 409 for the whole
    batch, so two reviewers never overwrite each other silently.
    """
    audit = require_succeeded(session, audit_id)
    _check_batch(batch, audit.class_names or [])
    wanted = [item.sample_id for item in batch.items]
    samples = decisions.samples_for_review(session, audit_id, wanted)
    missing = [sample_id for sample_id in wanted if sample_id not in samples]
    if missing:
        raise NotFound(
            f"audit {audit_id} has no sample(s) {', '.join(map(repr, missing[:10]))}",
            code="sample_not_found",
            details={"sample_ids": missing},
        )
    conflicts = [
        {
            "sample_id": item.sample_id,
            "version": item.version,
            "current_version": samples[item.sample_id].version,
        }
        for item in batch.items
        if item.version is not None and item.version != samples[item.sample_id].version
    ]
    if conflicts:
        raise _conflict(conflicts)
    now = utcnow()
    for item in batch.items:
        _decide(session, audit_id, samples[item.sample_id], item, principal.name, now)
    session.flush()
    return ReviewResult(items=[sample_out(audit, samples[sample_id]) for sample_id in wanted])


def _decide(
    session: Session,
    audit_id: uuid.UUID,
    sample: Sample,
    item: ReviewItem,
    actor: str,
    now: datetime,
) -> None:
    """Write one decision over the state it was read in, and log what it replaced.

    Between reading and writing, another batch can get in on SQLite (PostgreSQL's row lock
    keeps it out): the write then finds a newer version. A decision naming the version it
    replaces is stale, 409; one naming none is laid over the newer state, read again. The
    failed write already holds SQLite's write lock, so nobody gets in a second time.
    """
    decision = decision_of(item.action)
    for _attempt in range(2):
        before = decisions.review_state(sample)
        if decisions.record_decision(
            session,
            sample,
            sample.version,
            # A cleared sample is pending again (the log keeps who cleared it).
            action=decision,
            final_label=final_label(
                item.action,
                given_label=sample.given_label,
                suggested_label=sample.suggested_label,
                label=item.label,
            ),
            reviewed_by=None if decision is None else actor,
            reviewed_at=None if decision is None else now,
        ):
            session.add(
                ReviewEvent(
                    audit_id=audit_id,
                    sample_id=sample.sample_id,
                    actor=actor,
                    action=item.action,
                    before=before,
                    after=decisions.review_state(sample),
                    created_at=now,
                )
            )
            return
        session.refresh(sample)
        if item.version is not None:
            break
    raise _conflict(
        [{"sample_id": item.sample_id, "version": item.version, "current_version": sample.version}]
    )


def _conflict(conflicts: list[dict[str, Any]]) -> Conflict:
    return Conflict(
        f"{len(conflicts)} sample(s) were reviewed since you loaded them "
        f"({', '.join(repr(c['sample_id']) for c in conflicts[:10])}); reload and retry",
        code="review_conflict",
        details=conflicts,
    )


def _check_batch(batch: ReviewBatch, class_names: list[str]) -> None:
    repeated = [
        sample_id for sample_id, n in Counter(i.sample_id for i in batch.items).items() if n > 1
    ]
    if repeated:
        raise InvalidInput(
            f"sample(s) {', '.join(map(repr, repeated[:10]))} appear more than once in the batch",
            code="duplicate_sample",
            details={"sample_ids": repeated},
        )
    unknown = sorted({i.label for i in batch.items if i.label and i.label not in class_names})
    if unknown:
        raise InvalidInput(
            f"unknown label(s) {', '.join(map(repr, unknown))}; the audit's classes are "
            f"{', '.join(class_names)}",
            code="unknown_label",
            details={"labels": unknown, "classes": class_names},
        )


def review_log(
    session: Session,
    audit_id: uuid.UUID,
    *,
    sample_id: str | None,
    limit: int,
    cursor: str | None,
) -> ReviewLogPage:
    require_audit(session, audit_id)
    after_id = None
    if cursor is not None:
        (after_id,) = decode_cursor(cursor, 1)
        if not isinstance(after_id, int):
            raise InvalidInput("the cursor is not valid", code="invalid_cursor")
    events = repository.log_page(
        session, audit_id, sample_id=sample_id, after_id=after_id, limit=limit + 1
    )
    page = events[:limit]
    next_cursor = encode_cursor([page[-1].id]) if len(events) > limit else None
    return ReviewLogPage(
        items=[ReviewEventOut.model_validate(event) for event in page], next_cursor=next_cursor
    )
