"""Audits survive workers killed or stopped mid-training, and broker restarts (one of which
loses a queued audit's message), on PostgreSQL and Redis with real `labelaudit worker`
processes and the shipped defaults: no timer is shortened here (the progress interval is set
back to its default too).

A killed worker stops renewing its audit's lease; once it expires (LABELAUDIT_LEASE_SECONDS,
30 s) the next sweep of a live worker (every LABELAUDIT_SWEEP_INTERVAL, 10 s) re-queues it
and it resumes from its last checkpoint. A worker sent SIGTERM checkpoints and re-queues its
audit itself.
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

import numpy as np
import pytest
from sqlalchemy import func, select

# Every test here waits on a worker that trains.
pytestmark = pytest.mark.slow

SAMPLES_PER_CLASS = 300
# About 10 s of training on one CPU thread: long enough to be stopped in the middle.
SLOW = {"epochs": 200, "window": 5, "seed": 11}
DEFAULTS = {"LABELAUDIT_PROGRESS_INTERVAL": "1.0"}
RECOVERY_BUDGET_S = 90


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


def watch_until_finished(
    client: Any, headers: dict[str, str], audit_id: str, since: float, timeout: float = 180
) -> tuple[Any, list[tuple[float, int, dict[str, Any]]]]:
    """Poll the audit until it finishes; returns it and what was seen: (seconds since
    ``since``, attempt, progress)."""
    seen: list[tuple[float, int, dict[str, Any]]] = []
    while True:
        audit = client.get(f"/audits/{audit_id}", headers=headers).json()
        seen.append((time.monotonic() - since, audit["attempt"], audit["progress"] or {}))
        if audit["status"] in ("succeeded", "failed", "cancelled"):
            return audit, seen
        assert time.monotonic() < since + timeout, f"the audit did not finish: {audit}"
        time.sleep(0.1)


def resumed_training(
    seen: list[tuple[float, int, dict[str, Any]]], attempt: int
) -> tuple[float, int]:
    """When attempt ``attempt`` was first seen training, and the epoch it resumed at."""
    for at, seen_attempt, progress in seen:
        if seen_attempt == attempt and progress.get("stage") == "training":
            return at, int(progress.get("resumed_at") or 0)
    pytest.fail(f"attempt {attempt} was never seen training: {seen[-3:]}")


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


def assert_equals_an_uninterrupted_run(database: Any, audit_id: str, table: Any, tmp_path: Path):
    """The stored results are those of the same audit run in one go, here, on one thread
    like the workers."""
    import torch

    from formats import load_dataset
    from service.audits.models import Sample
    from worker.engine import AuditConfig, audit

    path = tmp_path / "parts.csv"
    table.to_csv(path, index=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        expected = audit(
            load_dataset(path, label_column="label", id_column="id"), AuditConfig(**SLOW)
        )
    finally:
        torch.set_num_threads(threads)
    with database.session_scope() as session:
        stored = session.execute(
            select(Sample.flagged, Sample.score)
            .where(Sample.audit_id == uuid.UUID(audit_id))
            .order_by(Sample.row_index)
        ).all()
    np.testing.assert_array_equal([row.flagged for row in stored], expected.flags.flagged)
    np.testing.assert_allclose([row.score for row in stored], expected.flags.score, atol=1e-6)


def test_a_killed_workers_audit_resumes_on_another_from_its_checkpoint(
    client_for, database, make_key, make_blobs, launch_worker, report, tmp_path
):
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {make_key('admin', 'admin')}"}
    first = launch_worker(queue, **DEFAULTS)
    table, _ = make_blobs(SAMPLES_PER_CLASS)
    client = client_for(audit_queue=queue)
    audit_id = upload(client, headers, table, SLOW)
    wait_for_training(client, headers, audit_id, epoch=5)
    launch_worker(queue, **DEFAULTS)
    killed_at = client.get(f"/audits/{audit_id}", headers=headers).json()["progress"]["epoch"]
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    killed = time.monotonic()

    audit, seen = watch_until_finished(client, headers, audit_id, since=killed)
    resumed_after, resumed_at = resumed_training(seen, attempt=2)

    assert audit["status"] == "succeeded", audit
    assert audit["attempt"] == 2, "the audit ran once more, not twice more"
    assert resumed_after < RECOVERY_BUDGET_S, seen
    # The last progress seen lags the last checkpoint; both are past epoch 5.
    assert resumed_at >= 5 and resumed_at >= killed_at - 5, (killed_at, resumed_at)
    assert sample_rows(database, audit_id) == (3 * SAMPLES_PER_CLASS, 3 * SAMPLES_PER_CLASS)
    assert_equals_an_uninterrupted_run(database, audit_id, table, tmp_path)
    report(
        f"worker kill -9 (defaults: lease 30 s, sweep 10 s): killed at epoch "
        f"{killed_at}/{SLOW['epochs']}; training again on the other worker {resumed_after:.1f} s "
        f"later, resumed at epoch {resumed_at}; succeeded {seen[-1][0]:.1f} s after the kill, "
        "results equal to an uninterrupted run"
    )


def test_sigterm_to_a_worker_hands_its_audit_to_another_at_once(
    client_for, database, make_key, make_blobs, launch_worker, report, tmp_path
):
    queue = f"term-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {make_key('admin', 'admin')}"}
    first = launch_worker(queue, **DEFAULTS)
    table, _ = make_blobs(SAMPLES_PER_CLASS)
    client = client_for(audit_queue=queue)
    audit_id = upload(client, headers, table, SLOW)
    wait_for_training(client, headers, audit_id, epoch=5)
    launch_worker(queue, **DEFAULTS)
    stopped_at = client.get(f"/audits/{audit_id}", headers=headers).json()["progress"]["epoch"]
    first.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    first.wait(timeout=30)
    exited = time.monotonic() - stopped

    audit, seen = watch_until_finished(client, headers, audit_id, since=stopped)
    resumed_after, resumed_at = resumed_training(seen, attempt=2)

    assert first.returncode == 0, first.returncode
    assert audit["status"] == "succeeded" and audit["attempt"] == 2, audit
    # Handed over without waiting for the lease to expire.
    assert resumed_after < 10, seen
    assert resumed_at >= 5 and resumed_at >= stopped_at - 5, (stopped_at, resumed_at)
    assert_equals_an_uninterrupted_run(database, audit_id, table, tmp_path)
    report(
        f"worker SIGTERM at epoch {stopped_at}: the worker exited {exited:.1f} s later; the "
        f"other worker was training {resumed_after:.1f} s after the signal, from epoch "
        f"{resumed_at}"
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


def test_an_audit_whose_message_a_broker_restart_lost_runs_with_the_defaults(
    client_for, database, make_key, make_blobs, launch_worker, private_redis, audit_finished, report
):
    queue = f"lost-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {make_key('admin', 'admin')}"}
    client = client_for(audit_queue=queue, celery_broker_url=private_redis.url)
    table, _ = make_blobs(20)
    audit_id = upload(client, headers, table, SLOW)
    # No worker has taken it yet; the broker keeps nothing across the restart.
    private_redis.stop()
    private_redis.start()
    restarted = time.monotonic()
    launch_worker(queue, CELERY_BROKER_URL=private_redis.url, **DEFAULTS)

    audit = audit_finished(client, headers, audit_id, timeout=150)
    finished_after = time.monotonic() - restarted

    assert audit["status"] == "succeeded" and audit["attempt"] == 1, audit
    report(
        f"broker restart with a queued audit (defaults: resend after 60 s, sweep 10 s): its "
        f"message was lost, it was sent again and succeeded {finished_after:.1f} s later"
    )
