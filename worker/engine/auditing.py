"""The engine's entry point: train, record, flag."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from formats import DEFAULT_LIMITS, Dataset, DatasetError
from formats.labels import check_classes
from formats.options import AuditConfig
from formats.training_memory import check_training_memory

from .checkpoint import Checkpoint, StopCheck, fingerprint
from .evidence import deciding_evidence, reference_examples
from .flagging import flag_recorded, flagged_confusion
from .history import TrainingHistory
from .progress import Progress, ProgressCallback
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
        Defaults to ``AuditConfig()`` (truncated Lq, k chosen per class, the mode chosen by
        :meth:`AuditConfig.mode_for`).
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
        Per-sample flags, scores and suggestions ``(n,)``, per-class error estimates and
        the ``(c, c)`` given-to-suggested confusion counts of the flagged samples; the
        evidence for each flag (the ``(epochs, n)`` given-label history, the window, the
        top classes) and reference examples per class.
    """
    config = config or AuditConfig()
    started = time.perf_counter()
    _check_trainable(dataset, config)
    check_training_memory(
        dataset.n_samples,
        dataset.n_classes,
        config,
        is_image=dataset.kind == "image",
        budget=max_training_bytes,
    )
    device = resolve_device(config.device)
    tensors = prepare_tensors(dataset.features, dataset.labels, dataset.n_classes, device=device)
    checkpoint = None
    if checkpoint_path is not None or should_stop is not None:
        checkpoint = Checkpoint(
            checkpoint_path,
            fingerprint(dataset.features, dataset.labels, config),
            should_stop=should_stop,
        )
    history = record_training(tensors, config, progress=progress, checkpoint=checkpoint)
    if progress is not None:
        progress(Progress("flagging", 0, 0, 1.0))
    return audit_recorded(
        dataset, history, k=config.k, started=started, device=describe_device(device)
    )


def audit_recorded(
    dataset: Dataset,
    history: TrainingHistory,
    *,
    k: float | None,
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
    k : float, optional
        The config's k (None: chosen per class).
    started : float
        :func:`time.perf_counter` when the audit started.
    device : str
        Where it trained, as :func:`describe_device` says.
    """
    flags = flag_recorded(history, dataset.labels, k=k)
    names = dataset.class_names
    given_history, indices, probabilities = deciding_evidence(history, flags.decided_by)
    return AuditResult(
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
        deciding_view=history.deciding_views(flags.decided_by),
        given_history=given_history,
        window=history.window_length,
        top_classes=indices,
        top_probabilities=probabilities,
        reference_examples=reference_examples(
            flags.confidence, dataset.labels, flags.flagged, dataset.n_classes
        ),
    )


def _check_trainable(dataset: Dataset, config: AuditConfig) -> None:
    # Corrections may have emptied a class since the dataset was read.
    counts = np.bincount(dataset.labels, minlength=dataset.n_classes)
    check_classes({name: int(n) for name, n in zip(dataset.class_names, counts, strict=True)})
    mode = config.mode_for(is_image=dataset.kind == "image")
    folds = config.fold_count(mode)
    if mode != "dynamics" and dataset.n_samples < 2 * folds:
        raise DatasetError(
            f"{mode} mode with {folds} folds needs at least {2 * folds} samples; "
            f"the dataset has {dataset.n_samples}",
            code="too_few_samples",
        )
