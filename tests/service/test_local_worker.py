"""Embedded `labelaudit serve` (SQLite, filesystem broker, its local worker) recovers with the
shipped defaults: a killed local worker is restarted and its audit resumes from the
checkpoint once the lease expires; SIGTERM stops `serve` within 15 s, leaving no process,
and the audit resumes by itself on the next start; a restart leaves no partial upload."""

import os
import signal
import socket
import subprocess
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

# Every test here waits on `labelaudit serve`'s local worker, which trains.
pytestmark = pytest.mark.slow

KEY = "la_" + "e" * 48
HEADERS = {"Authorization": f"Bearer {KEY}"}
SLOW = '{"epochs": 200, "window": 5}'


class EmbeddedServe:
    def __init__(self, tmp_path, port: int) -> None:
        self.tmp_path = tmp_path
        self.port = port
        self.process: subprocess.Popen | None = None
        self.worker_pid = 0

    def start(self) -> httpx.Client:
        environment = {
            **embedded_environment(self.tmp_path / "var"),
            "LABELAUDIT_ADMIN_KEY": KEY,
            "LABELAUDIT_PROGRESS_INTERVAL": "1.0",
        }
        self.process, log_path = start_serve(self.tmp_path, self.port, environment)
        printed = wait_for_text(log_path, "local worker (pid", self.process, timeout=60)
        self.worker_pid = int(printed.split("local worker (pid ")[1].split(",")[0])
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        wait_until_ready(client)
        return client

    def stop(self) -> float:
        """SIGTERM; returns how long `serve` took to exit."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)
        return time.monotonic() - started


@pytest.fixture
def serve(tmp_path):
    service = EmbeddedServe(tmp_path, free_port())
    yield service
    # Shown with a failing test's report: what the service and its workers did.
    for log_path in (tmp_path / "serve.log", tmp_path / "var" / "worker.log"):
        if log_path.exists():
            print(f"--- {log_path.name} (last 4000 characters)\n{log_path.read_text()[-4000:]}")
    if service.process is not None and service.process.poll() is None:
        service.process.kill()
        service.process.wait()
    if service.worker_pid and is_running(service.worker_pid):
        os.killpg(service.worker_pid, signal.SIGKILL)


def upload_slow_audit(client: httpx.Client) -> str:
    table, _ = blobs_table(300)
    response = client.post(
        "/audits",
        headers=HEADERS,
        files={"file": ("parts.csv", table.to_csv(index=False).encode())},
        data={"config": SLOW},
    )
    assert response.status_code == 202, response.text
    return response.headers["location"]


def wait_for(client: httpx.Client, url: str, condition, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            audit = client.get(url, headers=HEADERS).json()
        except httpx.TransportError:
            audit = {}
        if audit and condition(audit):
            return audit
        assert time.monotonic() < deadline, f"timed out; last seen: {audit}"
        time.sleep(0.1)


def training_from(epoch: int):
    return lambda audit: (
        (audit["progress"] or {}).get("stage") == "training" and audit["progress"]["epoch"] >= epoch
    )


def test_a_killed_local_worker_is_replaced_and_its_audit_resumes(serve, report):
    client = serve.start()
    url = upload_slow_audit(client)
    wait_for(client, url, training_from(5), timeout=60)
    os.killpg(serve.worker_pid, signal.SIGKILL)
    killed = time.monotonic()
    resumed = wait_for(client, url, lambda a: a["attempt"] == 2 and training_from(1)(a), 90)
    resumed_after = time.monotonic() - killed
    done = wait_for(client, url, lambda a: a["status"] not in ("queued", "running"), 120)
    assert done["status"] == "succeeded" and done["attempt"] == 2, done
    assert resumed["progress"]["resumed_at"] >= 5, resumed
    assert resumed_after < 90
    report(
        f"embedded local worker kill -9 (defaults): training again {resumed_after:.1f} s "
        f"later, resumed at epoch {resumed['progress']['resumed_at']}"
    )
    assert serve.stop() < 15


def test_sigterm_stops_serve_within_15_s_and_the_audit_resumes_on_the_next_start(serve, report):
    client = serve.start()
    url = upload_slow_audit(client)
    stopped_at = wait_for(client, url, training_from(5), timeout=60)["progress"]["epoch"]
    client.close()
    took = serve.stop()
    assert serve.process.returncode == 0, serve.process.returncode
    assert took < 15, took
    assert not is_running(serve.worker_pid), "serve left its local worker running"

    client = serve.start()
    restarted = time.monotonic()
    resumed = wait_for(client, url, lambda a: a["attempt"] == 2 and training_from(1)(a), 60)
    done = wait_for(client, url, lambda a: a["status"] not in ("queued", "running"), 120)
    assert done["status"] == "succeeded", done
    assert resumed["progress"]["resumed_at"] >= 5, resumed
    report(
        f"embedded serve SIGTERM at epoch {stopped_at}: exited in {took:.1f} s with its worker; "
        f"after a restart, training again {time.monotonic() - restarted:.1f} s later from "
        f"epoch {resumed['progress']['resumed_at']}, succeeded"
    )
    serve.stop()


def test_a_restart_during_an_upload_leaves_no_partial_file_and_no_audit(serve, tmp_path):
    client = serve.start()
    # Half a multipart body, then the service dies (kill -9) mid-request.
    boundary = "cutshort"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nid,f0,label\r\n" + "s,1.0,a\r\n" * 20000
    ).encode()
    with socket.create_connection(("127.0.0.1", serve.port)) as raw:
        raw.sendall(
            (
                f"POST /audits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(head) * 4}\r\n\r\n"
            ).encode()
            + head
        )
        incoming = tmp_path / "var" / "incoming"
        deadline = time.monotonic() + 10
        while not list(incoming.glob("*.part")):
            assert time.monotonic() < deadline, "the upload never reached incoming/"
            time.sleep(0.05)
        serve.process.kill()
        serve.process.wait()
        os.killpg(serve.worker_pid, signal.SIGKILL)
    client.close()
    assert list(incoming.glob("*.part")), "the killed upload left its partial file"

    client = serve.start()
    assert list(incoming.glob("*.part")) == []
    assert client.get("/audits", headers=HEADERS).json()["items"] == []
    serve.stop()
