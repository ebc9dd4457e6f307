"""The benchmark's datasets: scikit-learn's digits, Fashion-MNIST and NEU from ../shared."""

from __future__ import annotations

import dataclasses
import gzip
import os
from pathlib import Path

import numpy as np

from formats import Dataset, load_dataset

# ../shared/datasets beside the checkout, or where LABELAUDIT_DATASETS says (a GPU machine
# gets a copy carried with the working tree: bench/device_run.sh).
SHARED = Path(
    os.environ.get(
        "LABELAUDIT_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    )
)


def digits() -> Dataset:
    from sklearn.datasets import load_digits

    features, labels = load_digits(return_X_y=True)
    return Dataset(
        features=features.astype(np.float32),
        labels=labels.astype(np.int64),
        class_names=tuple(str(c) for c in range(10)),
        sample_ids=np.arange(labels.size).astype(str),
        kind="table",
    )


FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def fashion_mnist(limit: int | None, *, seed: int, split: str = "train") -> Dataset:
    """The ``train`` (or ``t10k``) set, or a random subset of ``limit`` of its images."""
    root = SHARED / "fashion-mnist"
    with gzip.open(root / f"{split}-images-idx3-ubyte.gz") as handle:
        images = np.frombuffer(handle.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
    with gzip.open(root / f"{split}-labels-idx1-ubyte.gz") as handle:
        labels = np.frombuffer(handle.read(), np.uint8, offset=8).astype(np.int64)
    index = np.arange(labels.size)
    if limit is not None and limit < labels.size:
        index = np.sort(np.random.default_rng(seed).permutation(labels.size)[:limit])
    return Dataset(
        features=np.ascontiguousarray(images[index]),
        labels=labels[index],
        class_names=FASHION_CLASSES,
        sample_ids=index.astype(str),
        kind="image",
    )


def neu(image_size: int, cache_dir: Path) -> Dataset:
    return load_dataset(SHARED / "neu-det", image_size=image_size, cache_dir=cache_dir)


def long_tailed(
    dataset: Dataset, *, ratio: float, seed: int, largest: int | None = None
) -> Dataset:
    """A class-imbalanced subset: class sizes decay geometrically from ``largest`` (default:
    the smallest class's size) to ``largest / ratio``, the first class the largest, as in a
    factory set with one "good" class and rarer defects."""
    counts = np.bincount(dataset.labels, minlength=dataset.n_classes)
    top = int(largest or counts.min())
    steps = np.arange(dataset.n_classes) / max(dataset.n_classes - 1, 1)
    sizes = np.maximum(2, np.round(top * ratio ** (-steps)).astype(int))
    return _per_class(dataset, sizes, seed=seed)


def stratified(dataset: Dataset, per_class: int, *, seed: int) -> Dataset:
    """A random subset of ``per_class`` samples of every class (all of a smaller class's)."""
    return _per_class(dataset, np.full(dataset.n_classes, per_class), seed=seed)


def _per_class(dataset: Dataset, sizes: np.ndarray, *, seed: int) -> Dataset:
    """A random ``sizes[c]`` samples of each class ``c``, in the dataset's order; each
    image keeps its path, so a backbone reads the subset's own originals."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(
        np.concatenate(
            [
                rng.permutation(np.flatnonzero(dataset.labels == c))[:size]
                for c, size in enumerate(sizes)
            ]
        )
    )
    return dataclasses.replace(
        dataset,
        features=np.ascontiguousarray(dataset.features[chosen]),
        labels=dataset.labels[chosen],
        sample_ids=dataset.sample_ids[chosen],
        image_paths=tuple(dataset.image_paths[i] for i in chosen) if dataset.image_paths else (),
    )
