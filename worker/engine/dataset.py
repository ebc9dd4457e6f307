"""The in-memory form of a labeled dataset that the engine trains on."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np


class DatasetError(ValueError):
    """The dataset cannot be audited; the message names the file, row or image and the problem."""


@dataclass(frozen=True)
class Dataset:
    """A labeled dataset as arrays.

    Attributes
    ----------
    features : ndarray
        ``(n, d)`` float32 for tables and embeddings; ``(n, H, W, C)`` uint8 for images
        (possibly a read-only memmap of the decoded-image cache).
    labels : ndarray
        ``(n,)`` int64, indices into ``class_names``.
    class_names : tuple of str
        The user's class names, sorted; ``labels`` index into it.
    sample_ids : ndarray
        ``(n,)`` str: the id column, the image path, or the row number.
    kind : {"table", "image"}
    feature_names : tuple of str
        Column names for tables; empty for images.
    image_paths : tuple of str
        For images, each sample's path inside the archive or directory (for thumbnails).
    """

    features: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    sample_ids: np.ndarray
    kind: Literal["table", "image"]
    feature_names: tuple[str, ...] = ()
    image_paths: tuple[str, ...] = ()

    @property
    def n_samples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def with_corrections(self, relabel: Mapping[str, str], exclude: Set[str]) -> Dataset:
        """Return a copy with some labels replaced and some samples dropped.

        Parameters
        ----------
        relabel : mapping of sample id to class name
            New labels; each name must be one of ``class_names``.
        exclude : set of sample ids
            Samples to leave out.
        """
        index = {name: i for i, name in enumerate(self.class_names)}
        unknown = sorted({name for name in relabel.values() if name not in index})
        if unknown:
            raise DatasetError(f"relabel to unknown class(es): {', '.join(unknown)}")
        ids = self.sample_ids.astype(str)
        labels = self.labels.copy()
        for position, sample_id in enumerate(ids):
            new = relabel.get(sample_id)
            if new is not None:
                labels[position] = index[new]
        keep = np.array([sample_id not in exclude for sample_id in ids], dtype=bool)
        paths = tuple(p for p, kept in zip(self.image_paths, keep, strict=False) if kept)
        return replace(
            self,
            features=self.features[keep] if not keep.all() else self.features,
            labels=labels[keep],
            sample_ids=self.sample_ids[keep],
            image_paths=paths,
        )
