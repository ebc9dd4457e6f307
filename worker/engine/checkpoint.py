"""Checkpoints of a training run, so an interrupted audit resumes where it stopped.

A checkpoint holds everything the next epoch depends on — model, optimiser, scheduler,
random generators, the truncated loss's weights and the probabilities recorded so far — so
a resumed run computes the same numbers as an uninterrupted one. It is written atomically
(temporary file, fsync, rename) and read with ``weights_only``: a file that is corrupt,
from another format, or from another dataset or configuration is ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from formats.options import AuditConfig

log = logging.getLogger(__name__)
FORMAT = 1
# Rows of the features that the fingerprint reads: enough to tell datasets apart without
# reading a large image cache whole.
FINGERPRINT_ROWS = 1024
# Options that change where training runs, not what it computes.
PLACEMENT_OPTIONS = ("device",)
# Checkpointing may cost at most this share of the training time (large histories, slow disks).
MAX_OVERHEAD = 0.1

StopCheck = Callable[[], bool]


class TrainingInterrupted(Exception):
    """Training stopped because ``should_stop`` said so; the last checkpoint is kept."""


def fingerprint(features: np.ndarray, labels: np.ndarray, config: AuditConfig) -> str:
    """A digest of what a checkpoint is valid for: the data and the training options.

    Parameters
    ----------
    features : ndarray, (n, ...)
    labels : ndarray, (n,) int
    config : AuditConfig
    """
    digest = hashlib.sha256()
    options = {k: v for k, v in asdict(config).items() if k not in PLACEMENT_OPTIONS}
    digest.update(repr(sorted(options.items())).encode())
    digest.update(repr((features.shape, str(features.dtype))).encode())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    step = max(1, features.shape[0] // FINGERPRINT_ROWS)
    digest.update(np.ascontiguousarray(features[::step]).tobytes())
    return digest.hexdigest()


class Checkpoint:
    """The checkpoint file of one audit's training, bound to its data's fingerprint.

    Parameters
    ----------
    path : Path or None
        Where the file lives (its folder is created on the first save); None keeps no file
        and only checks ``should_stop``.
    fingerprint : str
        From :func:`fingerprint`; a file with another one is ignored.
    should_stop : callable, optional
        Asked between batches; when it returns True, training raises
        :class:`TrainingInterrupted`, abandoning the epoch in progress.
    """

    def __init__(
        self, path: Path | None, fingerprint: str, *, should_stop: StopCheck | None = None
    ) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.should_stop = should_stop
        self._last_saved = float("-inf")
        self._last_cost = 0.0

    def check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise TrainingInterrupted(str(self.path))

    def load(self, stage: str) -> dict[str, Any] | None:
        """The saved state of ``stage`` (``dynamics`` or ``crossval``), or None."""
        if self.path is None or not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file raises anything
            log.warning("ignoring checkpoint %s: unreadable (%s)", self.path, exc)
            return None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            log.warning("ignoring checkpoint %s: not a format-%d checkpoint", self.path, FORMAT)
            return None
        if state.get("fingerprint") != self.fingerprint or state.get("stage") != stage:
            log.warning("ignoring checkpoint %s: made for other data or options", self.path)
            return None
        return state

    def save(self, stage: str, state: dict[str, Any]) -> None:
        """Write ``state`` atomically, unless saves would cost over ``MAX_OVERHEAD`` of the
        time since the last one."""
        started = time.monotonic()
        if self.path is None or self._last_cost > MAX_OVERHEAD * (started - self._last_saved):
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        payload = {"format": FORMAT, "fingerprint": self.fingerprint, "stage": stage, **state}
        with temporary.open("wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        _fsync_directory(self.path.parent)
        self._last_saved = time.monotonic()
        self._last_cost = self._last_saved - started


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
