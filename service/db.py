"""Database engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, MetaData, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
CONNECT_TIMEOUT_S = 5
# Connections a pool keeps open; the rest of its capacity opens on demand, closes when idle.
PERSISTENT_CONNECTIONS = 10
# What the worker and the command line wait for a connection or for SQLite's write lock; the
# API waits LABELAUDIT_BUSY_TIMEOUT instead and answers 503.
DEFAULT_WAIT_S = 30.0
ROLLBACK_CALLBACKS = "rollback_callbacks"
COMMIT_CALLBACKS = "commit_callbacks"

JsonType = JSON().with_variant(JSONB(), "postgresql")
# For columns filtered on ``IS NULL``: Python's None is stored as SQL NULL, not JSON null.
NullableJsonType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigIdType = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp, also on SQLite, which stores naive text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UtcDateTime(),
        dict[str, Any]: JsonType,
        list[str]: JsonType,
    }


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_db_engine(url: str, *, connections: int = 30, wait_s: float = DEFAULT_WAIT_S) -> Engine:
    """An engine whose pool holds at most ``connections``; a checkout waits ``wait_s`` at
    most (then ``sqlalchemy.exc.TimeoutError``), and so does a write for SQLite's lock."""
    persistent = min(PERSISTENT_CONNECTIONS, connections)
    pool = {
        "pool_size": persistent,
        "max_overflow": connections - persistent,
        "pool_timeout": wait_s,
    }
    if url.startswith("sqlite"):
        if url.split("?")[0] in ("sqlite://", "sqlite:///:memory:"):
            # Each pooled connection would open a database of its own.
            raise ValueError(
                f"DATABASE_URL {url!r} is an in-memory SQLite database, which the API's "
                "connections and the worker cannot share; name a file: sqlite:////path/to/db"
            )
        connect_args = {"check_same_thread": False, "timeout": wait_s}
        engine = create_engine(url, connect_args=connect_args, **pool)
        event.listen(engine, "connect", partial(_configure_sqlite, lock_wait_ms=int(wait_s * 1000)))
        return engine
    # A database that does not answer fails a request (503) in seconds rather than hanging it.
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)


def _configure_sqlite(connection: Any, _record: Any, *, lock_wait_ms: int) -> None:
    # The API and the embedded worker write the same file: WAL lets readers run alongside
    # the writer, and cascades need foreign keys switched on.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={lock_wait_ms}")
    cursor.close()


class Database:
    """An engine and its session factory; one per process."""

    def __init__(self, url: str, *, connections: int = 30, wait_s: float = DEFAULT_WAIT_S) -> None:
        self.engine = create_db_engine(url, connections=connections, wait_s=wait_s)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """A unit of work: commit when the block ends (then run the commit actions), roll back
        (and run the cleanups) on error.

        This is the only commit point of a request or a task; services only flush.
        """
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            for cleanup in session.info.pop(ROLLBACK_CALLBACKS, []):
                cleanup()
            raise
        else:
            for action in session.info.pop(COMMIT_CALLBACKS, []):
                action()
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's unit of work is committed, e.g. to delete the files
    of deleted rows (deleting them earlier would lose them if the commit failed)."""
    session.info.setdefault(COMMIT_CALLBACKS, []).append(action)


def on_rollback(session: Session, cleanup: Callable[[], None]) -> None:
    """Run ``cleanup`` if the session's unit of work fails, e.g. to delete a stored upload."""
    session.info.setdefault(ROLLBACK_CALLBACKS, []).append(cleanup)
