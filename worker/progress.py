"""The engine's progress callback as a worker runs it: progress written to the audit's row,
so the dashboard shows it and a deleted, cancelled or taken-over audit stops training.

The lease is not this module's: :class:`worker.leases.LeaseKeeper` alone renews it, on its
own clock, so an epoch longer than the lease keeps it and a report is only a write.
"""

from __future__ import annotations

import time

from formats.contract import ProgressReport
from service.audits import worker_attempts
from service.audits.worker_attempts import AuditJob
from service.db import Database
from worker.engine import Progress


class AuditStopped(Exception):
    """The audit was cancelled, deleted or taken over while it ran."""


class ProgressReporter:
    """The engine's progress callback: writes progress at most every ``interval_s`` and
    raises :class:`AuditStopped` when the audit is no longer this worker's to run. It never
    renews the lease: :class:`worker.leases.LeaseKeeper` does, alone.
    """

    def __init__(self, job: AuditJob, database: Database, interval_s: float) -> None:
        self.job = job
        self.database = database
        self.interval_s = interval_s
        self.started = time.monotonic()
        self.last_write = float("-inf")
        self.resumed_at: int | None = None
        self.start_fraction = 0.0

    def __call__(self, progress: Progress, *, force: bool = False) -> None:
        now = time.monotonic()
        fraction = min(max(progress.fraction, 0.0), 1.0)
        if progress.resumed_at is not None:
            # Time left is estimated from the epochs this attempt trains.
            self.resumed_at, self.started, self.start_fraction = progress.resumed_at, now, fraction
            force = True
        if not force and now - self.last_write < self.interval_s:
            return
        self.last_write = now
        elapsed = now - self.started
        done = fraction - self.start_fraction
        eta = elapsed * (1 - fraction) / done if done > 0 else None
        report = ProgressReport(
            stage=progress.stage,
            epoch=progress.epoch,
            epochs=progress.epochs,
            fraction=round(fraction, 4),
            eta_seconds=round(eta, 1) if eta is not None else None,
            resumed_at=self.resumed_at,
        )
        with self.database.session_scope() as session:
            still_ours = worker_attempts.write_progress(session, self.job, report)
        if not still_ours:
            raise AuditStopped(str(self.job.audit_id))
