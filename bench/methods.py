"""The detection benchmark's methods that train networks: labelaudit as the audit runs it
(on a pretrained backbone's features for images), the variants read from the same runs,
labelaudit trained from scratch on the pixels (opt-in: minutes per row on a CPU), and
cleanlab's 5-fold cross-entropy reference."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from bench.detection import Detection, RowInputs
from bench.on_features import NEIGHBOURS_ROW, features_of, labelaudit_neighbours
from bench.records import recorded_training
from formats import Dataset
from formats.options import Mode
from worker.engine import AuditConfig
from worker.engine.flagging import flag_recorded
from worker.engine.reading import READINGS, Reading
from worker.engine.tensors import describe_device, prepare_tensors, resolve_device
from worker.engine.train import TrainingHistory

DEFAULT = "labelaudit (default)"
# What each mode is called in a row where it is not the default.
MODE_LABELS = {
    "combined": "labelaudit combined",
    "checked": "labelaudit checked",
    "pooled": "labelaudit pooled",
    "dynamics": "labelaudit dynamics alone",
}
HELD_OUT = "labelaudit held-out half alone"
# The default on images before it looked for learned flips: the averaged views alone.
AVERAGED_ONLY = "labelaudit combined without the learned-flip check"
CLEANLAB_ON_OURS = "cleanlab on our held-out probabilities"
REFERENCE = "cleanlab (5-fold CE)"


def labelaudit(dataset: Dataset, config: AuditConfig, inputs: RowInputs) -> dict[str, Detection]:
    """What the audit flags and the variants read from the same runs (:func:`trained_views`).

    With a pretrained backbone (images, unless the config says ``none``) they train on the
    backbone's features as a table, as the audit does, and ``neighbours`` mode reads the
    same features; every row's seconds include the features' extraction once.
    """
    plan = config.plan(dataset.n_samples, is_image=dataset.kind == "image")
    if plan.backbone == "none":
        return trained_views(dataset, config, inputs.records)
    table, features = features_of(dataset, config, inputs)
    table_config = dataclasses.replace(config, backbone="none")
    detections = {
        **trained_views(table, table_config, inputs.records, default_mode=plan.mode),
        NEIGHBOURS_ROW: labelaudit_neighbours(table, table_config),
    }
    return {
        label: dataclasses.replace(
            detection, seconds=detection.seconds + features.seconds, backbone=features.backbone
        )
        for label, detection in detections.items()
    }


def labelaudit_scratch(
    dataset: Dataset, config: AuditConfig, inputs: RowInputs
) -> dict[str, Detection]:
    """:func:`trained_views` of networks trained from scratch on the pixels (no backbone),
    each row named :func:`from_scratch` at the side the images were decoded at."""
    if dataset.kind != "image":
        raise SystemExit("labelaudit-scratch trains on images")
    pixels = dataclasses.replace(config, backbone="none")
    side = dataset.features.shape[1]
    return {
        from_scratch(label, side): detection
        for label, detection in trained_views(dataset, pixels, inputs.records).items()
    }


def from_scratch(label: str, side: int) -> str:
    """The name of :func:`trained_views`' row ``label`` trained from scratch on images of
    ``side`` px, when the default reads a backbone's features."""
    scratch = f"from scratch ({side} px)"
    return f"labelaudit {scratch}" if label == DEFAULT else f"{label}, {scratch}"


def trained_views(
    dataset: Dataset, config: AuditConfig, records: Path | None, *, default_mode: Mode | None = None
) -> dict[str, Detection]:
    """Our default, the other modes that train in-sample, the held-out half alone, and
    cleanlab on that half's probabilities: read from one run in combined mode, and on tables
    one in checked mode. Where the default is combined mode, also its averaged views without
    the learned-flip check (the default before it).

    Combined mode's in-sample run is the same run, with the same seed, as dynamics mode's
    and checked mode's, so each view is what the mode that reads it would record; pooled
    mode records the same runs as combined mode (full-length held-out models).
    ``default_mode`` is the row called the default: what ``config`` plans for ``dataset``
    unless given (a backbone's features are a table, read as the images' plan says).
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    device = resolve_device(config.device)
    tensors = prepare_tensors(dataset.features, dataset.labels, dataset.n_classes, device=device)
    combined = dataclasses.replace(config, mode="combined")
    history = recorded_training(dataset, tensors, combined, folder=records)
    in_sample, held_out = history.views
    plans = {
        mode: dataclasses.replace(config, mode=mode).plan(
            dataset.n_samples, is_image=tensors.is_image
        )
        for mode in READINGS
    }
    epochs = plans["combined"].epochs
    one_run = dataset.n_samples * epochs
    if default_mode is None:
        default_mode = config.plan(dataset.n_samples, is_image=tensors.is_image).mode

    def ours(history: TrainingHistory, runs: float, reading: Reading) -> Detection:
        started = time.perf_counter()
        flags = flag_recorded(history, dataset.labels, reading=reading)
        return Detection(
            flags.flagged,
            flags.score,
            flags.suggested,
            int(flags.estimated_errors.sum()),
            history.seconds + time.perf_counter() - started,
            round(runs * one_run),
            describe_device(device),
        )

    histories: dict[Mode, TrainingHistory] = {
        "combined": history,
        "dynamics": TrainingHistory((in_sample,), "dynamics"),
    }
    if not tensors.is_image:
        # Checked mode's held-out models train fewer epochs than combined mode's: its own
        # run (seconds on a table; on images, where it is not the default, it is not run).
        checked = dataclasses.replace(config, mode="checked")
        histories["checked"] = recorded_training(dataset, tensors, checked, folder=records)
        histories["pooled"] = TrainingHistory(history.views, "pooled")
    held_out_runs = plans["combined"].training_runs - 1
    started = time.perf_counter()
    probabilities = held_out.window_mean.copy()
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    flagged = find_label_issues(dataset.labels, probabilities)
    cleanlab_on_ours = Detection(
        flagged,
        1.0 - get_label_quality_scores(dataset.labels, probabilities),
        probabilities.argmax(axis=1),
        int(flagged.sum()),
        held_out.seconds + time.perf_counter() - started,
        round(held_out_runs * one_run),
        describe_device(device),
    )
    detections = {
        **{
            DEFAULT if mode == default_mode else MODE_LABELS[mode]: ours(
                view, plans[mode].training_runs, READINGS[mode]
            )
            for mode, view in histories.items()
        },
        HELD_OUT: ours(
            TrainingHistory((held_out,), "crossval"), held_out_runs, READINGS["crossval"]
        ),
        CLEANLAB_ON_OURS: cleanlab_on_ours,
    }
    if default_mode == "combined":
        # The default's row of the reading table, without its learned-flip check.
        without_check = dataclasses.replace(READINGS["combined"], learned_flip_check=False)
        detections[AVERAGED_ONLY] = ours(history, plans["combined"].training_runs, without_check)
    return detections


def cleanlab_reference(
    dataset: Dataset, config: AuditConfig, inputs: RowInputs
) -> dict[str, Detection]:
    """cleanlab's find_label_issues on 5-fold out-of-fold probabilities of a CE-trained net,
    trained from scratch (on the pixels for images) the usual way for held-out predictions
    (with augmentation on images)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    device = resolve_device(config.device)
    tensors = prepare_tensors(dataset.features, dataset.labels, dataset.n_classes, device=device)
    ce = dataclasses.replace(
        config, loss="ce", mode="crossval", folds=5, window=1, augment=True, backbone="none"
    )
    history = recorded_training(dataset, tensors, ce, folder=inputs.records)
    started = time.perf_counter()
    probabilities = history.view("held-out").window_mean  # a window of one epoch
    flagged = find_label_issues(dataset.labels, probabilities)
    score = 1.0 - get_label_quality_scores(dataset.labels, probabilities)
    epochs = ce.plan(dataset.n_samples, is_image=tensors.is_image).epochs
    return {
        REFERENCE: Detection(
            flagged,
            score,
            probabilities.argmax(1),
            int(flagged.sum()),
            history.seconds + time.perf_counter() - started,
            4 * dataset.n_samples * epochs,
            describe_device(device),
        )
    }
