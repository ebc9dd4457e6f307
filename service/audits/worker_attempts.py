"""A worker's attempt at an audit, as the database sees it: claim the audit with a lease,
renew the lease, write progress, then store the results or the error, or give the audit
back on shutdown.

Called only by the worker (:mod:`worker.tasks`, :mod:`worker.leases`,
:mod:`worker.progress`), each inside the caller's own unit of work. Every write names the
attempt that made it (the fencing token), so a worker that lost its audit — it was
cancelled or deleted, or its lease expired and the audit was re-queued — can no longer
change it. The audits that no live attempt holds are :mod:`.worker_sweeps`' to re-queue.
What crosses to and from the worker is :mod:`formats.contract`'s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import insert
from sqlalchemy.orm import Session

from formats.contract import AuditOutcome, AuditSummary, ProgressReport, RoundComparison

from ..db import utcnow
from ..queue import AuditQueue
from ..reviews import rounds_repository
from ..storage import Storage
from . import repository
from .models import FINISHED, Audit, Sample
from .schemas import READING_OPTIONS

ClaimOutcome = Literal["run", "finished", "busy", "missing"]
INSERT_BATCH = 5000


@dataclass(frozen=True)
class AuditJob:
    """What a worker needs to run an audit."""

    audit_id: uuid.UUID
    attempt: int
    upload_path: Path
    cache_dir: Path
    checkpoint_path: Path
    label_column: str
    id_column: str
    engine_options: dict[str, Any]
    relabel: dict[str, str]
    exclude: frozenset[str]


@dataclass(frozen=True)
class Claim:
    outcome: ClaimOutcome
    job: AuditJob | None = None


def claim_audit(
    session: Session,
    storage: Storage,
    audit_id: uuid.UUID,
    *,
    worker_host: str,
    lease_s: float,
) -> Claim:
    """Take a queued audit, or a running one whose lease has expired, with a new lease.

    A finished audit (a re-delivered task) is left alone; a running audit with a live
    lease belongs to a live worker.
    """
    audit = repository.get_audit(session, audit_id, for_update=True)
    if audit is None:
        return Claim("missing")
    if audit.status in FINISHED:
        return Claim("finished")
    now = utcnow()
    if (
        audit.status == "running"
        and audit.lease_expires_at is not None
        and audit.lease_expires_at > now
    ):
        return Claim("busy")
    audit.status = "running"
    audit.attempt += 1
    audit.started_at = audit.started_at or now
    audit.heartbeat_at = now
    audit.lease_expires_at = now + timedelta(seconds=lease_s)
    audit.worker_host = worker_host[:255]
    audit.progress = ProgressReport.starting().model_dump(mode="json")
    audit.error = None
    session.flush()
    corrections = audit.stored_corrections()
    return Claim(
        "run",
        AuditJob(
            audit_id=audit.id,
            attempt=audit.attempt,
            upload_path=storage.upload_path(audit.id, audit.upload_kind),
            cache_dir=storage.audit_dir(audit.id) / "cache",
            checkpoint_path=storage.checkpoint_path(audit.id),
            label_column=audit.config["label_column"],
            id_column=audit.config["id_column"],
            engine_options={
                key: value for key, value in audit.config.items() if key not in READING_OPTIONS
            },
            relabel={} if corrections is None else dict(corrections.relabel),
            exclude=frozenset() if corrections is None else frozenset(corrections.exclude),
        ),
    )


def _own_running_audit(session: Session, job: AuditJob) -> Audit | None:
    """The audit if this attempt still owns it: not cancelled, deleted or taken over."""
    audit = repository.get_audit(session, job.audit_id, for_update=True)
    if audit is None or audit.status != "running" or audit.attempt != job.attempt:
        return None
    return audit


def renew_lease(session: Session, job: AuditJob, *, lease_s: float) -> bool:
    """Extend the lease; False when the audit is no longer this attempt's: cancelled,
    deleted, or re-queued after its lease expired.

    The worker's lease keeper (:class:`worker.leases.LeaseKeeper`) is its only caller.
    """
    audit = _own_running_audit(session, job)
    if audit is None:
        return False
    audit.heartbeat_at = utcnow()
    audit.lease_expires_at = audit.heartbeat_at + timedelta(seconds=lease_s)
    session.flush()
    return True


def write_progress(session: Session, job: AuditJob, report: ProgressReport) -> bool:
    """Record how far the attempt is (the lease is left to the keeper); False, and nothing
    written, when the audit is no longer this attempt's."""
    audit = _own_running_audit(session, job)
    if audit is None:
        return False
    audit.progress = report.model_dump(mode="json")
    session.flush()
    return True


def release_audit(session: Session, queue: AuditQueue, job: AuditJob) -> bool:
    """Give a running audit back (its worker is shutting down): queued again at once, so
    the next worker resumes from the checkpoint without waiting for the lease to expire.

    The task is sent before the caller commits; if it cannot be, the audit stays leased
    and the sweeper re-queues it when the lease expires.
    """
    audit = _own_running_audit(session, job)
    if audit is None:
        return False
    audit.status = "queued"
    audit.lease_expires_at = None
    audit.worker_host = None
    audit.enqueued_at = utcnow()
    session.flush()
    queue.enqueue(audit.id, audit.queue)
    return True


def is_finished(session: Session, audit_id: uuid.UUID) -> bool:
    """Whether the audit is over for good (finished or deleted), so its checkpoint can go."""
    audit = repository.get_audit(session, audit_id)
    return audit is None or audit.status in FINISHED


def store_results(session: Session, job: AuditJob, outcome: AuditOutcome) -> bool:
    """Replace whatever samples the audit has with the outcome's and mark it succeeded, in
    the caller's one transaction; False (and nothing written) when the audit is not ours."""
    audit = _own_running_audit(session, job)
    if audit is None:
        return False
    repository.delete_samples(session, job.audit_id)
    corrections = audit.stored_corrections()
    prior_reviews = {} if corrections is None else corrections.reviews
    rows = [
        {
            "audit_id": job.audit_id,
            "row_index": index,
            "sample_id": sample_id,
            "given_label": outcome.given[index],
            "suggested_label": outcome.suggested[index],
            "confidence": outcome.confidence[index],
            "score": outcome.score[index],
            "flagged": outcome.flagged[index],
            "image_path": outcome.image_paths[index] if outcome.image_paths else None,
            "features": outcome.features[index] if outcome.features else None,
            "history": outcome.history[index] if outcome.history else None,
            "top_classes": outcome.top_classes[index] if outcome.top_classes else None,
            "deciding_view": outcome.deciding_view[index] if outcome.deciding_view else None,
            "version": 0,
            "prior_review": (
                prior_reviews[sample_id].model_dump(mode="json")
                if sample_id in prior_reviews
                else None
            ),
        }
        for index, sample_id in enumerate(outcome.sample_ids)
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(Sample), rows[start : start + INSERT_BATCH])
    audit.status = "succeeded"
    audit.finished_at = audit.heartbeat_at = utcnow()
    audit.lease_expires_at = None
    summary = AuditSummary.of(outcome, rounds=_rounds(session, audit))
    audit.summary = summary.model_dump(mode="json")
    audit.progress = ProgressReport.done(summary.epochs or 0).model_dump(mode="json")
    session.flush()
    return True


def _rounds(session: Session, audit: Audit) -> RoundComparison | None:
    """A re-audit's flags against its parent's, counted once: neither changes any more."""
    corrections = audit.stored_corrections()
    if audit.parent_id is None or corrections is None:
        return None
    return RoundComparison(
        round=corrections.round,
        **rounds_repository.round_comparison(session, audit.id, audit.parent_id),
    )


def fail_audit(session: Session, job: AuditJob, message: str) -> None:
    audit = _own_running_audit(session, job)
    if audit is None:
        return
    audit.status = "failed"
    audit.error = message
    audit.finished_at = utcnow()
    audit.lease_expires_at = None
    session.flush()
