"""The embedded default (SQLite, files as the broker) sends again a queued audit whose
message was lost, once, and leaves finished audits and fresh ones alone."""

import uuid
from datetime import timedelta

import pytest

from service.audits import worker_sweeps
from service.audits.models import Audit
from service.config import Settings
from service.db import Database, utcnow
from service.migrate import upgrade
from tests.service.test_filesystem_broker import embedded_queue


@pytest.fixture
def embedded_database(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=None, celery_broker_url=None)
    upgrade(settings.resolved_database_url)
    database = Database(settings.resolved_database_url)
    yield database
    database.dispose()


def add_audit(database: Database, *, status: str, enqueued_ago_s: float) -> uuid.UUID:
    audit_id = uuid.uuid4()
    with database.session_scope() as session:
        session.add(
            Audit(
                id=audit_id,
                name="line 3",
                status=status,
                config={},
                upload_filename="parts.csv",
                upload_kind="csv",
                upload_size=10,
                dataset_kind="table",
                created_by="admin",
                queue="cpu",
                enqueued_at=utcnow() - timedelta(seconds=enqueued_ago_s),
            )
        )
    return audit_id


def test_a_lost_message_is_sent_again_once_on_the_embedded_default(embedded_database, tmp_path):
    queue = embedded_queue(tmp_path)
    lost = add_audit(embedded_database, status="queued", enqueued_ago_s=120)
    add_audit(embedded_database, status="queued", enqueued_ago_s=5)
    add_audit(embedded_database, status="cancelled", enqueued_ago_s=120)

    with embedded_database.session_scope() as session:
        first = worker_sweeps.resend_lost(session, queue, after_s=60)
    with embedded_database.session_scope() as session:
        second = worker_sweeps.resend_lost(session, queue, after_s=60)

    assert [message.audit_id for message in first] == [lost]
    assert second == []
    assert queue.waiting("cpu") == 1
