"""Leases of running audits, and the sweeper that hands expired ones to other workers and
sends again the queued audits whose message was lost.

Every worker process runs a :class:`Sweeper`; the audit it is running holds a lease that a
:class:`LeaseKeeper` renews. A worker that dies stops renewing, the lease expires after
``LABELAUDIT_LEASE_SECONDS`` and the next sweep of any worker re-queues the audit, which
resumes from its checkpoint. A worker that cannot renew (the database is unreachable from
it) stops training before its lease can expire, so an audit never runs twice at once.
A queued audit that nobody claims within ``LABELAUDIT_RESEND_AFTER_SECONDS`` while its queue
holds fewer messages than queued audits is sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from service.audits import worker_attempts, worker_sweeps
from service.audits.worker_attempts import AuditJob
from service.db import Database
from service.queue import AuditQueue

log = logging.getLogger(__name__)
# Renewals per lease period: a few may fail (a database fail-over) before it expires.
RENEWALS_PER_LEASE = 6
# Stop training once this share of the lease has passed without a renewal.
SELF_FENCE_SHARE = 0.8


class LeaseKeeper:
    """Renews ``job``'s lease in a thread while the block runs: the only code that renews
    a lease, on its own clock, so a long epoch (or a long load) without progress keeps it.

    ``lost`` is set, with ``reason``, once the audit is no longer this attempt's or the
    lease could not be renewed for most of its length.
    """

    def __init__(self, database: Database, job: AuditJob, *, lease_s: float) -> None:
        self.database = database
        self.job = job
        self.lease_s = lease_s
        self.lost = threading.Event()
        self.reason = ""
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._renew_until_done, name=f"lease-{job.audit_id}", daemon=True
        )

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _renew_until_done(self) -> None:
        renewed = time.monotonic()
        while not self._done.wait(self.lease_s / RENEWALS_PER_LEASE):
            try:
                with self.database.session_scope() as session:
                    held = worker_attempts.renew_lease(session, self.job, lease_s=self.lease_s)
            except Exception as exc:  # the database is away; the lease runs down
                silent = time.monotonic() - renewed
                log.warning("audit %s: lease renewal failed: %s", self.job.audit_id, exc)
                if silent > SELF_FENCE_SHARE * self.lease_s:
                    self._lose(f"its lease could not be renewed for {silent:.0f} s")
                    return
                continue
            if not held:
                self._lose("it was cancelled, deleted or handed to another worker")
                return
            renewed = time.monotonic()

    def _lose(self, reason: str) -> None:
        self.reason = reason
        self.lost.set()


@dataclass(frozen=True)
class SweepCounts:
    requeued: int
    resent: int


class Sweeper:
    """Re-queues the audits whose lease expired and sends again those whose message was
    lost, every ``interval_s``, in a thread."""

    def __init__(
        self, database: Database, queue: AuditQueue, *, interval_s: float, resend_after_s: float
    ) -> None:
        self.database = database
        self.queue = queue
        self.interval_s = interval_s
        self.resend_after_s = resend_after_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sweep_until_stopped, name="sweeper")

    def start(self) -> None:
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def sweep(self) -> SweepCounts:
        """One pass; returns how many audits it re-queued and sent again."""
        with self.database.session_scope() as session:
            expired = worker_sweeps.requeue_expired(session, self.queue)
            lost = worker_sweeps.resend_lost(session, self.queue, after_s=self.resend_after_s)
        for lease in expired:
            log.warning(
                "audit %s: re-queued; the lease of attempt %d (worker %s) expired at %s",
                lease.audit_id,
                lease.attempt,
                lease.worker_host,
                lease.expired_at,
            )
        for message in lost:
            log.warning(
                "audit %s: sent again to queue %s; unclaimed since %s, its message was lost",
                message.audit_id,
                message.queue,
                message.enqueued_at,
            )
        return SweepCounts(requeued=len(expired), resent=len(lost))

    def _sweep_until_stopped(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception as exc:  # the database or broker is away; try again next time
                log.warning("lease sweep failed: %s", exc)
            if self._stopped.wait(self.interval_s):
                return
