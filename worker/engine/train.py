"""Training runs that record each sample's predicted probabilities.

:func:`record_training` records, after every epoch and in eval mode, the probability vectors
of the samples a model trains on (``dynamics``), of the fold it does not (``crossval``), or
both (``combined`` reads their mean, ``checked`` the first with a count checked by the second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from formats.options import AuditConfig, Mode

from .checkpoint import Checkpoint
from .history import RecordedView, TrainingHistory
from .progress import Progress, ProgressCallback
from .run import TrainingRun
from .tensors import TrainingTensors, resolve_device


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
        Per view and as the audit reads them: ``given_probability`` ``(epochs, n)`` and the
        window's mean probability vectors ``(n, c)``.
    """
    epochs = config.epochs_for(tensors.n_samples)
    window = min(config.window, epochs)
    mode = config.mode_for(is_image=tensors.is_image)
    parts = _training_parts(tensors.labels_np, config, mode, epochs=epochs)
    spans = _spans(parts)
    first_pruned = first_pruned_epoch(config, is_image=tensors.is_image, epochs=epochs)
    views = 1 + max(part.view for part in parts)
    given = np.empty((views, epochs, tensors.n_samples), dtype=np.float32)
    # Running sums over the window's epochs, divided by its length at the end.
    window_sums = [
        np.zeros((tensors.n_samples, tensors.n_classes), dtype=np.float32) for _ in range(views)
    ]
    # The views whose sum changed since the checkpoint last wrote it.
    unsaved: set[int] = set()
    first_part, saved = 0, checkpoint.load(mode) if checkpoint is not None else None
    if saved is not None:
        first_part = int(saved["part"])
        given[:] = saved["given"].numpy()
        for view in range(views):
            if f"window{view}" in saved["arrays"]:
                window_sums[view][:] = saved["arrays"][f"window{view}"]
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
                _add_rows(window_sums[part.view], part.recorded, probabilities)
                unsaved.add(part.view)
            del probabilities
            if _prunes_after(part.config, epoch, first=first_pruned):
                in_sample = part.recorded is part.trained
                run.prune(given[part.view, epoch - 1] if in_sample else None)
            if checkpoint is not None:
                state = {"run": run.state(epoch), "part": index, "given": torch.from_numpy(given)}
                changed = {f"window{view}": window_sums[view] for view in sorted(unsaved)}
                if checkpoint.save(mode, state, changed):
                    unsaved.clear()
            _report(progress, span, epoch, part.epochs)
        seconds[part.view] += time.perf_counter() - started
    # A view's models may train fewer epochs than the audit's (checked mode's held-out ones).
    recorded = [max(part.epochs for part in parts if part.view == v) for v in range(views)]
    return TrainingHistory(
        tuple(
            RecordedView(
                given[v, : recorded[v]],
                np.divide(window_sums[v], window, out=window_sums[v]),
                window,
                float(seconds[v]),
                held_out=v == 1 or mode == "crossval",
            )
            for v in range(views)
        ),
        checked=mode == "checked",
    )


def _add_rows(sums: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``sums[rows] += values``; in place, without a copy, when ``rows`` are all of them
    (the in-sample run records every sample, in order)."""
    if rows.size == sums.shape[0]:
        np.add(sums, values, out=sums)
    else:
        sums[rows] += values


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
