"""The audit task: thin glue between the queue, the database and the engine.

``run_audit(audit_id)`` is idempotent: a re-delivered task for a finished audit, or for one
whose lease another worker holds, does nothing; one for an audit re-queued after its
worker died takes it over, resumes training from its checkpoint and replaces any partial
results in one transaction (see :mod:`service.audits.worker_attempts`). A warm shutdown
(SIGTERM) abandons the epoch in progress and gives the audit back, so the next worker
resumes it at once. Every way an attempt ends is logged with its reason. What it hands the
service is :class:`formats.contract.AuditOutcome`.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from dataclasses import replace
from functools import cache
from typing import Any

from celery import Task, signals
from celery.exceptions import MaxRetriesExceededError, Reject

from formats import Dataset, DatasetError
from formats.contract import AuditOutcome, ConfusionCell
from formats.evidence import history_blobs, top_class_blobs
from formats.stages import LOADING
from service.audits import repository, worker_attempts
from service.audits.worker_attempts import AuditJob
from service.config import get_settings
from service.db import Database
from service.queue import RUN_AUDIT_TASK, AuditQueue
from service.storage import Storage
from worker.engine import (
    AuditConfig,
    AuditResult,
    ConfigError,
    Progress,
    TrainingInterrupted,
    audit,
    load_for_audit,
)
from worker.engine.checkpoint import remove_checkpoint

from .celery_app import app
from .leases import LeaseKeeper, Sweeper
from .progress import AuditStopped, ProgressReporter

log = logging.getLogger(__name__)
# The API sends the task just before it commits the audit: wait this often, this long.
MISSING_RETRIES = 10
MISSING_RETRY_S = 1.0
# Feature values kept per table row for the review cards (the first columns).
KEY_FEATURES = 8
# Set by the worker's warm shutdown (SIGTERM); the running audit checks it between batches.
SHUTTING_DOWN = threading.Event()


@cache
def database() -> Database:
    return Database(get_settings().resolved_database_url)


def audit_queue() -> AuditQueue:
    return AuditQueue(app, default_queue=get_settings().audit_queue)


@signals.worker_ready.connect
def start_sweeper(**_: Any) -> None:
    settings = get_settings()
    sweeper = Sweeper(
        database(),
        audit_queue(),
        interval_s=settings.sweep_interval_s,
        resend_after_s=settings.resend_after_s,
    )
    sweeper.start()
    signals.worker_shutdown.connect(lambda **_: sweeper.stop(), weak=False)


@signals.worker_shutting_down.connect
def stop_training(**_: Any) -> None:
    # Runs in the signal handler: set a flag, nothing that could wait on a lock.
    SHUTTING_DOWN.set()


@app.task(name=RUN_AUDIT_TASK, bind=True, acks_late=True, max_retries=None)
def run_audit(self: Task, audit_id: str) -> str:
    """Run one audit; returns what happened (for the worker log)."""
    if SHUTTING_DOWN.is_set():
        # A message the consumer took after the shutdown began (the worker's own audit,
        # just re-queued, or the next one): back to the queue, for a worker that stays.
        log.info("audit %s: not started; the worker is shutting down", audit_id)
        raise Reject("the worker is shutting down", requeue=True)
    outcome = execute_audit(uuid.UUID(audit_id))
    if outcome == "missing":
        try:
            raise self.retry(countdown=MISSING_RETRY_S, max_retries=MISSING_RETRIES)
        except MaxRetriesExceededError:
            return "gone"
    return outcome


def execute_audit(audit_id: uuid.UUID) -> str:
    settings = get_settings()
    storage = Storage(settings.data_dir)
    with database().session_scope() as session:
        claim = worker_attempts.claim_audit(
            session, storage, audit_id, worker_host=socket.gethostname(), lease_s=settings.lease_s
        )
    if claim.job is None:
        log.info("audit %s: nothing to do (%s)", audit_id, claim.outcome)
        return claim.outcome
    job = claim.job
    log.info("audit %s: attempt %d started", audit_id, job.attempt)
    with LeaseKeeper(database(), job, lease_s=settings.lease_s) as lease:
        try:
            outcome = _run_engine(
                job, should_stop=lambda: lease.lost.is_set() or SHUTTING_DOWN.is_set()
            )
        except (AuditStopped, TrainingInterrupted):
            return _interrupted(job, lease)
        except (DatasetError, ConfigError) as exc:
            log.info("audit %s: failed: %s", audit_id, exc)
            return _fail(job, str(exc))
        except Exception as exc:
            if lease.lost.is_set() or _lost_reason(job) is not None:
                # Its files went with it (deleted) or to another attempt: not a fault here.
                return _interrupted(job, lease)
            log.exception("audit %s failed", audit_id)
            return _fail(
                job, f"the worker hit an internal error ({type(exc).__name__}); see its log"
            )
        with database().session_scope() as session:
            stored = worker_attempts.store_results(session, job, outcome)
    remove_checkpoint(job.checkpoint_path)
    if not stored:
        log.warning(
            "audit %s: results of attempt %d dropped; the audit is no longer its",
            audit_id,
            job.attempt,
        )
        return "stopped"
    log.info("audit %s: attempt %d succeeded", audit_id, job.attempt)
    return "succeeded"


def _interrupted(job: AuditJob, lease: LeaseKeeper) -> str:
    """Training stopped before the end: give the audit back, or let go of a lost one."""
    if not lease.lost.is_set() and SHUTTING_DOWN.is_set():
        with database().session_scope() as session:
            released = worker_attempts.release_audit(session, audit_queue(), job)
        if released:
            log.warning(
                "audit %s: worker shutting down; attempt %d checkpointed and re-queued",
                job.audit_id,
                job.attempt,
            )
            return "released"
    with database().session_scope() as session:
        finished = worker_attempts.is_finished(session, job.audit_id)
    if finished:
        remove_checkpoint(job.checkpoint_path)
    reason = _lost_reason(job) or lease.reason or "it was given back"
    # Deleted or cancelled is what a user asked for; anything else is worth a warning.
    level = logging.INFO if finished else logging.WARNING
    log.log(level, "audit %s: attempt %d stopped: %s", job.audit_id, job.attempt, reason)
    return "stopped"


def _lost_reason(job: AuditJob) -> str | None:
    """Why the audit is no longer this attempt's to run, or None while it is."""
    with database().session_scope() as session:
        audit = repository.get_audit(session, job.audit_id)
        if audit is None:
            return "it was deleted"
        status, attempt = audit.status, audit.attempt
    if status == "cancelled":
        return "it was cancelled"
    if attempt != job.attempt:
        return f"attempt {attempt} took it over"
    if status != "running":
        return f"it is {status}"
    return None


def _fail(job: AuditJob, message: str) -> str:
    with database().session_scope() as session:
        worker_attempts.fail_audit(session, job, message)
    remove_checkpoint(job.checkpoint_path)
    return "failed"


def _run_engine(job: AuditJob, *, should_stop: Any) -> AuditOutcome:
    settings = get_settings()
    reporter = ProgressReporter(job, database(), settings.progress_interval_s)
    reporter(Progress(LOADING, 0, 0, 0.0), force=True)
    config = AuditConfig.from_mapping(job.engine_options)
    dataset = load_for_audit(
        job.upload_path,
        config,
        label_column=job.label_column,
        id_column=job.id_column,
        cache_dir=job.cache_dir,
        limits=settings.limits,
    )
    if job.relabel or job.exclude:
        dataset = dataset.with_corrections(job.relabel, job.exclude)
    result = audit(
        dataset,
        config,
        progress=reporter,
        checkpoint_path=job.checkpoint_path,
        should_stop=should_stop,
        max_training_bytes=settings.limits.max_training_bytes,
    )
    outcome = to_outcome(result, list(dataset.image_paths) if dataset.kind == "image" else None)
    outcome = replace(outcome, threads=result.threads)
    if dataset.kind == "table":
        outcome = replace(outcome, **key_features(dataset))
    return outcome


def key_features(dataset: Dataset) -> dict[str, Any]:
    """The first columns of every row, what a reviewer sees of a table sample."""
    values = dataset.features[:, :KEY_FEATURES]
    # Through float32's shortest text, so 0.1 reads 0.1 rather than 0.10000000149.
    return {
        "feature_names": list(dataset.feature_names[:KEY_FEATURES]),
        "features": [[float(text) for text in row] for row in values.astype(str).tolist()],
    }


def to_outcome(result: AuditResult, image_paths: list[str] | None) -> AuditOutcome:
    names = result.class_names
    flags = result.flags
    confusion = [
        ConfusionCell(given=names[i], suggested=names[j], count=int(result.confusion[i, j]))
        for i in range(len(names))
        for j in range(len(names))
        if i != j and result.confusion[i, j] > 0
    ]
    return AuditOutcome(
        sample_ids=[str(sample_id) for sample_id in result.sample_ids.tolist()],
        given=[names[i] for i in result.given.tolist()],
        suggested=[names[i] for i in flags.suggested.tolist()],
        confidence=[float(value) for value in flags.confidence.tolist()],
        score=[float(value) for value in flags.score.tolist()],
        flagged=[bool(value) for value in flags.flagged.tolist()],
        image_paths=image_paths,
        estimated_errors=dict(result.estimated_errors),
        thresholds=dict(result.thresholds),
        confusion=confusion,
        seconds=result.seconds,
        device=result.device,
        plan=result.plan,
        feature_seconds=result.feature_seconds,
        history=history_blobs(result.given_history),
        top_classes=top_class_blobs(result.top_classes, result.top_probabilities),
        deciding_view=result.deciding_view.tolist(),
        reference_examples={
            name: [str(result.sample_ids[row]) for row in rows.tolist()]
            for name, rows in zip(names, result.reference_examples, strict=True)
        },
    )
