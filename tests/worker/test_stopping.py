"""A worker lets go of audits cleanly: one deleted while it trains stops within seconds
with one log line, and a worker shutting down starts no other audit. Real `labelaudit
worker` processes on PostgreSQL and Redis, with the shipped lease and progress timers."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import start_worker, stop_worker

from .test_worker_crash import DEFAULTS, SAMPLES_PER_CLASS, SLOW, upload, wait_for_training

# Every test here waits on a worker that trains.
pytestmark = pytest.mark.slow

# Deleting an audit stops its training within this (the lease is renewed every 5 s).
STOP_BUDGET_S = 6.0


def wait_for_line(log: Path, text: str, timeout: float) -> float:
    """Seconds until ``text`` appears in ``log``; fails after ``timeout``."""
    started = time.monotonic()
    while text not in log.read_text():
        assert time.monotonic() - started < timeout, f"no {text!r} in:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)
    return time.monotonic() - started


def test_deleting_an_audit_mid_training_stops_it_with_one_log_line(
    client_for, make_key, make_blobs, launch_worker, settings, tmp_path, report
):
    queue = f"delete-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {make_key('admin', 'admin')}"}
    worker = launch_worker(queue, **DEFAULTS)
    log = tmp_path / "worker-0.log"
    table, _ = make_blobs(SAMPLES_PER_CLASS)
    client = client_for(audit_queue=queue)
    audit_id = upload(client, headers, table, SLOW)
    wait_for_training(client, headers, audit_id, epoch=5)
    assert client.delete(f"/audits/{audit_id}", headers=headers).status_code == 204

    stopped_after = wait_for_line(log, f"audit {audit_id}: attempt 1 stopped", timeout=30)
    text = log.read_text()
    assert stopped_after < STOP_BUDGET_S, text[-3000:]
    assert "ERROR" not in text and "Traceback" not in text, text[-3000:]
    assert "it was deleted" in text, text[-3000:]
    # The checkpoint of the epoch in progress did not bring the audit's folder back.
    assert not (Path(settings.data_dir) / "audits" / audit_id).exists()
    assert worker.poll() is None
    report(f"audit deleted mid-training: its worker stopped {stopped_after:.1f} s later")


@pytest.fixture
def start_workers(service_environment, tmp_path):
    """``start(queue, broker)``: a worker on Redis, or on the embedded mode's filesystem
    broker (its loop drains the broker once more after a shutdown began); each still
    running at the end is stopped."""
    started: list[subprocess.Popen[str]] = []

    def start(queue: str, broker: str) -> tuple[subprocess.Popen[str], Path]:
        environment = {**service_environment, **DEFAULTS}
        if broker == "filesystem":
            del environment["CELERY_BROKER_URL"]
        log = tmp_path / f"worker-{len(started)}.log"
        started.append(start_worker(environment, queue, log))
        return started[-1], log

    yield start
    for process in started:
        if process.poll() is None:
            stop_worker(process)


@pytest.mark.parametrize("broker", ["redis", "filesystem"])
def test_a_worker_shutting_down_starts_no_other_audit(
    client_for, make_key, make_blobs, start_workers, audit_finished, broker
):
    queue = f"drain-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {make_key('admin', 'admin')}"}
    first, log = start_workers(queue, broker)
    table, _ = make_blobs(SAMPLES_PER_CLASS)
    changes = {"celery_broker_url": None} if broker == "filesystem" else {}
    client = client_for(audit_queue=queue, **changes)
    running = upload(client, headers, table, SLOW)
    wait_for_training(client, headers, running, epoch=5)
    waiting = upload(client, headers, table, {"epochs": 3, "window": 2})
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=30)

    text = log.read_text()
    assert f"audit {running}: worker shutting down" in text, text[-3000:]
    assert f"audit {waiting}: attempt" not in text, text[-3000:]
    audit: Any = client.get(f"/audits/{waiting}", headers=headers).json()
    assert (audit["status"], audit["attempt"]) == ("queued", 0), audit
    # Its message went back to the queue: the next worker runs both.
    start_workers(queue, broker)
    assert audit_finished(client, headers, waiting, timeout=180)["status"] == "succeeded"
    assert audit_finished(client, headers, running, timeout=180)["status"] == "succeeded"
