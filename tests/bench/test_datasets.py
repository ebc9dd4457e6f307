"""The benchmark's subsets: stratified and long-tailed draws keep each image's path."""

from __future__ import annotations

import numpy as np

from bench.datasets import long_tailed, stratified
from formats import Dataset


def _images(per_class: tuple[int, ...]) -> Dataset:
    labels = np.repeat(np.arange(len(per_class)), per_class)
    paths = tuple(f"class{label}/image{i}.png" for i, label in enumerate(labels))
    return Dataset(
        features=np.arange(labels.size, dtype=np.uint8).reshape(-1, 1, 1, 1),
        labels=labels.astype(np.int64),
        class_names=tuple(f"class{c}" for c in range(len(per_class))),
        sample_ids=np.array(paths),
        kind="image",
        image_paths=paths,
    )


def test_stratified_draws_per_class_with_the_seed() -> None:
    data = _images((30, 30, 8))
    subset = stratified(data, 10, seed=7)
    assert np.bincount(subset.labels).tolist() == [10, 10, 8]
    assert subset.image_paths == tuple(subset.sample_ids)
    assert np.array_equal(data.labels[subset.features.ravel()], subset.labels)
    assert np.array_equal(stratified(data, 10, seed=7).sample_ids, subset.sample_ids)
    assert not np.array_equal(stratified(data, 10, seed=8).sample_ids, subset.sample_ids)


def test_long_tailed_keeps_the_paths_of_its_images() -> None:
    subset = long_tailed(_images((40, 40, 40)), ratio=20, seed=7)
    assert np.bincount(subset.labels).tolist() == [40, 9, 2]
    assert subset.image_paths == tuple(subset.sample_ids)
