"""The database stopping while the API serves: requests answer 503 in the error shape, and
the same API process recovers once the database is back.

The test runs a PostgreSQL cluster of its own (initdb into a temporary folder, a free port)
so that it can stop it; the shared server on 5432 is left alone.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def postgres_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivateCluster:
    """A throwaway PostgreSQL cluster; as root, it runs as the ``postgres`` user."""

    def __init__(self, binaries: Path, folder: Path, port: int) -> None:
        self.binaries = binaries
        self.folder = folder
        self.port = port
        self.user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.user, str(self.binaries / tool), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self.run("initdb", "-D", str(self.folder / "data"), "-U", "postgres", "--auth=trust")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        # A log file, or the server would hold our output pipe open.
        log = str(self.folder / "server.log")
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")


@pytest.fixture
def private_cluster(free_port: int) -> Iterator[PrivateCluster]:
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (initdb) under /usr/lib/postgresql")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
    folder = Path(tempfile.mkdtemp(prefix="labelaudit-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    cluster = PrivateCluster(binaries, folder, free_port)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        subprocess.run(
            [*cluster.user, str(binaries / "pg_ctl"), "-D", str(folder / "data"), "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


def assert_unavailable(response: Any, code: str) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code, error


def test_requests_answer_503_while_the_database_is_down_and_recover(
    private_cluster, client_for, report
):
    from service.auth import service as auth_service
    from service.auth.schemas import ApiKeyCreate
    from service.db import Database
    from service.migrate import upgrade

    upgrade(private_cluster.url)
    database = Database(private_cluster.url)
    with database.session_scope() as session:
        key = auth_service.create_key(session, ApiKeyCreate(name="admin", role="admin")).key
    database.dispose()
    headers = {"Authorization": f"Bearer {key}"}
    review = {"items": [{"sample_id": "s0", "action": "keep"}]}
    missing_audit = "/audits/00000000-0000-0000-0000-000000000000"

    client = client_for(database_url=private_cluster.url)
    assert client.get("/audits", headers=headers).status_code == 200
    private_cluster.stop()
    stopped = time.monotonic()
    assert_unavailable(client.get("/audits", headers=headers), "database_unavailable")
    assert_unavailable(
        client.post(f"{missing_audit}/reviews", headers=headers, json=review),
        "database_unavailable",
    )
    assert_unavailable(client.get("/metrics"), "database_unavailable")
    assert_unavailable(client.get("/readyz"), "not_ready")
    assert client.get("/healthz").json() == {"status": "ok"}
    answered_within = time.monotonic() - stopped

    private_cluster.start()
    restarted = time.monotonic()
    assert client.get("/audits", headers=headers).status_code == 200
    assert client.get(missing_audit, headers=headers).status_code == 404
    assert client.get("/readyz").status_code == 200
    recovered_within = time.monotonic() - restarted
    report(
        f"database outage: 5 requests answered (503 x4, healthz 200) in "
        f"{answered_within:.2f} s; recovered {recovered_within:.2f} s after the restart"
    )
