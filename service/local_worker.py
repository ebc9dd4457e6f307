"""The embedded service's own `labelaudit worker`, restarted when it dies.

It runs in a process group of its own, so stopping it leaves nothing behind; its sweeper
re-queues an audit whose lease a dead worker left behind, as in production.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from .config import Settings

log = logging.getLogger(__name__)
RESTART_DELAY_S = 1.0
# SIGTERM lets the worker checkpoint its audit and give it back; past this it is killed.
STOP_GRACE_S = 9.0


class LocalWorker:
    """Starts the worker, restarts it whenever it exits unexpectedly, stops it with
    :meth:`terminate` (non-blocking) and :meth:`stop` (waits, then kills)."""

    def __init__(self, settings: Settings) -> None:
        self.environment = {**os.environ, "LABELAUDIT_DATA_DIR": str(settings.data_dir.resolve())}
        self.command = [sys.executable, "-m", "labelaudit", "worker"]
        self.command += ["--queues", settings.audit_queue]
        self.log_path: Path = settings.data_dir / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._supervisor = threading.Thread(target=self._supervise, name="local-worker")

    def start(self) -> None:
        self._spawn()
        self._supervisor.daemon = True
        self._supervisor.start()

    def terminate(self) -> None:
        """Ask the worker to shut down (SIGTERM), and stop restarting it."""
        self._stopping.set()
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        self.terminate()
        assert self.process is not None
        try:
            self.process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            log.warning("the local worker did not stop within %.0f s; killing it", grace_s)
        # Whatever is left of its process group goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def _spawn(self) -> None:
        log_file: IO[bytes] = self.log_path.open("ab")
        with self._lock:
            self.process = subprocess.Popen(
                self.command,
                env=self.environment,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        log_file.close()
        print(f"started a local worker (pid {self.process.pid}, log {self.log_path})", flush=True)

    def _supervise(self) -> None:
        while True:
            assert self.process is not None
            code = self.process.wait()
            if self._stopping.wait(RESTART_DELAY_S):
                return
            print(f"the local worker exited (code {code}); starting another", flush=True)
            self._spawn()
