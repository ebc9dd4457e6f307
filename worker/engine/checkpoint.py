"""Checkpoints of a training run, so an interrupted audit resumes where it stopped.

A checkpoint holds everything the next epoch depends on — model, optimiser, scheduler,
random generators, the truncated loss's weights and the probabilities recorded so far — so
a resumed run computes the same numbers as an uninterrupted one. It is written atomically
(temporary file, fsync, rename) and read with ``weights_only``: a file that is corrupt,
from another format, or from another dataset or configuration is ignored, never trusted.

Large arrays that change only now and then (the window's ``(n, c)`` running sums, which
change in the window's epochs alone) live beside it in ``.npy`` files of their own, each
written only when it changed, under a new name that the checkpoint file then refers to: the
rename of the checkpoint file switches to the new arrays at once, and a crash between the
two leaves the old checkpoint and its old arrays intact.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from formats.options import AuditConfig

log = logging.getLogger(__name__)
FORMAT = 2
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
        Where the file lives, in a folder that exists; None keeps no file and only checks
        ``should_stop``. Once the folder is gone (its audit was deleted), saving raises
        :class:`TrainingInterrupted` rather than bring it back.
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
        # The array files the checkpoint on disk refers to, by name.
        self._files: dict[str, str] = {}

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
        arrays = self._load_arrays(state.get("arrays"))
        if arrays is None:
            return None
        self._files = dict(state["arrays"])
        return {**state, "arrays": arrays}

    def _load_arrays(self, files: object) -> dict[str, np.ndarray] | None:
        """The arrays the checkpoint refers to by file name, or None (with a log line)."""
        assert self.path is not None
        if not isinstance(files, dict):
            log.warning("ignoring checkpoint %s: no list of its arrays", self.path)
            return None
        arrays = {}
        for name, file_name in files.items():
            # Only files beside it, named as save() names them.
            if not (
                isinstance(file_name, str)
                and Path(file_name).name == file_name
                and file_name.startswith(f"{self.path.name}.")
            ):
                log.warning("ignoring checkpoint %s: it refers to %r", self.path, file_name)
                return None
            try:
                arrays[str(name)] = np.load(self.path.parent / file_name, allow_pickle=False)
            except Exception as exc:  # missing, truncated or foreign
                log.warning(
                    "ignoring checkpoint %s: array %s unreadable (%s)", self.path, name, exc
                )
                return None
        return arrays

    def save(
        self, stage: str, state: dict[str, Any], changed: dict[str, np.ndarray] | None = None
    ) -> bool:
        """Write ``state`` atomically, with the arrays in ``changed`` (those unchanged since
        the last save keep their files), unless saves would cost over ``MAX_OVERHEAD`` of the
        time since the last one; returns whether it wrote."""
        started = time.monotonic()
        if self.path is None or self._last_cost > MAX_OVERHEAD * (started - self._last_saved):
            return False
        try:
            written = {
                name: self._write_array(name, array) for name, array in (changed or {}).items()
            }
            files = {**self._files, **written}
            temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            payload = {
                "format": FORMAT,
                "fingerprint": self.fingerprint,
                "stage": stage,
                "arrays": files,
                **state,
            }
            with temporary.open("wb") as handle:
                torch.save(payload, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
            _fsync_directory(self.path.parent)
        except FileNotFoundError as exc:  # the folder went away, before or during the save
            raise TrainingInterrupted(f"the folder of {self.path} was removed") from exc
        superseded = [self._files[name] for name in written if name in self._files]
        self._files = files
        for file_name in superseded:
            (self.path.parent / file_name).unlink(missing_ok=True)
        self._last_saved = time.monotonic()
        self._last_cost = self._last_saved - started
        return True

    def _write_array(self, name: str, array: np.ndarray) -> str:
        """Write ``array`` under a new name beside the checkpoint (fsynced); returns it."""
        assert self.path is not None
        file_name = f"{self.path.name}.{name}.{uuid.uuid4().hex[:12]}.npy"
        with (self.path.parent / file_name).open("wb") as handle:
            np.save(handle, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        return file_name


def remove_checkpoint(path: Path) -> None:
    """Remove the checkpoint at ``path`` with its arrays and any temporary file."""
    path.unlink(missing_ok=True)
    for leftover in glob.glob(f"{glob.escape(str(path))}.*"):
        Path(leftover).unlink(missing_ok=True)


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
