"""Loading a user's dataset file into a :class:`Dataset`.

Tables come from CSV (optionally gzip-compressed) or Parquet (see :mod:`.tables`), arrays
from ``.npz`` (:mod:`.npz`), and images from a zip archive or a directory (:mod:`.images`).
Every problem with the input is a :class:`DatasetError` whose message names the file, row,
column or image.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import images
from .dataset import DataLimits, Dataset, DatasetError, encode_labels
from .npz import load_npz
from .tables import TABLE_FORMATS, read_table

__all__ = ["DataLimits", "load_dataset", "read_image_bytes"]

_ACCEPTED = ".csv, .csv.gz, .parquet, .pq, .npz, .zip or a directory of images"


def load_dataset(
    source: str | os.PathLike[str],
    *,
    label_column: str = "label",
    id_column: str = "id",
    image_size: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    limits: DataLimits = DataLimits(),  # noqa: B008 - frozen, so a shared default is safe
) -> Dataset:
    """Load a labeled dataset from a file or directory.

    Parameters
    ----------
    source : path
        ``.csv`` / ``.csv.gz`` / ``.parquet`` / ``.pq`` table with numeric feature columns,
        a label column and an optional id column; ``.npz`` with arrays ``X``, ``y`` and
        optional ``ids``; or a ``.zip`` archive or directory of images, one folder per class
        or with a ``labels.csv`` (columns ``path,label``).
    label_column, id_column : str
        Table columns holding the labels and the sample ids. Without an id column a
        sample's id is its 0-based row index.
    image_size : int, optional
        Side ``S`` images are resized to (8..512). When None: the median of all image widths
        and heights, rounded to a multiple of 4 and clipped to [16, 64]; ``.npz`` images keep
        their size unless they are not square (then they are resized to their height).
    cache_dir : path, optional
        Where decoded images are cached; a later load of the same unchanged files reuses
        the cache (a read-only memmap) without decoding.
    limits : DataLimits

    Returns
    -------
    Dataset
        Tables: ``features`` ``(n, d)`` float32, ``kind="table"``. Images: ``features``
        ``(n, S, S, C)`` uint8 with ``C`` 1 (grayscale) or 3 (RGB), ``kind="image"``, the
        member paths as ``sample_ids`` and ``image_paths``. ``class_names`` are sorted
        (numerically when all are integers).

    Raises
    ------
    DatasetError
        For any problem with the input; the message names the file, row, column or image.
    """
    path = Path(source)
    if image_size is not None and not 8 <= image_size <= 512:
        raise DatasetError(f"image_size must be between 8 and 512; got {image_size}")
    try:
        if path.is_dir():
            return _load_images(path, image_size, cache_dir, limits)
        if not path.exists():
            raise DatasetError(f"{path.name}: no such file or directory")
        name = path.name.lower()
        suffix = next((s for s in (".csv.gz", *TABLE_FORMATS) if name.endswith(s)), path.suffix)
        if suffix not in (*TABLE_FORMATS, ".npz", ".zip"):
            raise DatasetError(
                f"{path.name}: unsupported file type {suffix.lower() or '(none)'!r}; "
                f"accepted: {_ACCEPTED}"
            )
        if path.stat().st_size == 0:
            raise DatasetError(f"{path.name}: file is empty")
        if suffix == ".zip":
            return _load_images(path, image_size, cache_dir, limits)
        if suffix == ".npz":
            return load_npz(path, image_size, limits)
        return read_table(path, label_column=label_column, id_column=id_column, limits=limits)
    except OSError as exc:
        raise DatasetError(f"{path.name}: cannot read: {exc.strerror or exc}") from exc


def read_image_bytes(
    source: str | os.PathLike[str],
    image_path: str,
    *,
    limits: DataLimits = DataLimits(),  # noqa: B008 - frozen, so a shared default is safe
) -> bytes:
    """Return the raw bytes of one image of a zip archive or directory dataset.

    Parameters
    ----------
    source : path
        The ``.zip`` archive or directory given to :func:`load_dataset`.
    image_path : str
        One of the dataset's ``image_paths`` (relative, forward slashes).

    Raises
    ------
    DatasetError
        When the path is unsafe (absolute, ``..``), not an image, or not in the dataset.
    """
    path = Path(source)
    if not path.is_dir() and path.suffix.lower() != ".zip":
        raise DatasetError(f"{path.name}: not an image dataset (a .zip or a directory)")
    try:
        return images.read_member(path, image_path, limits)
    except OSError as exc:
        raise DatasetError(f"{path.name}: cannot read {image_path}: {exc.strerror or exc}") from exc


def _load_images(
    path: Path,
    image_size: int | None,
    cache_dir: str | os.PathLike[str] | None,
    limits: DataLimits,
) -> Dataset:
    index = images.index_images(path, limits)
    class_names, labels = encode_labels(path.name, np.array(index.labels, dtype=str))
    features = images.decode_images(
        index,
        image_size=image_size,
        cache_dir=None if cache_dir is None else Path(cache_dir),
        limits=limits,
    )
    return Dataset(
        features=features,
        labels=labels,
        class_names=class_names,
        sample_ids=np.array(index.paths, dtype=str),
        kind="image",
        image_paths=index.paths,
    )
