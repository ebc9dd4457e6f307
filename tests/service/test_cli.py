"""`labelaudit serve` in embedded mode (SQLite, filesystem broker, its own worker) end to end,
and `labelaudit db upgrade`."""

import csv
import io
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import blobs_table
from tests.service.embedded import (
    embedded_environment,
    free_port,
    is_running,
    start_serve,
    wait_for_text,
    wait_until_ready,
)

# Every test here starts a `labelaudit` process.
pytestmark = pytest.mark.slow


def test_embedded_serve_runs_the_whole_flow(tmp_path):
    port = free_port()
    process, log_path = start_serve(tmp_path, port, embedded_environment(tmp_path / "var"))
    try:
        printed = wait_for_text(log_path, "shown only now", process, timeout=60)
        assert f"http://127.0.0.1:{port}" in printed
        worker_pid = int(printed.split("local worker (pid ")[1].split(",")[0])
        key = printed.split("shown only now): ")[1].split()[0]
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until_ready(client)
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


@pytest.mark.parametrize(("trusted", "secure"), [("", False), ("127.0.0.1", True)])
def test_serve_believes_forwarded_headers_only_from_trusted_proxies(tmp_path, trusted, secure):
    # uvicorn on its own believes any X-Forwarded-Proto from 127.0.0.1: with nothing trusted,
    # a local process could have the cookies marked Secure over plain HTTP, and its own
    # address logged as anyone's.
    port = free_port()
    environment = embedded_environment(tmp_path / "var")
    environment["LABELAUDIT_TRUSTED_PROXIES"] = trusted
    process, log_path = start_serve(tmp_path, port, environment)
    try:
        printed = wait_for_text(log_path, "shown only now", process, timeout=60)
        key = printed.split("shown only now): ")[1].split()[0]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until_ready(client)
            answer = client.post(
                "/sign-in",
                data={"key": key},
                headers={"X-Forwarded-Proto": "https", "Origin": f"http://127.0.0.1:{port}"},
                follow_redirects=False,
            )
        assert answer.status_code == 303, answer.text
        cookies = answer.headers.get_list("set-cookie")
        assert len(cookies) == 2
        assert all(("; secure" in cookie.lower()) == secure for cookie in cookies), cookies
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
