"""What the service benchmarks share: a scratch PostgreSQL database, the API as a separate
``labelaudit serve`` process, and that process's resident memory sampled from ``/proc``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

POSTGRES_ADMIN_URL = os.environ.get(
    "LABELAUDIT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("LABELAUDIT_BENCH_REDIS", "redis://127.0.0.1:6379/5")
STARTUP_TIMEOUT_S = 60.0


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL), dropped when the block ends."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def service_environment(database_url: str, data_dir: Path) -> dict[str, str]:
    """Production mode (PostgreSQL and Redis), with a queue no worker consumes: an upload's
    audit is queued but never run, so nothing else competes for the CPU."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "AUDIT_QUEUE": f"bench-{uuid.uuid4().hex[:8]}",
        "LABELAUDIT_DATA_DIR": str(data_dir),
    }


def labelaudit(environment: dict[str, str], *arguments: str, cwd: Path | None = None) -> str:
    """Run a ``labelaudit`` command (as an operator would) and return what it printed; with
    ``cwd``, the code of that tree (``python -m`` imports from the working directory)."""
    command = [sys.executable, "-m", "labelaudit", *arguments]
    done = subprocess.run(
        command, env=environment, capture_output=True, text=True, check=True, cwd=cwd
    )
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ApiProcess:
    pid: int
    url: str
    log: Path


@contextmanager
def api_process(
    environment: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[ApiProcess]:
    """``labelaudit serve`` (one uvicorn worker) in its own process, stopped when the block
    ends; its output goes to ``log``; with ``cwd``, the code of that tree."""
    port = free_port()
    command = [sys.executable, "-m", "labelaudit", "serve", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(process, url, log)
        yield ApiProcess(pid=process.pid, url=url, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited at start-up:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API did not answer within {STARTUP_TIMEOUT_S:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` (resident now) and ``VmHWM`` (peak resident) of a process, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


@dataclass
class MemoryWatch:
    """A process's resident memory sampled every ``interval_s`` while a block runs; the
    kernel's own peak (``VmHWM``) is reset at the start, so it covers the block only."""

    pid: int
    interval_s: float = 0.02
    baseline_kib: int = 0
    peak_sampled_kib: int = 0
    peak_kernel_kib: int = 0
    samples: list[int] = field(default_factory=list)

    @contextmanager
    def watching(self) -> Iterator[MemoryWatch]:
        # Writing 5 to clear_refs resets the peak resident set size (Linux 4.0+).
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        self.baseline_kib = memory_kib(self.pid)["VmRSS"]
        stop = threading.Event()
        sampler = threading.Thread(target=self._sample, args=(stop,), daemon=True)
        sampler.start()
        try:
            yield self
        finally:
            stop.set()
            sampler.join()
            self.peak_kernel_kib = memory_kib(self.pid)["VmHWM"]

    def _sample(self, stop: threading.Event) -> None:
        while not stop.is_set():
            resident = memory_kib(self.pid)["VmRSS"]
            self.samples.append(resident)
            self.peak_sampled_kib = max(self.peak_sampled_kib, resident)
            stop.wait(self.interval_s)

    def figures(self) -> dict[str, float]:
        return {
            "baseline_rss_mib": round(self.baseline_kib / 1024, 1),
            "peak_rss_mib": round(max(self.peak_sampled_kib, self.peak_kernel_kib) / 1024, 1),
            "growth_mib": round(
                (max(self.peak_sampled_kib, self.peak_kernel_kib) - self.baseline_kib) / 1024, 1
            ),
            "rss_samples": len(self.samples),
        }
