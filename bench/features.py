"""A benchmark set's pretrained image features, computed once and kept under
``bench/.cache``: noise changes labels, not features, so every noise setting and method of a
row set reads the same file.

Each file holds the seconds the extraction took, which the methods that read the features
add to their own: a row's seconds are what an audit of that set costs from its images.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from formats import Dataset
from worker.engine.features import image_features


@dataclass(frozen=True)
class PretrainedFeatures:
    """``values`` ``(n, width)`` float32 of a ``backbone``, which took ``seconds``."""

    values: np.ndarray
    backbone: str
    seconds: float


def pretrained_features(
    dataset: Dataset, name: str, backbone: str, *, device: torch.device, cache_dir: Path
) -> PretrainedFeatures:
    """The features of ``dataset``'s images, read from ``cache_dir`` when it holds them.

    The file is named by the set's ``name``, its size and a digest of its sample ids (a
    subset drawn with another seed is another file). The engine's own per-image cache is
    bypassed, so that the seconds recorded are those of computing every image of the set.
    """
    digest = hashlib.sha256("\n".join(dataset.sample_ids.tolist()).encode()).hexdigest()[:12]
    path = cache_dir / f"features-{name}-{dataset.n_samples}-{backbone}-{digest}.npz"
    if path.exists():
        with np.load(path) as stored:
            return PretrainedFeatures(stored["values"], backbone, float(stored["seconds"]))
    uncached = dataset
    if dataset.originals is not None:
        uncached = dataclasses.replace(
            dataset, originals=dataclasses.replace(dataset.originals, cache_dir=None)
        )
    started = time.perf_counter()
    values = image_features(uncached, backbone, device=device)
    features = PretrainedFeatures(values, backbone, time.perf_counter() - started)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, values=values, seconds=np.array(features.seconds))
    partial.replace(path)
    return features


def feature_table(dataset: Dataset, features: PretrainedFeatures) -> Dataset:
    """``dataset`` with its images replaced by their features: the table a backbone's
    audit trains on."""
    return dataclasses.replace(
        dataset,
        features=features.values,
        kind="table",
        feature_names=tuple(f"{features.backbone}_{i}" for i in range(features.values.shape[1])),
        image_paths=(),
        originals=None,
    )
