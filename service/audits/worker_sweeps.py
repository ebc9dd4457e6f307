"""The worker's sweeps over audits no live attempt holds: re-queue the running audits whose
lease expired (their worker died), and send again the queued audits whose message was lost.

Called only by the sweeper of every worker process (:class:`worker.leases.Sweeper`), inside
its own unit of work. Each audit is moved by one conditional update, so of several sweepers
exactly one acts on it. An attempt's own writes are :mod:`.worker_attempts`'.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session

from ..db import utcnow
from ..queue import AuditQueue
from .models import Audit


@dataclass(frozen=True)
class ExpiredLease:
    audit_id: uuid.UUID
    attempt: int
    worker_host: str | None
    expired_at: datetime | None


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
