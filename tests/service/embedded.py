"""Running `labelaudit serve` as a user does, for the tests that drive it over HTTP: in
embedded mode (SQLite, filesystem broker, its own worker) unless the environment names
servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def embedded_environment(data_dir: Path) -> dict[str, str]:
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


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_serve(
    root: Path, port: int, environment: dict[str, str]
) -> tuple[subprocess.Popen[str], Path]:
    """`labelaudit serve` in ``root``, printing to ``root/serve.log`` (started afresh).

    Its output goes to a file, not a pipe: uvicorn logs every request, and a pipe nobody
    reads fills after 64 KiB, after which the server blocks on its next log line and
    answers nothing more.
    """
    log_path = root / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "labelaudit", "serve", "--port", str(port)],
            env=environment,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    return process, log_path


def wait_for_text(path: Path, marker: str, process: subprocess.Popen[str], timeout: float) -> str:
    """What ``process`` has printed to ``path`` once ``marker`` is in it."""
    deadline = time.monotonic() + timeout
    while marker not in (text := path.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"labelaudit serve did not print {marker!r}:\n{text[-3000:]}")
        time.sleep(0.2)
    return text


def wait_until_ready(client: httpx.Client, timeout: float = 30) -> None:
    """Until the served app answers ``/readyz`` with 200 (its database and broker up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the service never became ready"
        time.sleep(0.2)
