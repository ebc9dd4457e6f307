"""The worker's side of an audit: claim it, renew its lease, store results or the error,
release it on shutdown, re-queue the audits whose lease expired and send again those whose
message was lost.

Called by :mod:`worker.tasks` and :mod:`worker.leases` inside their own units of work.
Every write names the attempt that made it (the fencing token), so a worker that lost its
audit — its lease expired and the audit was re-queued — can no longer change it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import CursorResult, func, insert, or_, select, update
from sqlalchemy.orm import Session

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


@dataclass(frozen=True)
class AuditOutcome:
    """An engine result as plain lists (the service never sees the engine's types)."""

    sample_ids: list[str]
    given: list[str]
    suggested: list[str]
    confidence: list[float]
    score: list[float]
    flagged: list[bool]
    image_paths: list[str] | None
    estimated_errors: dict[str, int]
    thresholds: dict[str, float]
    confusion: list[dict[str, Any]]
    seconds: float
    device: str
    # Tables: each row's first feature values, under these names (what review cards show).
    feature_names: list[str] = field(default_factory=list)
    features: list[list[float]] | None = None
    # What the options left to the data resolved to: the epochs trained, the mode, the
    # image side.
    epochs: int | None = None
    mode: str | None = None
    image_size: int | None = None
    # The CPU threads the worker trained with (LABELAUDIT_TRAINING_THREADS, or its CPUs).
    threads: int | None = None
    # The evidence for each flag, packed by formats.evidence: the given-label probability
    # after every epoch, and the top classes over the last ``window`` epochs (the flag's).
    history: list[bytes] | None = None
    top_classes: list[bytes] | None = None
    window: int | None = None
    # Per sample, whose predictions decided it and the evidence above (DECIDING_VIEWS).
    deciding_view: list[str] | None = None
    # Per class, the sample ids of a few confidently labeled samples (for reviewers).
    reference_examples: dict[str, list[str]] = field(default_factory=dict)


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
    audit.progress = {"stage": "loading", "epoch": 0, "epochs": 0, "fraction": 0.0}
    audit.error = None
    session.flush()
    corrections = audit.corrections or {}
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
            relabel=dict(corrections.get("relabel", {})),
            exclude=frozenset(corrections.get("exclude", [])),
        ),
    )


def _own_running_audit(session: Session, job: AuditJob) -> Audit | None:
    """The audit if this attempt still owns it: not cancelled, deleted or taken over."""
    audit = repository.get_audit(session, job.audit_id, for_update=True)
    if audit is None or audit.status != "running" or audit.attempt != job.attempt:
        return None
    return audit


def renew_lease(
    session: Session, job: AuditJob, *, lease_s: float, progress: dict[str, Any] | None = None
) -> bool:
    """Extend the lease (and write progress); False when the audit is no longer this
    attempt's: cancelled, deleted, or re-queued after its lease expired."""
    audit = _own_running_audit(session, job)
    if audit is None:
        return False
    if progress is not None:
        audit.progress = progress
    audit.heartbeat_at = utcnow()
    audit.lease_expires_at = audit.heartbeat_at + timedelta(seconds=lease_s)
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


@dataclass(frozen=True)
class ExpiredLease:
    audit_id: uuid.UUID
    attempt: int
    worker_host: str | None
    expired_at: Any


def requeue_expired(session: Session, queue: AuditQueue) -> list[ExpiredLease]:
    """Send every running audit whose lease has expired back to its queue.

    Each is re-queued by one conditional update, so of several sweepers (one per worker)
    exactly one sends it, and a worker that renews at that moment keeps it.
    """
    now = utcnow()
    expired = or_(Audit.lease_expires_at.is_(None), Audit.lease_expires_at < now)
    rows = session.execute(
        select(Audit.id, Audit.attempt, Audit.worker_host, Audit.lease_expires_at, Audit.queue)
        .where(Audit.status == "running", expired)
        .order_by(Audit.created_at)
    ).all()
    requeued = []
    for audit_id, attempt, worker_host, expires_at, queue_name in rows:
        result = session.execute(
            update(Audit)
            .where(Audit.id == audit_id, Audit.status == "running", Audit.attempt == attempt)
            .where(expired)
            .values(status="queued", lease_expires_at=None, worker_host=None, enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        if isinstance(result, CursorResult) and result.rowcount == 1:
            queue.enqueue(audit_id, queue_name)
            requeued.append(ExpiredLease(audit_id, attempt, worker_host, expires_at))
    return requeued


@dataclass(frozen=True)
class LostMessage:
    audit_id: uuid.UUID
    queue: str
    enqueued_at: datetime


def resend_lost(session: Session, queue: AuditQueue, *, after_s: float) -> list[LostMessage]:
    """Send again the queued audits whose message was lost: unclaimed ``after_s`` after
    their task was sent, on a queue that holds fewer messages than it has queued audits (a
    broker restarted without persistence loses what it held).

    Which message is missing cannot be told, so every such audit of the queue is sent
    again; a worker drops a copy that arrives after the audit was claimed. Each is sent by
    one conditional update, so of several sweepers exactly one sends it. A queue whose
    workers are all away keeps its messages and is left alone.
    """
    now = utcnow()
    unclaimed = (Audit.status == "queued") & (Audit.enqueued_at < now - timedelta(seconds=after_s))
    names = session.scalars(select(Audit.queue).where(unclaimed).distinct()).all()
    resent = []
    for queue_name in names:
        # The broker first: a message sent after this count belongs to an audit too new to
        # be resent.
        waiting = queue.waiting(queue_name)
        queued = session.scalar(
            select(func.count())
            .select_from(Audit)
            .where(Audit.status == "queued", Audit.queue == queue_name)
        )
        if waiting >= (queued or 0):
            continue
        rows = session.execute(
            select(Audit.id, Audit.enqueued_at)
            .where(unclaimed, Audit.queue == queue_name)
            .order_by(Audit.created_at)
        ).all()
        for audit_id, enqueued_at in rows:
            result = session.execute(
                update(Audit)
                .where(Audit.id == audit_id, unclaimed)
                .values(enqueued_at=now)
                .execution_options(synchronize_session=False)
            )
            if isinstance(result, CursorResult) and result.rowcount == 1:
                queue.enqueue(audit_id, queue_name)
                resent.append(LostMessage(audit_id, queue_name, enqueued_at))
    return resent


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
    prior_reviews = (audit.corrections or {}).get("reviews", {})
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
            "prior_review": prior_reviews.get(sample_id),
        }
        for index, sample_id in enumerate(outcome.sample_ids)
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(insert(Sample), rows[start : start + INSERT_BATCH])
    audit.status = "succeeded"
    audit.finished_at = audit.heartbeat_at = utcnow()
    audit.lease_expires_at = None
    # The epochs trained stay readable: a finished audit reads "epoch 40 of 40", not 0 of 0.
    epochs = outcome.epochs or 0
    audit.progress = {
        "stage": "done",
        "epoch": epochs,
        "epochs": epochs,
        "fraction": 1.0,
        "eta_seconds": 0,
    }
    audit.summary = {
        "samples": len(rows),
        "flagged": sum(outcome.flagged),
        "estimated_errors": outcome.estimated_errors,
        "thresholds": outcome.thresholds,
        "confusion": outcome.confusion,
        "seconds": round(outcome.seconds, 3),
        "device": outcome.device,
        "feature_names": outcome.feature_names,
        "epochs": outcome.epochs,
        "mode": outcome.mode,
        "image_size": outcome.image_size,
        "threads": outcome.threads,
        "rounds": _rounds(session, audit),
        "window": outcome.window,
        "reference_examples": outcome.reference_examples,
    }
    session.flush()
    return True


def _rounds(session: Session, audit: Audit) -> dict[str, int] | None:
    """A re-audit's flags against its parent's, counted once: neither changes any more."""
    if audit.parent_id is None or audit.corrections is None:
        return None
    return {
        "round": audit.corrections.get("round", 2),
        **rounds_repository.round_comparison(session, audit.id, audit.parent_id),
    }


def fail_audit(session: Session, job: AuditJob, message: str) -> None:
    audit = _own_running_audit(session, job)
    if audit is None:
        return
    audit.status = "failed"
    audit.error = message
    audit.finished_at = utcnow()
    audit.lease_expires_at = None
    session.flush()
