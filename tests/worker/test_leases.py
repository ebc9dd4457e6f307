"""Leases: sweepers re-queue an expired audit exactly once and leave live ones alone; a
worker whose audit is taken from it learns so from its next renewal; the lease keeper holds
an audit through an epoch longer than the lease and lets go before a lease it cannot renew
expires; a queued audit whose message was lost is sent again, once, and one whose message
waits is left alone."""

import time
import uuid
from datetime import timedelta

import redis

from service.db import utcnow
from tests.conftest import BOTH_DATABASES
from tests.worker.test_tasks import load, new_audit  # noqa: F401  (fixture)


def queued_messages(redis_url: str, queue: str) -> int:
    return int(redis.Redis.from_url(redis_url).llen(queue))


def test_two_sweepers_requeue_an_expired_audit_once_and_leave_a_live_one(
    database,
    settings,
    redis_url,
    new_audit,  # noqa: F811
):
    from service.queue import AuditQueue
    from worker.leases import Sweeper

    queue_name = f"sweep-{uuid.uuid4().hex[:8]}"
    expired = new_audit(
        status="running",
        attempt=3,
        queue=queue_name,
        lease_expires_at=utcnow() - timedelta(seconds=1),
    )
    live = new_audit(
        status="running",
        attempt=1,
        queue=queue_name,
        lease_expires_at=utcnow() + timedelta(seconds=30),
    )
    queue = AuditQueue.from_settings(settings)
    sweepers = [Sweeper(database, queue, interval_s=10, resend_after_s=60) for _ in range(2)]
    assert [sweeper.sweep().requeued for sweeper in sweepers] == [1, 0]
    assert queued_messages(redis_url, queue_name) == 1
    audit, _ = load(database, expired)
    assert audit.status == "queued" and audit.attempt == 3 and audit.lease_expires_at is None
    assert load(database, live)[0].status == "running"
    redis.Redis.from_url(redis_url).delete(queue_name)


def test_two_sweepers_resend_a_lost_message_once_and_leave_waiting_ones_alone(
    database,
    settings,
    redis_url,
    new_audit,  # noqa: F811
):
    from service.queue import AuditQueue
    from worker.leases import Sweeper

    queue = AuditQueue.from_settings(settings)
    long_ago = utcnow() - timedelta(seconds=120)
    # One queue lost the message of its older audit; the newer one's waits.
    lossy = f"lossy-{uuid.uuid4().hex[:8]}"
    lost = new_audit(queue=lossy, enqueued_at=long_ago)
    recent = new_audit(queue=lossy)
    queue.enqueue(recent, lossy)
    # Another holds the message of an audit that waits for a busy worker.
    backlog = f"backlog-{uuid.uuid4().hex[:8]}"
    waiting = new_audit(queue=backlog, enqueued_at=long_ago)
    queue.enqueue(waiting, backlog)

    sweepers = [Sweeper(database, queue, interval_s=10, resend_after_s=60) for _ in range(2)]
    resent = [sweeper.sweep().resent for sweeper in sweepers]

    assert resent[1] == 0
    assert queued_messages(redis_url, lossy) == 2
    assert queued_messages(redis_url, backlog) == 1
    assert load(database, lost)[0].enqueued_at > utcnow() - timedelta(seconds=10)
    assert load(database, waiting)[0].enqueued_at == long_ago
    assert load(database, recent)[0].status == "queued"
    redis.Redis.from_url(redis_url).delete(lossy, backlog)


@BOTH_DATABASES
def test_a_lease_keeper_notices_that_its_audit_was_taken(database, settings, new_audit):  # noqa: F811
    from service.audits import worker_attempts
    from service.audits.models import Audit
    from service.storage import Storage
    from worker.leases import LeaseKeeper

    audit_id = new_audit()
    with database.session_scope() as session:
        job = worker_attempts.claim_audit(
            session, Storage(settings.data_dir), audit_id, worker_host="h", lease_s=3
        ).job
    assert job is not None
    with LeaseKeeper(database, job, lease_s=3) as lease:
        time.sleep(1.2)
        assert not lease.lost.is_set()
        renewed = load(database, audit_id)[0].lease_expires_at
        assert renewed > utcnow() + timedelta(seconds=2)
        with database.session_scope() as session:
            assert (
                worker_attempts.claim_audit(
                    session, Storage(settings.data_dir), audit_id, worker_host="h", lease_s=3
                ).outcome
                == "busy"
            )
        # Another worker takes it over once re-queued: the first one's lease is gone.
        with database.session_scope() as session:
            session.get(Audit, audit_id).status = "queued"
        with database.session_scope() as session:
            worker_attempts.claim_audit(
                session, Storage(settings.data_dir), audit_id, worker_host="other", lease_s=3
            )
        assert lease.lost.wait(3), "the lease keeper never noticed"
    assert "handed to another worker" in lease.reason


def claimed(database, settings, audit_id, *, lease_s: float):
    """The job of a fresh claim of ``audit_id`` with a lease of ``lease_s``."""
    from service.audits import worker_attempts
    from service.storage import Storage

    with database.session_scope() as session:
        job = worker_attempts.claim_audit(
            session, Storage(settings.data_dir), audit_id, worker_host="h", lease_s=lease_s
        ).job
    assert job is not None
    return job


@BOTH_DATABASES
def test_an_epoch_longer_than_the_lease_keeps_it_without_a_progress_report(
    database,
    settings,
    new_audit,  # noqa: F811
):
    from service.queue import AuditQueue
    from worker.leases import LeaseKeeper, Sweeper

    audit_id = new_audit()
    job = claimed(database, settings, audit_id, lease_s=1.2)
    sweeper = Sweeper(
        database, AuditQueue.from_settings(settings), interval_s=10, resend_after_s=60
    )
    with LeaseKeeper(database, job, lease_s=1.2) as lease:
        # Two leases long, nothing reported: the sweeps find the lease live every time.
        for _ in range(4):
            time.sleep(0.6)
            assert sweeper.sweep().requeued == 0
        assert not lease.lost.is_set()
    audit = load(database, audit_id)[0]
    assert audit.status == "running" and audit.attempt == job.attempt


class UnreachableDatabase:
    """A database that refuses every unit of work, as one that went away does."""

    def session_scope(self):
        raise ConnectionError("the database is unreachable")


@BOTH_DATABASES
def test_a_lease_that_cannot_be_renewed_stops_the_attempt_before_it_expires(
    database,
    settings,
    new_audit,  # noqa: F811
):
    from worker.leases import SELF_FENCE_SHARE, LeaseKeeper

    audit_id = new_audit()
    job = claimed(database, settings, audit_id, lease_s=3)
    started = time.monotonic()
    with LeaseKeeper(UnreachableDatabase(), job, lease_s=3) as lease:
        assert lease.lost.wait(5), "the lease keeper never gave up"
        gave_up_after = time.monotonic() - started
    assert SELF_FENCE_SHARE * 3 <= gave_up_after < 3
    assert "could not be renewed" in lease.reason
