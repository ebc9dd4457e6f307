"""The in-memory form of a labeled dataset that the engine trains on, and the limits and
label encoding every loader shares."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, fields, replace
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


@dataclass(frozen=True)
class DataLimits:
    """Upper bounds that protect the worker from hostile or accidental huge inputs.

    Attributes
    ----------
    max_archive_bytes : int
        Total uncompressed size allowed for a zip archive (or ``.npz``).
    max_members : int
        Members of a zip archive, or files of a directory.
    max_ratio : float
        Largest compression ratio of one zip member over 1 MiB (zip-bomb defence).
    max_image_pixels : int
        Pixels of one image, checked from its header before it is decoded.
    max_columns : int
        Columns of a table, checked before its rows are read.
    max_rows : int
        Rows (samples) of a table or array.
    """

    max_archive_bytes: int = 8 * 2**30
    max_members: int = 1_000_000
    max_ratio: float = 200.0
    max_image_pixels: int = 50_000_000
    max_columns: int = 100_000
    max_rows: int = 50_000_000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
                raise ValueError(f"{field.name} must be a number >= 1; got {value!r}")


def encode_labels(name: str, values: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Map ``(n,)`` label strings to sorted class names and ``(n,)`` int64 indices."""
    names, inverse = np.unique(values, return_inverse=True)
    if all(re.fullmatch(r"-?\d+", str(n)) for n in names):
        order = np.argsort([int(n) for n in names], kind="stable")
    else:
        order = np.arange(names.size)
    rank = np.empty(names.size, np.int64)
    rank[order] = np.arange(names.size)
    class_names = tuple(str(names[i]) for i in order)
    labels = rank[inverse.reshape(-1)]
    if len(class_names) < 2:
        found = f"only class {class_names[0]!r}" if class_names else "no samples"
        raise DatasetError(f"{name}: {found}; an audit needs at least 2 classes")
    counts = np.bincount(labels, minlength=len(class_names))
    if counts.min() < 2:
        raise DatasetError(
            f"{name}: class {class_names[int(counts.argmin())]!r} has a single sample; "
            "each class needs at least 2"
        )
    return class_names, labels


def float_strings(values: np.ndarray, where: Callable[[int], str]) -> np.ndarray:
    """``(n,)`` float labels or ids as str, integral ones written as integers (``"3"``, as
    the same column would read from a CSV); ``where(i)`` names position i in an error."""
    invalid = ~np.isfinite(values)
    if invalid.any():
        i = int(np.argmax(invalid))
        raise DatasetError(f"{where(i)}: {values[i]} is not a valid label or id")
    if np.all(values == np.round(values)):
        return values.astype(np.int64).astype(str)
    return values.astype(str)
