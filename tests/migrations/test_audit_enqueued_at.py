"""Upgrading to 0006 keeps every audit, and dates the task of each already there at the
audit's creation (so a queued one whose message was lost is sent again)."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from service.migrate import alembic_config


def test_upgrade_dates_existing_audits_tasks_at_their_creation(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0005")
    engine = sa.create_engine(url)
    audits = sa.Table("audits", sa.MetaData(), autoload_with=engine)
    created = datetime(2026, 11, 30, 8, 15, tzinfo=UTC)
    audit_id = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            audits.insert().values(
                id=audit_id.hex,
                name="line 3",
                status="queued",
                config="{}",
                upload_filename="parts.csv",
                upload_kind="csv",
                upload_size=10,
                dataset_kind="table",
                created_by="admin",
                created_at=created,
                attempt=0,
            )
        )

    command.upgrade(config, "head")

    from service.audits.models import Audit
    from service.db import Database

    database = Database(url)
    with database.session_scope() as session:
        audit = session.get(Audit, audit_id)
        assert audit is not None and audit.name == "line 3"
        assert audit.enqueued_at == created
    database.dispose()
    engine.dispose()
