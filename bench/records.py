"""Training records kept between benchmark runs, so a flagging rule can be re-scored on the
table's rows without training again.

A record is found by the fingerprint of its data and training options; it does not know the
code that made it, so a change to training calls for a fresh folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np

from formats import Dataset
from formats.options import Mode
from worker.engine import AuditConfig
from worker.engine.checkpoint import fingerprint
from worker.engine.tensors import TrainingTensors
from worker.engine.train import RecordedView, TrainingHistory, record_training


def recorded_training(
    dataset: Dataset, tensors: TrainingTensors, config: AuditConfig, *, folder: Path | None
) -> TrainingHistory:
    """:func:`record_training`'s history, read from ``folder`` when it holds one for this
    data and config, else recorded (and saved there when a folder is given)."""
    plan = config.plan(dataset.n_samples, is_image=tensors.is_image, image_side=_side(tensors))
    if folder is None:
        return record_training(tensors, plan, config)
    # "mean": records keep each view's window mean, not the window (worker.engine.history).
    path = folder / f"{fingerprint(dataset.features, dataset.labels, config)[:24]}.mean.npz"
    if path.exists():
        with np.load(path) as stored:
            views = tuple(
                RecordedView(
                    stored[f"given_{i}"],
                    stored[f"mean_{i}"],
                    int(stored[f"window_{i}"]),
                    float(stored[f"seconds_{i}"]),
                )
                for i in range(int(stored["views"]))
            )
            return TrainingHistory(views, _stored_mode(stored, plan.mode))
    history = record_training(tensors, plan, config)
    arrays: dict[str, Any] = {
        "views": np.array(len(history.views)),
        "mode": np.array(history.mode),
    }
    for i, view in enumerate(history.views):
        arrays[f"given_{i}"] = view.given_probability
        arrays[f"mean_{i}"] = view.window_mean
        arrays[f"window_{i}"] = np.array(view.window)
        arrays[f"seconds_{i}"] = np.array(view.seconds)
    folder.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(partial, **arrays)
    partial.replace(path)
    return history


def _side(tensors: TrainingTensors) -> int | None:
    return tensors.image_shape[1] if tensors.is_image else None


def _stored_mode(stored: Any, planned: Mode) -> Mode:
    """The mode a record was made in: stored, or in records made before it was, what the
    config plans (the fingerprint holds the config)."""
    return cast(Mode, str(stored["mode"])) if "mode" in stored else planned
