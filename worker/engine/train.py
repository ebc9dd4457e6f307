"""Training runs that record each sample's predicted probabilities.

:func:`record_training` records, after every epoch and in eval mode, the probability vectors
of the samples a model trains on (``dynamics``), of the fold it does not (``crossval``), or
both (``combined`` reads their mean, ``checked`` the first with a count checked by the second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from formats.options import AuditConfig, Mode

from .checkpoint import Checkpoint
from .progress import Progress, ProgressCallback
from .run import TrainingRun
from .tensors import TrainingTensors, resolve_device


@dataclass(frozen=True)
class RecordedView:
    """What the runs of one view recorded: in-sample, or held out from the models.

    Attributes
    ----------
    given_probability : ndarray, (epochs, n) float32
        Probability of each sample's given label after every epoch.
    window_probabilities : ndarray, (window, n, c) float32
        Full probability vectors of the last ``window`` epochs.
    seconds : float
        Time the view's runs took.
    """

    given_probability: np.ndarray
    window_probabilities: np.ndarray
    seconds: float


@dataclass(frozen=True)
class TrainingHistory:
    """What an audit's training runs recorded, per view, and what the audit reads of it.

    ``views`` holds one view, or in ``combined`` and ``checked`` mode two: the in-sample
    run's first, the held-out models' second. The audit reads the mean of the views, except
    in ``checked`` mode: there it reads the in-sample view, and the held-out one only checks
    how many wrong labels each class is estimated to hold.
    """

    views: tuple[RecordedView, ...]
    checked: bool = False

    @cached_property
    def given_probability(self) -> np.ndarray:
        """``(epochs, n)``: the probability of each given label the audit reads."""
        return self._read([view.given_probability for view in self.views])

    @cached_property
    def window_probabilities(self) -> np.ndarray:
        """``(window, n, c)``: the probability vectors over the window the audit reads."""
        return self._read([view.window_probabilities for view in self.views])

    @cached_property
    def mean_probabilities(self) -> np.ndarray:
        """``(n, c)``: the mean over the window the audit reads."""
        return self.window_probabilities.mean(axis=0)

    @property
    def counted_probabilities(self) -> tuple[np.ndarray, ...]:
        """``(n, c)`` mean window probabilities, one per estimate of the wrong labels that
        the audit takes the smallest of, per class: each view's in ``checked`` mode, else
        those the audit reads."""
        if self.checked:
            return tuple(view.window_probabilities.mean(axis=0) for view in self.views)
        return (self.mean_probabilities,)

    @property
    def averaged_views(self) -> tuple[np.ndarray, ...] | None:
        """The ``(window, n, c)`` windows that the audit averages, in-sample first; None
        where it reads one view."""
        if self.checked or len(self.views) == 1:
            return None
        return tuple(view.window_probabilities for view in self.views)

    @property
    def seconds(self) -> float:
        return sum(view.seconds for view in self.views)

    def _read(self, arrays: list[np.ndarray]) -> np.ndarray:
        if self.checked or len(arrays) == 1:
            return arrays[0]
        return np.asarray(np.mean(arrays, axis=0), np.float32)


@dataclass(frozen=True)
class _Span:
    """Which part of the whole audit's progress a training run covers."""

    stage: str
    start: float
    width: float


@dataclass(frozen=True)
class _Part:
    """One training run of an audit: whom it trains on and records, and how.

    ``view`` 0 holds in-sample records (or out-of-sample ones in ``crossval`` mode), 1 the
    held-out records of ``combined`` and ``checked`` mode.
    """

    trained: np.ndarray
    recorded: np.ndarray
    config: AuditConfig
    view: int
    stage: str
    epochs: int


def first_pruned_epoch(config: AuditConfig, *, is_image: bool, epochs: int) -> int:
    """The epoch after which truncated Lq first prunes.

    The MLP on a table memorises wrong labels within a few epochs, so it prunes after the
    second; a CNN on images is still learning its clean samples then (pruning would drop
    the hard ones for good), and memorises later, so it prunes after a third of training.
    """
    if config.prune_start is not None:
        return config.prune_start
    return max(1, epochs // 3) if is_image else 2


def record_training(
    tensors: TrainingTensors,
    config: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
    checkpoint: Checkpoint | None = None,
) -> TrainingHistory:
    """Train, recording every sample's probabilities after every epoch.

    ``dynamics`` mode trains once on all samples and records them all (in-sample);
    ``crossval`` mode trains one model per stratified fold and records, after each of its
    epochs, the fold it does not train on (out-of-sample), so every sample gets a trajectory
    from a model that never saw its label; ``combined`` and ``checked`` mode do both, the
    held-out models trained as :meth:`AuditConfig.held_out_config` says (see
    :class:`TrainingHistory` for what each reads).

    Parameters
    ----------
    tensors : TrainingTensors
        The dataset prepared for training (see :func:`prepare_tensors`).
    config : AuditConfig
    progress : callable, optional
        Called with a :class:`Progress` after every epoch.
    checkpoint : Checkpoint, optional
        Resume from it when it holds a valid state, and save to it after every epoch.

    Returns
    -------
    TrainingHistory
        Per view and as the audit reads them: ``given_probability`` ``(epochs, n)``,
        ``window_probabilities`` ``(W, n, c)``.
    """
    epochs = config.epochs_for(tensors.n_samples)
    window = min(config.window, epochs)
    mode = config.mode_for(is_image=tensors.is_image)
    parts = _training_parts(tensors.labels_np, config, mode, epochs=epochs)
    spans = _spans(parts)
    first_pruned = first_pruned_epoch(config, is_image=tensors.is_image, epochs=epochs)
    views = 1 + max(part.view for part in parts)
    given = np.empty((views, epochs, tensors.n_samples), dtype=np.float32)
    recent = np.empty((views, window, tensors.n_samples, tensors.n_classes), dtype=np.float32)
    first_part, saved = 0, checkpoint.load(mode) if checkpoint is not None else None
    if saved is not None:
        first_part = int(saved["part"])
        given[:] = saved["given"].numpy()
        recent[:] = saved["recent"].numpy()
    seconds = np.zeros(views)
    for index in range(first_part, len(parts)):
        part, span = parts[index], spans[index]
        started = time.perf_counter()
        seed = config.seed + index
        run = TrainingRun(tensors, part.config, part.trained, epochs=part.epochs, seed=seed)
        done = 0
        if saved is not None and index == first_part:
            done = run.restore(saved["run"])
            _report(progress, span, done, part.epochs, resumed=True)
        for epoch in range(done + 1, part.epochs + 1):
            run.train_epoch(checkpoint)
            probabilities = run.predict(part.recorded)
            given[part.view, epoch - 1, part.recorded] = probabilities[
                np.arange(part.recorded.size), tensors.labels_np[part.recorded]
            ]
            if epoch > part.epochs - window:
                recent[part.view, epoch - (part.epochs - window) - 1, part.recorded] = probabilities
            if _prunes_after(part.config, epoch, first=first_pruned):
                in_sample = part.recorded is part.trained
                run.prune(given[part.view, epoch - 1] if in_sample else None)
            if checkpoint is not None:
                state = {
                    "part": index,
                    "given": torch.from_numpy(given),
                    "recent": torch.from_numpy(recent),
                }
                checkpoint.save(mode, {"run": run.state(epoch), **state})
            _report(progress, span, epoch, part.epochs)
        seconds[part.view] += time.perf_counter() - started
    # A view's models may train fewer epochs than the audit's (checked mode's held-out ones).
    recorded = [max(part.epochs for part in parts if part.view == v) for v in range(views)]
    return TrainingHistory(
        tuple(
            RecordedView(given[v, : recorded[v]], recent[v], float(seconds[v]))
            for v in range(views)
        ),
        checked=mode == "checked",
    )


def _prunes_after(config: AuditConfig, epoch: int, *, first: int) -> bool:
    since = epoch - first
    return since >= 0 and since % config.prune_every == 0


def _training_parts(
    labels: np.ndarray, config: AuditConfig, mode: Mode, *, epochs: int
) -> list[_Part]:
    """The training runs of an audit in ``mode`` of ``epochs``, in order."""
    everyone = np.arange(labels.size)
    in_sample = _Part(everyone, everyone, config, 0, "training", epochs)
    if mode == "dynamics":
        return [in_sample]
    folds = config.fold_count(mode)
    assignment = stratified_folds(labels, folds, seed=config.seed)
    held_out = config if mode == "crossval" else config.held_out_config()
    view, prefix = (0, "fold") if mode == "crossval" else (1, "held-out fold")
    fold_parts = [
        _Part(
            np.flatnonzero(assignment != fold),
            np.flatnonzero(assignment == fold),
            held_out,
            view,
            f"{prefix} {fold + 1}/{folds}",
            config.held_out_epochs(mode, epochs),
        )
        for fold in range(folds)
    ]
    return fold_parts if mode == "crossval" else [in_sample, *fold_parts]


def _spans(parts: list[_Part]) -> list[_Span]:
    """Each run's share of the audit's progress: its share of the samples × epochs trained."""
    sizes = np.array([part.trained.size * part.epochs for part in parts], dtype=np.float64)
    starts = np.concatenate([[0.0], np.cumsum(sizes)[:-1]]) / sizes.sum()
    return [
        _Span(part.stage, float(start), float(size / sizes.sum()))
        for part, start, size in zip(parts, starts, sizes, strict=True)
    ]


def stratified_folds(labels: np.ndarray, n_folds: int, *, seed: int) -> np.ndarray:
    """Assign each sample of ``labels`` ``(n,)`` a fold in ``[0, n_folds)``, class-balanced."""
    rng = np.random.default_rng(seed)
    folds = np.empty(labels.shape[0], dtype=np.int64)
    offset = 0
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        folds[members] = (np.arange(members.size) + offset) % n_folds
        offset += members.size
    return folds


def _report(
    progress: ProgressCallback | None,
    span: _Span,
    epoch: int,
    epochs: int,
    *,
    resumed: bool = False,
) -> None:
    if progress is not None:
        fraction = span.start + span.width * epoch / epochs
        progress(
            Progress(span.stage, epoch, epochs, fraction, resumed_at=epoch if resumed else None)
        )


__all__ = [
    "RecordedView",
    "TrainingHistory",
    "record_training",
    "resolve_device",
    "stratified_folds",
]
