"""Upgrading to 0007, on SQLite and on PostgreSQL, keeps every audit, leaves re-audit
twins (possible before, on SQLite) one holder of each Idempotency-Key and fingerprint, the
newest, and from then on the database refuses a twin."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from service.migrate import alembic_config
from tests.conftest import POSTGRES_ADMIN_URL, service_missing


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path) -> Iterator[str]:
    """The URL of a database with no tables yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_missing(f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL}: {exc}")
    name = f"labelaudit_migration_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_upgrade_keeps_the_newest_of_twins_and_then_refuses_twins(empty_database):
    config = alembic_config(empty_database)
    command.upgrade(config, "0006")
    engine = sa.create_engine(empty_database)
    audits = sa.Table("audits", sa.MetaData(), autoload_with=engine)
    on_postgresql = engine.dialect.name == "postgresql"
    created = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def row(name: str, minutes: int, **fields) -> dict:
        audit_id = uuid.uuid5(uuid.NAMESPACE_DNS, name)
        parent = fields.pop("parent", None)
        return {
            "id": audit_id if on_postgresql else audit_id.hex,
            "name": name,
            "status": "queued",
            "config": {},
            "upload_filename": "parts.csv",
            "upload_kind": "csv",
            "upload_size": 10,
            "dataset_kind": "table",
            "created_by": "admin",
            "created_at": created + timedelta(minutes=minutes),
            "enqueued_at": created + timedelta(minutes=minutes),
            "attempt": 0,
            "parent_id": None if parent is None else row(parent, 0)["id"],
            # Every row names every column: an insert of many takes the first one's.
            "idempotency_key": None,
            "reaudit_fingerprint": None,
            **fields,
        }

    rows = [
        row("parent", 0, status="succeeded"),
        # Two re-audits made by one Idempotency-Key at once, and two by one request
        # without a key; a failed one, which a repeated request does not hand out.
        row("key-older", 1, parent="parent", idempotency_key="k", reaudit_fingerprint="a"),
        row("key-newer", 2, parent="parent", idempotency_key="k", reaudit_fingerprint="a"),
        row("print-failed", 3, parent="parent", status="failed", reaudit_fingerprint="f"),
        row("print-older", 4, parent="parent", reaudit_fingerprint="f"),
        row("print-newer", 5, parent="parent", status="succeeded", reaudit_fingerprint="f"),
    ]
    with engine.begin() as connection:
        connection.execute(audits.insert(), rows)
    engine.dispose()

    command.upgrade(config, "head")

    engine = sa.create_engine(empty_database)
    with engine.connect() as connection:
        kept = {
            name: (key, fingerprint)
            for name, key, fingerprint in connection.execute(
                sa.select(audits.c.name, audits.c.idempotency_key, audits.c.reaudit_fingerprint)
            )
        }
    assert kept == {
        "parent": (None, None),
        "key-older": (None, "a"),
        "key-newer": ("k", "a"),
        "print-failed": (None, "f"),
        "print-older": (None, None),
        "print-newer": (None, "f"),
    }
    twins = (
        row("key-twin", 6, parent="parent", idempotency_key="k"),
        row("print-twin", 7, parent="parent", status="running", reaudit_fingerprint="f"),
    )
    for twin in twins:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(audits.insert(), [twin])
    # What the indexes let through: another key, a failed twin, another parent's twin.
    with engine.begin() as connection:
        connection.execute(
            audits.insert(),
            [
                row("other-key", 8, parent="parent", idempotency_key="k2"),
                row("failed-twin", 9, parent="parent", status="failed", reaudit_fingerprint="f"),
                row("other-parent", 10, parent="key-newer", idempotency_key="k"),
            ],
        )
    engine.dispose()

    command.downgrade(config, "0006")
    command.upgrade(config, "head")
