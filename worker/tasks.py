"""The audit task: thin glue between the queue, the database and the engine.

``run_audit(audit_id)`` is idempotent: a re-delivered task for a finished audit does nothing,
one for an audit whose worker died takes it over and replaces any partial results in one
transaction (see :mod:`service.audits.execution`).
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from dataclasses import replace
from functools import cache
from typing import Any

from celery import Task
from celery.exceptions import MaxRetriesExceededError

from service.audits import execution
from service.audits.execution import AuditJob, AuditOutcome
from service.config import get_settings
from service.db import Database
from service.queue import RUN_AUDIT_TASK
from service.storage import Storage
from worker.engine import (
    AuditConfig,
    AuditResult,
    ConfigError,
    DataLimits,
    Dataset,
    DatasetError,
    Progress,
    audit,
    load_dataset,
)

from .celery_app import app

log = logging.getLogger(__name__)
# The API sends the task just before it commits the audit: wait this often, this long.
MISSING_RETRIES = 10
MISSING_RETRY_S = 1.0
# Feature values kept per table row for the review cards (the first columns).
KEY_FEATURES = 8


class AuditStopped(Exception):
    """The audit was cancelled, deleted or taken over while it ran."""


@cache
def database() -> Database:
    # Created lazily, in the pool's child process: connections do not survive a fork.
    return Database(get_settings().resolved_database_url)


@app.task(name=RUN_AUDIT_TASK, bind=True, acks_late=True, max_retries=None)
def run_audit(self: Task, audit_id: str) -> str:
    """Run one audit; returns what happened (for the worker log)."""
    outcome = execute_audit(uuid.UUID(audit_id))
    try:
        if outcome == "missing":
            raise self.retry(countdown=MISSING_RETRY_S, max_retries=MISSING_RETRIES)
        if outcome == "busy":
            # Another worker holds it; look again once its heartbeat could have gone stale.
            raise self.retry(countdown=get_settings().stale_after_s)
    except MaxRetriesExceededError:
        return "gone"
    return outcome


def execute_audit(audit_id: uuid.UUID) -> str:
    settings = get_settings()
    with database().session_scope() as session:
        claim = execution.claim_audit(
            session,
            Storage(settings.data_dir),
            audit_id,
            worker_host=socket.gethostname(),
            stale_after_s=settings.stale_after_s,
        )
    if claim.job is None:
        return claim.outcome
    job = claim.job
    try:
        outcome = _run_engine(job)
    except AuditStopped:
        return "stopped"
    except (DatasetError, ConfigError) as exc:
        _fail(job, str(exc))
        return "failed"
    except Exception as exc:
        log.exception("audit %s failed", audit_id)
        _fail(job, f"the worker hit an internal error ({type(exc).__name__}); see its log")
        return "failed"
    with database().session_scope() as session:
        stored = execution.store_results(session, job, outcome)
    return "succeeded" if stored else "stopped"


def _fail(job: AuditJob, message: str) -> None:
    with database().session_scope() as session:
        execution.fail_audit(session, job, message)


def _run_engine(job: AuditJob) -> AuditOutcome:
    settings = get_settings()
    reporter = ProgressReporter(job, settings.progress_interval_s)
    reporter(Progress("loading", 0, 0, 0.0), force=True)
    config = AuditConfig.from_mapping(job.engine_options)
    dataset = load_dataset(
        job.upload_path,
        label_column=job.label_column,
        id_column=job.id_column,
        image_size=config.image_size,
        cache_dir=job.cache_dir,
        limits=DataLimits(
            max_archive_bytes=settings.max_expanded_bytes,
            max_members=settings.max_archive_members,
            max_image_pixels=settings.max_image_pixels,
            max_columns=settings.max_columns,
        ),
    )
    if job.relabel or job.exclude:
        dataset = dataset.with_corrections(job.relabel, job.exclude)
    result = audit(dataset, config, progress=reporter)
    outcome = to_outcome(result, list(dataset.image_paths) if dataset.kind == "image" else None)
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
        {"given": names[i], "suggested": names[j], "count": int(result.confusion[i, j])}
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
        confusion=confusion,
        seconds=result.seconds,
        device=result.device,
    )


class ProgressReporter:
    """The engine's progress callback: writes progress at most every ``interval_s`` and
    raises :class:`AuditStopped` when the audit is no longer this worker's to run."""

    def __init__(self, job: AuditJob, interval_s: float) -> None:
        self.job = job
        self.interval_s = interval_s
        self.started = time.monotonic()
        self.last_write = float("-inf")

    def __call__(self, progress: Progress, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_write < self.interval_s:
            return
        self.last_write = now
        fraction = min(max(progress.fraction, 0.0), 1.0)
        elapsed = now - self.started
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else None
        report = {
            "stage": progress.stage,
            "epoch": progress.epoch,
            "epochs": progress.epochs,
            "fraction": round(fraction, 4),
            "eta_seconds": round(eta, 1) if eta is not None else None,
        }
        with database().session_scope() as session:
            still_ours = execution.record_progress(session, self.job, report)
        if not still_ours:
            raise AuditStopped(str(self.job.audit_id))
