"""Audits survive a worker killed mid-training and a broker restart, on PostgreSQL and Redis
with real `labelaudit worker` processes.

A killed worker leaves its message unacknowledged; Redis hands it out again once it is
older than the visibility timeout, and the audit's silent heartbeat (older than
``stale_after_s``) lets the next worker take the audit over. Both are set small here.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

SAMPLES_PER_CLASS = 300
# About 10 s of training on one CPU thread: long enough to be killed in the middle.
SLOW = {"epochs": 200, "window": 5}
REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "5", "LABELAUDIT_STALE_AFTER": "3"}


def upload(client: Any, headers: dict[str, str], table: Any, config: dict[str, Any]) -> str:
    response = client.post(
        "/audits",
        headers=headers,
        files={"file": ("parts.csv", table.to_csv(index=False).encode())},
        data={"config": json.dumps(config)},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def wait_for_training(client: Any, headers: dict[str, str], audit_id: str, epoch: int) -> Any:
    deadline = time.monotonic() + 60
    while True:
        audit = client.get(f"/audits/{audit_id}", headers=headers).json()
        progress = audit["progress"] or {}
        if progress.get("stage") == "training" and progress["epoch"] >= epoch:
            return audit
        assert audit["status"] in ("queued", "running"), audit
        assert time.monotonic() < deadline, f"the audit never reached epoch {epoch}: {audit}"
        time.sleep(0.05)


def sample_rows(database: Any, audit_id: str) -> tuple[int, int]:
    """How many sample rows the audit has, and how many distinct sample ids among them."""
    from service.audits.models import Sample

    with database.session_scope() as session:
        rows = session.execute(
            select(func.count(), func.count(func.distinct(Sample.sample_id))).where(
                Sample.audit_id == uuid.UUID(audit_id)
            )
        ).one()
    return int(rows[0]), int(rows[1])


def test_an_audit_whose_worker_is_killed_mid_training_completes_once(
    client_for, database, make_key, make_blobs, launch_worker, report
):
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {make_key('admin', 'admin')}"}
    first = launch_worker(queue, **REDELIVERY)
    table, _ = make_blobs(SAMPLES_PER_CLASS)
    client = client_for(audit_queue=queue, visibility_timeout_s=5, stale_after_s=3)
    audit_id = upload(client, headers, table, SLOW)
    before = wait_for_training(client, headers, audit_id, epoch=10)
    killed_at = before["progress"]["epoch"]
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed = time.monotonic()
    launch_worker(queue, **REDELIVERY)
    relaunched = time.monotonic()

    # Watch the takeover: a second attempt that starts training again from epoch 1.
    seen: list[tuple[float, int, str, int]] = []
    deadline = killed + 120
    while True:
        audit = client.get(f"/audits/{audit_id}", headers=headers).json()
        progress = audit["progress"] or {}
        stage, epoch = progress.get("stage", ""), progress.get("epoch", 0)
        seen.append((time.monotonic() - killed, audit["attempt"], stage, epoch))
        if audit["status"] in ("succeeded", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, f"the audit was not redone: {audit}"
        time.sleep(0.05)
    finished = time.monotonic()
    taken_over = next(at for at, attempt, _, _ in seen if attempt == 2)

    assert audit["status"] == "succeeded", audit
    assert audit["attempt"] == 2, "the audit ran once more, not twice more"
    restarted = [epoch for _, attempt, stage, epoch in seen if attempt == 2 and stage == "training"]
    assert restarted and min(restarted) < killed_at, (killed_at, restarted)
    assert audit["summary"]["samples"] == 3 * SAMPLES_PER_CLASS
    assert sample_rows(database, audit_id) == (3 * SAMPLES_PER_CLASS, 3 * SAMPLES_PER_CLASS)
    report(
        f"worker crash: killed at epoch {killed_at}/{SLOW['epochs']}; new worker ready "
        f"{relaunched - killed:.1f} s later; audit taken over {taken_over:.1f} s after the "
        f"kill, training restarted from epoch {min(restarted)}; succeeded "
        f"{finished - killed:.1f} s after the kill with "
        f"{audit['summary']['samples']} sample rows, attempt {audit['attempt']}",
    )


class PrivateRedis:
    """A redis-server of the test's own on a free port, which the test may stop and start
    (the shared one on 6379 is left alone)."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
            + ["--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=1).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the private redis-server did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


@pytest.fixture
def private_redis(tmp_path: Path, free_port: int) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path, free_port)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


def test_a_broker_restart_mid_audit_loses_no_audit(
    client_for, database, make_key, make_blobs, launch_worker, private_redis, audit_finished, report
):
    queue = f"broker-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {make_key('admin', 'admin')}"}
    launch_worker(queue, CELERY_BROKER_URL=private_redis.url)
    table, _ = make_blobs(SAMPLES_PER_CLASS)
    client = client_for(audit_queue=queue, celery_broker_url=private_redis.url)
    audit_id = upload(client, headers, table, SLOW)
    wait_for_training(client, headers, audit_id, epoch=10)
    private_redis.stop()
    down = time.monotonic()
    refused = client.post(
        "/audits", headers=headers, files={"file": ("p.csv", table.to_csv(index=False))}
    )
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "broker_unavailable"
    assert client.get("/readyz").json()["error"]["details"]["broker"] is False
    private_redis.start()
    restarted = time.monotonic()

    # The running audit finishes (its worker reconnects), and new audits flow again.
    first = audit_finished(client, headers, audit_id)
    small, _ = make_blobs(20)
    second = audit_finished(client, headers, upload(client, headers, small, SLOW))
    finished = time.monotonic()
    assert first["status"] == "succeeded" and first["attempt"] == 1, first
    assert sample_rows(database, audit_id) == (3 * SAMPLES_PER_CLASS, 3 * SAMPLES_PER_CLASS)
    assert second["status"] == "succeeded", second
    report(
        f"broker restart: down {restarted - down:.1f} s mid-training (uploads answered 503); "
        f"the audit and one sent after the restart succeeded {finished - restarted:.1f} s "
        "after it",
    )
