"""`labelaudit serve` in embedded mode (SQLite, filesystem broker, its own worker) end to end,
and `labelaudit db upgrade`."""

import csv
import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import blobs_table


def embedded_environment(data_dir) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DATABASE_URL", "CELERY_BROKER_URL", "LABELAUDIT_ADMIN_KEY")
    }
    environment.update(
        LABELAUDIT_DATA_DIR=str(data_dir), OMP_NUM_THREADS="1", LABELAUDIT_PROGRESS_INTERVAL="0.2"
    )
    return environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_until(process: subprocess.Popen, marker: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if marker in line:
            return lines
    pytest.fail(f"no {marker!r} from labelaudit serve; it printed:\n{''.join(lines)}")


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_embedded_serve_runs_the_whole_flow(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "labelaudit", "serve", "--port", str(port)],
        env=embedded_environment(tmp_path / "var"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = read_until(process, "shown only now", timeout=60)
        printed = "".join(lines)
        assert f"http://127.0.0.1:{port}" in printed
        worker_pid = int(printed.split("local worker (pid ")[1].split(",")[0])
        key = lines[-1].rsplit(" ", 1)[1].strip()
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the service never became ready"
                time.sleep(0.2)
            run_flow(client, headers)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    deadline = time.monotonic() + 20
    while is_running(worker_pid):
        assert time.monotonic() < deadline, "serve left its worker running"
        time.sleep(0.2)
    assert (tmp_path / "var" / "labelaudit.db").exists()
    assert (tmp_path / "var" / "worker.log").exists()


def run_flow(client: httpx.Client, headers: dict[str, str]) -> None:
    table, wrong = blobs_table(20, noise=0.1, seed=3)
    response = client.post(
        "/audits",
        headers=headers,
        files={"file": ("parts.csv", table.to_csv(index=False).encode())},
        data={"config": '{"epochs": 8, "window": 3}'},
    )
    assert response.status_code == 202, response.text
    audit_url = response.headers["location"]
    deadline = time.monotonic() + 120
    while (audit := client.get(audit_url, headers=headers).json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, f"the embedded worker never finished: {audit}"
        time.sleep(0.3)
    assert audit["status"] == "succeeded", audit
    suspects = client.get(f"{audit_url}/samples", params={"flagged": "true"}, headers=headers)
    items = suspects.json()["items"]
    assert len({item["sample_id"] for item in items} & wrong) >= 0.8 * len(wrong)
    review = {"items": [{"sample_id": items[0]["sample_id"], "action": "accept", "version": 0}]}
    assert client.post(f"{audit_url}/reviews", json=review, headers=headers).status_code == 200
    assert client.post(f"{audit_url}/reviews", json=review, headers=headers).status_code == 409
    export = client.get(f"{audit_url}/export.csv", params={"kind": "corrected"}, headers=headers)
    rows = {row["sample_id"]: row for row in csv.DictReader(io.StringIO(export.text))}
    assert len(rows) == 60 and rows[items[0]["sample_id"]]["action"] == "accept"


def test_db_upgrade_creates_the_schema(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "labelaudit", "db", "upgrade"],
        env=embedded_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    with sqlite3.connect(tmp_path / "labelaudit.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"audits", "samples", "review_events", "api_keys", "alembic_version"} <= tables
