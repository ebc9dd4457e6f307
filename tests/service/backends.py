"""The API on either database, for the guarantees that must hold on both: PostgreSQL (the
run's test database) and SQLite (a fresh file per test, as the embedded mode keeps).

A test module imports :func:`backend` to run its tests once on each."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient


@dataclass
class Backend:
    name: str
    settings: Any
    database: Any
    open_client: Callable[..., TestClient]

    def headers(self, name: str, role: str = "reviewer") -> dict[str, str]:
        from service.auth import service as auth_service
        from service.auth.schemas import ApiKeyCreate

        with self.database.session_scope() as session:
            key = auth_service.create_key(session, ApiKeyCreate(name=name, role=role)).key
        return {"Authorization": f"Bearer {key}"}

    @contextmanager
    def keys_locked(self) -> Iterator[None]:
        """Hold a lock that stalls authentication until the block ends: on PostgreSQL no
        statement may read the keys; on SQLite no one else may write (a key's first use
        records it)."""
        url = self.settings.resolved_database_url
        if self.name == "sqlite":
            connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            connection.execute("BEGIN IMMEDIATE")
        else:
            connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
            connection.execute("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            connection.rollback()
            connection.close()

    def wait_for_stalled(self, count: int) -> None:
        """On PostgreSQL, until ``count`` statements wait for :meth:`keys_locked`'s lock
        (SQLite's busy wait cannot be watched: return at once)."""
        if self.name == "sqlite":
            return
        url = self.settings.resolved_database_url.replace("postgresql+psycopg://", "postgresql://")
        deadline = time.monotonic() + 60
        with psycopg.connect(url, autocommit=True) as connection:
            while time.monotonic() < deadline:
                row = connection.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if (row.fetchone() or (0,))[0] >= count:
                    return
                time.sleep(0.05)
        pytest.fail(f"fewer than {count} requests stalled on the lock")


@pytest.fixture(params=["postgresql", "sqlite"])
def backend(request: Any, settings: Any, database: Any, tmp_path: Path) -> Iterator[Backend]:
    from service.app import create_app
    from service.db import Database
    from service.migrate import upgrade

    chosen, chosen_database = settings, database
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'labelaudit.db'}"
            upgrade(url)
            chosen = settings.model_copy(update={"database_url": url, "data_dir": tmp_path})
            chosen_database = Database(url)
            stack.callback(chosen_database.dispose)

        def open_client(**changes: Any) -> TestClient:
            app = create_app(chosen.model_copy(update=changes))
            return stack.enter_context(TestClient(app, raise_server_exceptions=False))

        yield Backend(request.param, chosen, chosen_database, open_client)
