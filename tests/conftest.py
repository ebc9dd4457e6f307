"""Fixtures on real services: a PostgreSQL database made for the run, Redis, a Celery worker.

When PostgreSQL or Redis is unreachable, the tests that need them skip saying so; with
LABELAUDIT_REQUIRE_SERVICES=1 (set by .ci/run) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "LABELAUDIT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LABELAUDIT_TEST_REDIS", "redis://127.0.0.1:6379/0")
TABLES = ("review_events", "samples", "audits", "api_keys")
# A test marked with it runs on both databases the service supports (see ``settings``).
BOTH_DATABASES = pytest.mark.parametrize("database_kind", ["postgresql", "sqlite"], indirect=True)
# Shorter timers and smaller limits than the defaults, in every mode.
TEST_SETTINGS = {
    "LABELAUDIT_PROGRESS_INTERVAL": "0.1",
    "LABELAUDIT_MAX_UPLOAD_BYTES": str(5 * 2**20),
    "LABELAUDIT_MAX_EXPANDED_BYTES": str(2 * 2**20),
}


def service_missing(message: str) -> None:
    if os.environ.get("LABELAUDIT_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (LABELAUDIT_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database, migrated with Alembic, dropped at the end of the run."""
    import psycopg

    from service.migrate import upgrade

    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        service_missing(f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL}: {exc}")
    name = f"labelaudit_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    url = f"{url}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis is unreachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(scope="session")
def service_environment(
    postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The production-mode settings the API and the worker share, as environment variables.

    A queue of the run's own keeps other workers on the same Redis away from its audits.
    """
    return {
        "DATABASE_URL": postgres_url,
        "CELERY_BROKER_URL": redis_url,
        "LABELAUDIT_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "AUDIT_QUEUE": f"test-{uuid.uuid4().hex[:8]}",
        **TEST_SETTINGS,
    }


@pytest.fixture(scope="session")
def postgres_settings(service_environment: dict[str, str]) -> Any:
    from service.config import Settings

    return Settings.model_validate(service_environment)


@pytest.fixture
def database_kind(request: pytest.FixtureRequest) -> str:
    """The database of the test's ``settings``: PostgreSQL, or each of both for a test
    marked ``@BOTH_DATABASES``."""
    return str(getattr(request, "param", "postgresql"))


@pytest.fixture
def settings(
    database_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """The production settings (PostgreSQL, Redis), or for ``database_kind`` "sqlite" the
    embedded mode's: a SQLite file and the filesystem broker in a data directory of the
    test's own, migrated with Alembic like the PostgreSQL database."""
    if database_kind == "postgresql":
        return request.getfixturevalue("postgres_settings")
    from service.config import Settings
    from service.migrate import upgrade

    data_dir = tmp_path_factory.mktemp("embedded")
    embedded = Settings.model_validate({"LABELAUDIT_DATA_DIR": str(data_dir), **TEST_SETTINGS})
    upgrade(embedded.resolved_database_url)
    return embedded


@pytest.fixture
def database(settings: Any) -> Iterator[Any]:
    """The test database; after each test every table is emptied and the uploads removed."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from service.db import Database

    database = Database(settings.resolved_database_url)
    yield database
    if settings.embedded_database:  # a file of the test's own
        database.dispose()
        return
    # The session's worker may still be writing an audit the test left running; PostgreSQL
    # then breaks the lock cycle by aborting one side, and emptying the tables again succeeds.
    for attempt in range(5):
        try:
            with database.session_scope() as session:
                session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            break
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.5)
    database.dispose()
    for folder in ("audits", "incoming"):
        shutil.rmtree(settings.data_dir / folder, ignore_errors=True)


def create_key(database: Any, name: str, role: str) -> str:
    from service.auth import service as auth_service
    from service.auth.schemas import ApiKeyCreate

    with database.session_scope() as session:
        return str(auth_service.create_key(session, ApiKeyCreate(name=name, role=role)).key)


def start_worker(environment: dict[str, str], queue: str, log_path: Path) -> subprocess.Popen[str]:
    """A `labelaudit worker` process on ``queue``, in a process group of its own (its pool's
    children included, so that a test can kill them all), once it says it is ready."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "labelaudit", "worker", "--queues", queue, "--loglevel", "INFO"],
            env={**os.environ, **environment, "OMP_NUM_THREADS": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while "ready." not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def worker_process(service_environment: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A real `labelaudit worker` process on Redis, for the whole run."""
    log_path = Path(service_environment["LABELAUDIT_DATA_DIR"]) / "worker.log"
    process = start_worker(service_environment, service_environment["AUDIT_QUEUE"], log_path)
    yield process
    stop_worker(process)


@pytest.fixture
def launch_worker(service_environment: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Start workers of the test's own: ``launch_worker(queue, **environment)``; each one
    still running at the end is stopped."""
    started: list[subprocess.Popen[str]] = []

    def launch(queue: str, **environment: str) -> subprocess.Popen[str]:
        log_path = tmp_path / f"worker-{len(started)}.log"
        process = start_worker({**service_environment, **environment}, queue, log_path)
        started.append(process)
        return process

    yield launch
    for process in started:
        if process.poll() is None:
            stop_worker(process)


def blobs_table(
    n_per_class: int = 40, *, noise: float = 0.1, seed: int = 0
) -> tuple[pd.DataFrame, set[str]]:
    """Three well-separated Gaussian blobs with some labels flipped; returns the flipped ids."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (3, 8))
    labels = np.repeat(np.arange(3), n_per_class)
    features = centres[labels] + rng.normal(0, 1, (labels.size, 8))
    wrong = rng.choice(labels.size, int(noise * labels.size), replace=False)
    noisy = labels.copy()
    noisy[wrong] = (noisy[wrong] + rng.integers(1, 3, wrong.size)) % 3
    table = pd.DataFrame(features, columns=[f"f{i}" for i in range(8)])
    table.insert(0, "id", [f"s{i:03d}" for i in range(labels.size)])
    table["label"] = np.array(["bolt", "nut", "washer"])[noisy]
    return table, {f"s{i:03d}" for i in wrong}


def wait_for_audit(client: Any, headers: dict[str, str], audit_id: str, timeout: float = 120):
    """Poll an audit until it finishes; return its last state."""
    deadline = time.monotonic() + timeout
    while True:
        audit = client.get(f"/audits/{audit_id}", headers=headers).json()
        if audit["status"] in ("succeeded", "failed", "cancelled"):
            return audit
        if time.monotonic() > deadline:
            pytest.fail(f"audit {audit_id} still {audit['status']} after {timeout} s: {audit}")
        time.sleep(0.2)


# Test modules cannot import from conftest, so the helpers come as fixtures.
@pytest.fixture
def make_key(database: Any) -> Any:
    return lambda name, role: create_key(database, name, role)


@pytest.fixture
def make_blobs() -> Any:
    return blobs_table


@pytest.fixture
def audit_finished() -> Any:
    return wait_for_audit


@pytest.fixture
def client_for(settings: Any, database: Any) -> Iterator[Callable[..., Any]]:
    """``client_for(**changes)``: the API with some settings changed (its queue, broker or
    database) in a TestClient, closed at the end of the test."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    with ExitStack() as clients:

        def make(**changes: Any) -> Any:
            app = create_app(settings.model_copy(update=changes))
            return clients.enter_context(TestClient(app, raise_server_exceptions=False))

        yield make


@pytest.fixture
def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Print a figure the test measured past pytest's capture, for the issue's note."""

    def write(line: str) -> None:
        with capsys.disabled():
            print(f"\n{line}")

    return write


@pytest.fixture
def meet_after(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, str, int], None]:
    """``meet_after(module, name, parties)``: each thread's first call of ``module.name``
    waits, once it returned, until ``parties`` threads have made theirs, so that a race
    between reading and writing happens every time. At most 3 s: where the first caller
    holds a lock the others need (PostgreSQL's FOR UPDATE), they cannot come, and it goes on."""

    def install(module: Any, name: str, parties: int) -> None:
        barrier = threading.Barrier(parties)
        waited: set[int] = set()
        real = getattr(module, name)

        def meeting(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            if threading.get_ident() not in waited:
                waited.add(threading.get_ident())
                with suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=3)
            return result

        monkeypatch.setattr(module, name, meeting)

    return install
