"""Training runs that record each sample's predicted probabilities.

:func:`record_training` records, after every epoch and in eval mode, the probability vectors
of the samples a model trains on (``dynamics``), of the fold it does not (``crossval``), or
both (``combined``, ``checked``); :mod:`worker.engine.reading` says what each mode reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from formats.options import AuditConfig
from formats.plan import Plan, Recipe
from formats.stages import TRAINING, fold_stage

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
    recipe: Recipe
    batch_size: int
    view: int
    stage: str


def record_training(
    tensors: TrainingTensors,
    plan: Plan,
    loss_options: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
    checkpoint: Checkpoint | None = None,
) -> TrainingHistory:
    """Train, recording every sample's probabilities after every epoch.

    ``dynamics`` mode trains once on all samples and records them all (in-sample);
    ``crossval`` mode trains one model per stratified fold and records, after each of its
    epochs, the fold it does not train on (out-of-sample), so every sample gets a trajectory
    from a model that never saw its label; ``combined`` and ``checked`` mode do both, the
    held-out models trained as the plan's ``held_out`` recipe says.

    Parameters
    ----------
    tensors : TrainingTensors
        The dataset prepared for training (see :func:`prepare_tensors`).
    plan : Plan
        Every value the runs train with.
    loss_options : AuditConfig
        The losses' parameters (q, beta, ...), the seed and the holdout fraction.
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
    epochs, window, mode, views = plan.epochs, plan.window, plan.mode, plan.views
    parts = _training_parts(tensors.labels_np, plan, seed=loss_options.seed)
    spans = _spans(parts)
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
        seed = loss_options.seed + index
        run = TrainingRun(
            tensors, plan, part.recipe, loss_options, part.trained, part.batch_size, seed=seed
        )
        part_epochs = part.recipe.epochs
        done = 0
        if saved is not None and index == first_part:
            done = run.restore(saved["run"])
            _report(progress, span, done, part_epochs, resumed=True)
        for epoch in range(done + 1, part_epochs + 1):
            run.train_epoch(checkpoint)
            probabilities = run.predict(part.recorded)
            given[part.view, epoch - 1, part.recorded] = probabilities[
                np.arange(part.recorded.size), tensors.labels_np[part.recorded]
            ]
            if epoch > part_epochs - window:
                _add_rows(window_sums[part.view], part.recorded, probabilities)
                unsaved.add(part.view)
            del probabilities
            if _prunes_after(plan, epoch):
                in_sample = part.recorded is part.trained
                run.prune(given[part.view, epoch - 1] if in_sample else None)
            if checkpoint is not None:
                state = {"run": run.state(epoch), "part": index, "given": torch.from_numpy(given)}
                changed = {f"window{view}": window_sums[view] for view in sorted(unsaved)}
                if checkpoint.save(mode, state, changed):
                    unsaved.clear()
            _report(progress, span, epoch, part_epochs)
        seconds[part.view] += time.perf_counter() - started
    # A view's models may train fewer epochs than the audit's (checked mode's held-out ones).
    recorded = [max(part.recipe.epochs for part in parts if part.view == v) for v in range(views)]
    return TrainingHistory(
        tuple(
            RecordedView(
                given[v, : recorded[v]],
                np.divide(window_sums[v], window, out=window_sums[v]),
                window,
                float(seconds[v]),
            )
            for v in range(views)
        ),
        mode,
    )


def _add_rows(sums: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``sums[rows] += values``; in place, without a copy, when ``rows`` are all of them
    (the in-sample run records every sample, in order)."""
    if rows.size == sums.shape[0]:
        np.add(sums, values, out=sums)
    else:
        sums[rows] += values


def _prunes_after(plan: Plan, epoch: int) -> bool:
    since = epoch - plan.first_pruned_epoch
    return since >= 0 and since % plan.prune_every == 0


def _training_parts(labels: np.ndarray, plan: Plan, *, seed: int) -> list[_Part]:
    """The training runs of an audit of ``plan``, in order: the in-sample model's, then
    the held-out fold models'."""
    everyone = np.arange(labels.size)
    parts = []
    if plan.in_sample is not None:
        batch = plan.in_sample.batch_sizes[0]
        parts.append(_Part(everyone, everyone, plan.in_sample, batch, 0, TRAINING))
    if plan.held_out is not None:
        assignment = stratified_folds(labels, plan.folds, seed=seed)
        view = len(parts)
        parts += [
            _Part(
                np.flatnonzero(assignment != fold),
                np.flatnonzero(assignment == fold),
                plan.held_out,
                plan.held_out.batch_sizes[fold],
                view,
                fold_stage(fold + 1, plan.folds, held_out=view == 1),
            )
            for fold in range(plan.folds)
        ]
    return parts


def _spans(parts: list[_Part]) -> list[_Span]:
    """Each run's share of the audit's progress: its share of the samples × epochs trained."""
    sizes = np.array([part.trained.size * part.recipe.epochs for part in parts], dtype=np.float64)
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
