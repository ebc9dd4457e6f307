"""The in-memory form of a labeled dataset, what every reader returns, and the sample ids'
rules."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from .errors import DatasetError, listing
from .labels import Locate
from .unique_ids import UniqueIds

if TYPE_CHECKING:
    from .decoding import ImageSource

Kind = Literal["table", "image"]


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
    originals : ImageSource or None
        For images read from files, where their original pixels are.
    """

    features: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    sample_ids: np.ndarray
    kind: Kind
    feature_names: tuple[str, ...] = ()
    image_paths: tuple[str, ...] = ()
    # Images read from a folder or zip: their original pixels, for what reads them at
    # another size than ``features`` (a pretrained backbone); None for arrays of pixels.
    originals: ImageSource | None = None

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
            raise DatasetError(
                f"relabel to unknown class(es): {listing(unknown, shown=str)}", code="unknown_class"
            )
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
class Summary:
    """What checking a dataset learns without keeping its features.

    Attributes
    ----------
    format : str
        ``csv``, ``csv.gz``, ``parquet``, ``npz``, ``zip`` or ``folder``.
    kind : {"table", "image"}
    class_counts : dict of str to int
        Samples per class, in class order. The sample ids are checked as they stream
        past and not kept.
    """

    format: str
    kind: Kind
    class_counts: dict[str, int]


# Ids hashed per block when the ids are already in memory (a loaded dataset).
_ID_BLOCK = 1 << 18


def check_unique_ids(ids: np.ndarray, locate: Locate) -> None:
    """Sample ids must be unique: reviews and exports name samples by them."""
    with UniqueIds() as unique:
        for start in range(0, len(ids), _ID_BLOCK):
            unique.add(ids[start : start + _ID_BLOCK])
        repeat = unique.first_repeat(lambda rows: {int(row): str(ids[row]) for row in rows})
    if repeat is not None:
        raise duplicate_id(*repeat, locate)


def duplicate_id(first: int, second: int, sample_id: str, locate: Locate) -> DatasetError:
    """The refusal of ``sample_id`` at 0-based positions ``first`` and ``second``."""
    (key, at_first), (_, at_second) = (*locate(first).items(), *locate(second).items())
    return DatasetError(
        f"id {sample_id!r} appears twice ({key} {at_first} and {at_second}); ids must be unique",
        code="duplicate_id",
        id=sample_id,
        positions=[at_first, at_second],
    )
