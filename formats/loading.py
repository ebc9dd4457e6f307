"""The entry points: detect a dataset's format, load it into a :class:`Dataset`, and read
one image back (checking one cheaply is :mod:`.checking`'s).

Every problem with the input is a :class:`DatasetError` that names the file and the row,
line, column or member, with a stable code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import numpy as np

from . import decoding, images, npz
from .dataset import Dataset, check_unique_ids
from .defaults import MAX_IMAGE_SIDE
from .errors import DatasetError
from .labels import encode_labels
from .limits import DEFAULT_LIMITS, Limits
from .tables import scan_table

# File name endings and the format each names; a directory is an image folder.
FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv.gz",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npz": "npz",
    ".zip": "zip",
}
FOLDER = "folder"


def detect_format(filename: str) -> str:
    """The format a file name names (``csv``, ``csv.gz``, ``parquet``, ``npz``, ``zip``),
    by its ending, whatever its case.

    Raises ``unsupported_format`` for any other name.
    """
    name = PurePosixPath(filename.replace("\\", "/")).name.lower()
    suffix = next((s for s in sorted(FORMATS, key=len, reverse=True) if name.endswith(s)), "")
    if not suffix:
        found = PurePosixPath(name).suffix or "(none)"
        what = f"unsupported file type {found!r}" if name else "a file without a name"
        raise DatasetError(
            f"{what}: send a .csv, .csv.gz, .parquet, .npz, or a .zip or folder of images",
            code="unsupported_format",
            formats=sorted(FORMATS),
        )
    return FORMATS[suffix]


def load_dataset(
    source: str | os.PathLike[str],
    *,
    label_column: str = "label",
    id_column: str = "id",
    image_size: int | None = None,
    max_image_side: int = MAX_IMAGE_SIDE["cpu"],
    cache_dir: str | os.PathLike[str] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    name: str | None = None,
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
        Side ``S`` images are resized to. When None: the median of all image widths and
        heights, rounded to a multiple of 4 and clipped to [16, ``max_image_side``];
        ``.npz`` images keep their size unless they are not square (then they are resized
        to their height).
    max_image_side : int
        The largest side chosen when ``image_size`` is None: see
        :data:`formats.defaults.MAX_IMAGE_SIDE` (the engine's ``max_image_side`` gives the
        one for the device that trains).
    cache_dir : path, optional
        Where decoded images are cached; a later load of the same unchanged files reuses
        the cache (a read-only memmap) without decoding.
    limits : Limits
    name : str, optional
        The file name that says the format and that errors give (default: ``source``'s),
        e.g. the name a user uploaded.

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
        For any problem with the input.
    """
    path = Path(source)
    name = path.name if name is None else name
    with naming(name):
        kind = format_of(path, name)
        if kind in ("zip", FOLDER):
            index = images.index_images(path, limits)
            class_names, labels = encode_labels(np.array(index.labels, dtype=str), limits)
            features = decoding.decode_images(
                index,
                image_size=image_size,
                max_side=max_image_side,
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
                originals=decoding.ImageSource(
                    index, limits, None if cache_dir is None else Path(cache_dir)
                ),
            )
        if kind == "npz":
            return _load_npz(path, image_size, limits)
        return _load_table(path, kind, label_column, id_column, limits)


def read_image_bytes(
    source: str | os.PathLike[str],
    image_path: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    max_bytes: int | None = None,
) -> bytes:
    """The raw bytes of one image of a zip archive or directory dataset.

    Parameters
    ----------
    source : path
        The ``.zip`` archive or directory given to :func:`load_dataset`.
    image_path : str
        One of the dataset's ``image_paths`` (relative, forward slashes).
    max_bytes : int, optional
        Refuse an image file larger than this (``image_too_large``).

    Raises
    ------
    DatasetError
        When the path is unsafe (absolute, ``..``), not an image, not in the dataset, or
        too large.
    """
    path = Path(source)
    with naming(path.name):
        if format_of(path, path.name) not in ("zip", FOLDER):
            raise DatasetError("not an image dataset (a .zip or a folder)", code="no_image")
        return images.read_member(path, image_path, limits=limits, max_bytes=max_bytes)


@contextmanager
def naming(name: str) -> Iterator[None]:
    """Errors raised inside name the file ``name``; an unreadable file is ``unreadable_file``."""
    try:
        yield
    except DatasetError as exc:
        raise exc.naming(name) from None
    except OSError as exc:
        raise DatasetError(
            f"cannot read: {exc.strerror or exc}", code="unreadable_file", file=name
        ) from None


def format_of(path: Path, name: str) -> str:
    """The format of ``path`` as ``name`` names it; refuses a missing or empty file."""
    if path.is_dir():
        return FOLDER
    kind = detect_format(name)
    if not path.exists():
        raise DatasetError("no such file or directory", code="not_found")
    if path.stat().st_size == 0:
        raise DatasetError("the file is empty", code="empty_upload")
    return kind


def row_of(i: int) -> dict[str, int]:
    """Where 0-based table row ``i`` is, as errors name it."""
    return {"row": i + 1}


def index_of(i: int) -> dict[str, int]:
    """Where array index ``i`` is, as errors name it."""
    return {"index": i}


def row_ids(first_row: int, rows: int) -> np.ndarray:
    """The ids of table rows without an id column: their 0-based numbers, as text."""
    return np.arange(first_row, first_row + rows).astype(str)


def _joined(blocks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(blocks) if blocks else np.array([], dtype=str)


def _load_table(
    path: Path, table_format: str, label_column: str, id_column: str, limits: Limits
) -> Dataset:
    columns, chunks = scan_table(
        path, table_format, label_column=label_column, id_column=id_column, limits=limits
    )
    blocks, labels, ids = [], [], []
    for chunk in chunks:
        blocks.append(chunk.features)
        labels.append(chunk.labels)
        ids.append(row_ids(chunk.first_row, len(chunk.labels)) if chunk.ids is None else chunk.ids)
    sample_ids = _joined(ids)
    check_unique_ids(sample_ids, row_of)
    class_names, codes = encode_labels(_joined(labels), limits)
    return Dataset(
        features=np.concatenate(blocks) if len(blocks) > 1 else blocks[0],
        labels=codes,
        class_names=class_names,
        sample_ids=sample_ids,
        kind="table",
        feature_names=tuple(columns.features),
    )


def _load_npz(path: Path, image_size: int | None, limits: Limits) -> Dataset:
    with npz.open_npz(path, limits) as (arrays, open_features), open_features() as handle:
        sample_ids = _joined(list(arrays.id_blocks()))
        text_labels = _joined(list(arrays.label_blocks()))
        check_unique_ids(sample_ids, index_of)
        class_names, labels = encode_labels(text_labels, limits)
        if arrays.kind == "table":
            blocks = list(npz.feature_blocks(arrays.features, handle))
            return Dataset(
                features=np.concatenate(blocks) if len(blocks) > 1 else blocks[0],
                labels=labels,
                class_names=class_names,
                sample_ids=sample_ids,
                kind="table",
                feature_names=tuple(f"x{j}" for j in range(arrays.features.shape[1])),
            )
        stack = npz.read_images(arrays.features, handle)
    height, width = stack.shape[1:3]
    size = image_size or height
    pixels = (
        np.ascontiguousarray(stack)
        if height == width == size
        else decoding.resize_images(stack, size)
    )
    return Dataset(
        features=pixels,
        labels=labels,
        class_names=class_names,
        sample_ids=sample_ids,
        kind="image",
    )
