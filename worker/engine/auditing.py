"""The engine's entry point: train, record, flag."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from formats import DEFAULT_LIMITS, Dataset, DatasetError
from formats.labels import check_classes
from formats.options import AuditConfig, ConfigError
from formats.plan import Plan
from formats.stages import FLAGGING
from formats.training_memory import check_training_memory

from .checkpoint import Checkpoint, StopCheck, fingerprint
from .evidence import deciding_evidence, reference_examples
from .features import PROGRESS_SHARE as FEATURES_PROGRESS_SHARE
from .features import image_features
from .flagging import flag_recorded, flagged_confusion
from .history import TrainingHistory
from .neighbours import record_neighbours
from .progress import Progress, ProgressCallback
from .reading import READINGS, deciding_view_names, read_view
from .result import AuditResult
from .tensors import describe_device, prepare_tensors, resolve_device
from .train import record_training


def audit(
    dataset: Dataset,
    config: AuditConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
    checkpoint_path: Path | None = None,
    should_stop: StopCheck | None = None,
    max_training_bytes: int = DEFAULT_LIMITS.max_training_bytes,
) -> AuditResult:
    """Find the samples whose given label is probably wrong.

    Parameters
    ----------
    dataset : Dataset
        ``n`` samples of ``c`` classes.
    config : AuditConfig, optional
        Defaults to ``AuditConfig()`` (truncated Lq, k chosen per class, the rest chosen for
        the data by :meth:`AuditConfig.plan`). Images must have been read as the config
        says (:func:`worker.engine.load_for_audit`).
    progress : callable, optional
        Receives :class:`Progress` reports; an exception it raises stops the audit.
    checkpoint_path : Path, optional
        Save the training state there after every epoch, and resume from it when it holds
        the state of this dataset and config (otherwise it is ignored and overwritten). The
        caller removes it once the result is safe.
    should_stop : callable, optional
        Asked between batches; True abandons the epoch in progress and raises
        :class:`TrainingInterrupted` (the checkpoint of the last whole epoch is kept).
    max_training_bytes : int
        Refuse (``dataset_too_large_to_train``), before allocating them, training buffers
        over this size (:func:`formats.training_memory.training_memory_bytes`).

    Returns
    -------
    AuditResult
        The plan it ran with; per-sample flags, scores and suggestions ``(n,)``, per-class
        error estimates and
        the ``(c, c)`` given-to-suggested confusion counts of the flagged samples; the
        evidence for each flag (the ``(epochs, n)`` given-label history, the window, the
        top classes) and reference examples per class.
    """
    config = config or AuditConfig()
    started = time.perf_counter()
    plan = config.plan(
        dataset.n_samples, is_image=dataset.kind == "image", image_side=_image_side(dataset, config)
    )
    _check_trainable(dataset, plan)
    check_training_memory(dataset.n_samples, dataset.n_classes, plan, budget=max_training_bytes)
    device = resolve_device(config.device)
    checkpoint = None
    if checkpoint_path is not None or should_stop is not None:
        checkpoint = Checkpoint(
            checkpoint_path,
            fingerprint(dataset.features, dataset.labels, config),
            should_stop=should_stop,
        )
    features_started = time.perf_counter()
    features = dataset.features
    if plan.backbone != "none":
        features = image_features(
            dataset, plan.backbone, device=device, progress=progress, checkpoint=checkpoint
        )
        # Training fills the rest of the progress bar.
        progress = _after(progress, FEATURES_PROGRESS_SHARE)
    feature_seconds = time.perf_counter() - features_started
    tensors = prepare_tensors(features, dataset.labels, dataset.n_classes, device=device)
    if plan.mode == "neighbours":
        view = record_neighbours(
            tensors.data, tensors.labels_np, dataset.n_classes, neighbours=plan.neighbours
        )
        history = TrainingHistory((view,), plan.mode)
    else:
        history = record_training(tensors, plan, config, progress=progress, checkpoint=checkpoint)
    if progress is not None:
        progress(Progress(FLAGGING, 0, 0, 1.0))
    result = audit_recorded(dataset, history, plan, started=started, device=describe_device(device))
    return replace(result, feature_seconds=feature_seconds)


def audit_recorded(
    dataset: Dataset,
    history: TrainingHistory,
    plan: Plan,
    *,
    started: float,
    device: str,
) -> AuditResult:
    """:func:`audit`'s result from what its training recorded: the flags, and for each
    sample the evidence of the predictions that decided it.

    Parameters
    ----------
    dataset : Dataset
    history : TrainingHistory
        What :func:`record_training` recorded of ``dataset``.
    plan : Plan
        What it trained with; its mode's row of the reading table says what the flags read.
    started : float
        :func:`time.perf_counter` when the audit started.
    device : str
        Where it trained, as :func:`describe_device` says.
    """
    reading = READINGS[plan.mode]
    flags = flag_recorded(history, dataset.labels, reading=reading, k=plan.k)
    names = dataset.class_names
    given_history, indices, probabilities = deciding_evidence(
        read_view(history, reading.flags), history.views, flags.decided_by
    )
    return AuditResult(
        plan=plan,
        sample_ids=dataset.sample_ids,
        given=np.asarray(dataset.labels, dtype=np.int64),
        flags=flags,
        class_names=dataset.class_names,
        estimated_errors={
            name: int(n) for name, n in zip(names, flags.estimated_errors, strict=True)
        },
        thresholds={name: float(k) for name, k in zip(names, flags.thresholds, strict=True)},
        confusion=flagged_confusion(flags, dataset.labels, dataset.n_classes),
        seconds=time.perf_counter() - started,
        device=device,
        threads=torch.get_num_threads(),
        deciding_view=deciding_view_names(history, reading, flags.decided_by),
        given_history=given_history,
        window=history.window_length,
        top_classes=indices,
        top_probabilities=probabilities,
        reference_examples=reference_examples(
            flags.confidence, dataset.labels, flags.flagged, dataset.n_classes
        ),
    )


def _after(progress: ProgressCallback | None, done: float) -> ProgressCallback | None:
    """``progress`` with the fractions it is given mapped onto ``[done, 1]``."""
    if progress is None:
        return None
    report = progress
    return lambda step: report(replace(step, fraction=done + (1.0 - done) * step.fraction))


def _image_side(dataset: Dataset, config: AuditConfig) -> int | None:
    """The side the images were decoded at, which must be the config's ``image_size``."""
    if dataset.kind != "image":
        return None
    side = int(dataset.features.shape[1])
    if config.image_size is not None and side != config.image_size:
        raise ConfigError(
            f"image_size is {config.image_size} but the images were decoded at {side} px; "
            "read them with worker.engine.load_for_audit(path, config)"
        )
    return side


def _check_trainable(dataset: Dataset, plan: Plan) -> None:
    # Corrections may have emptied a class since the dataset was read.
    counts = np.bincount(dataset.labels, minlength=dataset.n_classes)
    check_classes({name: int(n) for name, n in zip(dataset.class_names, counts, strict=True)})
    if plan.folds and dataset.n_samples < 2 * plan.folds:
        raise DatasetError(
            f"{plan.mode} mode with {plan.folds} folds needs at least {2 * plan.folds} "
            f"samples; the dataset has {dataset.n_samples}",
            code="too_few_samples",
        )
