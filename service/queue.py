"""The Celery app both sides share: the API sends audits by task name, workers run them.

The API imports Celery and kombu only; the task's code lives in :mod:`worker.tasks`.
"""

from __future__ import annotations

import uuid

from celery import Celery

from .config import Settings
from .errors import Unavailable
from .filesystem_broker import TRANSPORT as FILESYSTEM_TRANSPORT

RUN_AUDIT_TASK = "labelaudit.run_audit"


def create_celery(settings: Settings) -> Celery:
    """A Celery app on Redis (production) or on files under the data directory (embedded)."""
    app = Celery("labelaudit")
    if settings.celery_broker_url is None:
        broker = settings.broker_dir
        for folder in ("queue", "processed", "control"):
            (broker / folder).mkdir(parents=True, exist_ok=True)
        app.conf.broker_url = "filesystem://"
        app.conf.broker_transport = FILESYSTEM_TRANSPORT
        app.conf.broker_transport_options = {
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
            "store_processed": False,
        }
    else:
        app.conf.broker_url = settings.celery_broker_url
        app.conf.broker_transport_options = {
            "visibility_timeout": settings.visibility_timeout_s,
            # Scan for the messages of dead workers (unacknowledged past the visibility
            # timeout) every few seconds, not kombu's default of every 100 s.
            "unacked_restore_interval": max(1, min(10, settings.visibility_timeout_s // 5)),
            "unacked_restore_throttle": 1,
            "socket_connect_timeout": 3,
            "socket_timeout": 10,
        }
    app.conf.update(
        # A worker that dies mid-audit leaves its message unacknowledged, so another
        # worker redoes the audit; prefetch 1 so a busy worker does not hoard audits.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=settings.audit_queue,
        task_routes={RUN_AUDIT_TASK: {"queue": settings.audit_queue}},
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        broker_connection_retry_on_startup=True,
        worker_enable_remote_control=False,
        worker_hijack_root_logger=False,
    )
    return app


class AuditQueue:
    """Sends audits to the workers and tells whether the broker answers.

    New audits go to ``default_queue`` (``AUDIT_QUEUE``); a re-queued audit goes back to
    the queue it was first sent to.
    """

    def __init__(self, celery: Celery, *, default_queue: str) -> None:
        self.celery = celery
        self.default_queue = default_queue

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditQueue:
        return cls(create_celery(settings), default_queue=settings.audit_queue)

    def enqueue(self, audit_id: uuid.UUID, queue: str) -> None:
        try:
            self.celery.send_task(RUN_AUDIT_TASK, args=[str(audit_id)], queue=queue)
        except Exception as exc:  # kombu raises transport-specific errors
            raise Unavailable(
                f"the task broker is unreachable ({type(exc).__name__}); try again shortly",
                code="broker_unavailable",
            ) from exc

    def waiting(self, queue: str) -> int:
        """How many messages ``queue`` holds that no worker has taken yet."""
        with self.celery.connection_for_write() as connection:
            declared = connection.default_channel.queue_declare(queue=queue)
        return int(declared.message_count)

    def is_reachable(self, timeout_s: float = 2.0) -> bool:
        try:
            with self.celery.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=timeout_s)
        except Exception:
            return False
        return True
