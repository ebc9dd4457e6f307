"""Loading a user's dataset file into a :class:`Dataset`.

Tables come from CSV (optionally gzip-compressed) or Parquet, arrays from ``.npz``, and
images from a zip archive or a directory (see :mod:`.images`). Every problem with the input
is a :class:`DatasetError` whose message names the file, row, column or image.
"""

from __future__ import annotations

import gzip
import os
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import images
from .dataset import Dataset, DatasetError

__all__ = ["DataLimits", "load_dataset", "read_image_bytes"]

_TABLE_FORMATS = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet"}
_ACCEPTED = ".csv, .csv.gz, .parquet, .pq, .npz, .zip or a directory of images"
# Cells per chunk when streaming a table: bounds the memory of one chunk whatever its width.
_CHUNK_CELLS = 4_000_000
_LISTED_COLUMNS = 10


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
        suffix = next((s for s in (".csv.gz", *_TABLE_FORMATS) if name.endswith(s)), path.suffix)
        if suffix not in (*_TABLE_FORMATS, ".npz", ".zip"):
            raise DatasetError(
                f"{path.name}: unsupported file type {suffix.lower() or '(none)'!r}; "
                f"accepted: {_ACCEPTED}"
            )
        if path.stat().st_size == 0:
            raise DatasetError(f"{path.name}: file is empty")
        if suffix == ".zip":
            return _load_images(path, image_size, cache_dir, limits)
        if suffix == ".npz":
            return _load_npz(path, image_size, limits)
        read = _read_csv if _TABLE_FORMATS[suffix] == "csv" else _read_parquet
        return _build_table(path.name, read(path, label_column, id_column, limits), limits)
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
    class_names, labels = _encode_labels(path.name, np.array(index.labels, dtype=str))
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


def _encode_labels(name: str, values: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
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


@dataclass(frozen=True)
class _Table:
    """A table's columns, known before any row is read, and its rows in chunks.

    Each chunk's index holds the 0-based row numbers of its rows.
    """

    feature_columns: list[str]
    label_column: str
    id_column: str | None
    chunks: Iterator[pd.DataFrame]


def _split_columns(
    name: str, columns: list[str], label_column: str, id_column: str, limits: DataLimits
) -> tuple[list[str], str | None]:
    if len(columns) > limits.max_columns:
        raise DatasetError(f"{name}: has {len(columns)} columns; the limit is {limits.max_columns}")
    if label_column not in columns:
        listed = ", ".join(columns[:_LISTED_COLUMNS])
        more = (
            f" and {len(columns) - _LISTED_COLUMNS} more" if len(columns) > _LISTED_COLUMNS else ""
        )
        raise DatasetError(
            f"{name}: no label column {label_column!r}; the columns are: {listed}{more}"
        )
    ids = id_column if id_column in columns and id_column != label_column else None
    features = [c for c in columns if c not in (label_column, ids)]
    if not features:
        raise DatasetError(f"{name}: no feature columns besides {label_column!r}")
    return features, ids


def _chunk_rows(n_columns: int) -> int:
    return max(1, min(100_000, _CHUNK_CELLS // max(n_columns, 1)))


def _read_csv(path: Path, label_column: str, id_column: str, limits: DataLimits) -> _Table:
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8")
        columns = [str(c) for c in header.columns]
        features, ids = _split_columns(path.name, columns, label_column, id_column, limits)
        reader = pd.read_csv(
            path,
            chunksize=_chunk_rows(len(columns)),
            index_col=False,
            encoding="utf-8",
            dtype={c: str for c in (label_column, ids) if c is not None},
        )
    except _CSV_ERRORS as exc:
        raise _csv_error(path, exc) from exc
    return _Table(features, label_column, ids, _csv_chunks(path, reader))


_CSV_ERRORS = (
    UnicodeDecodeError,
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
)


def _csv_chunks(path: Path, reader: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    try:
        yield from reader
    except _CSV_ERRORS as exc:
        raise _csv_error(path, exc) from exc


def _csv_error(path: Path, exc: Exception) -> DatasetError:
    name = path.name
    if isinstance(exc, UnicodeDecodeError):
        number = _first_non_utf8_line(path)
        return DatasetError(
            f"{name}: line {number} is not valid UTF-8 text; save the file as UTF-8"
        )
    if isinstance(exc, pd.errors.EmptyDataError):
        return DatasetError(f"{name}: no header row; the file has no columns")
    if isinstance(exc, pd.errors.ParserError):
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if ragged:
            expected, line, saw = ragged.groups()
            return DatasetError(
                f"{name}: line {line} has {saw} fields but the header has {expected}"
            )
        return DatasetError(f"{name}: cannot parse as CSV: {str(exc).strip()}")
    return DatasetError(f"{name}: not a valid gzip file ({exc})")


def _first_non_utf8_line(path: Path) -> int:
    """The 1-based number of the first line that is not UTF-8 (0 when none is found)."""
    compressed = path.name.lower().endswith(".gz")
    with gzip.open(path) if compressed else path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _read_parquet(path: Path, label_column: str, id_column: str, limits: DataLimits) -> _Table:
    try:
        parquet = pq.ParquetFile(path)
    except pa.ArrowException as exc:
        raise DatasetError(f"{path.name}: not a valid Parquet file ({exc})") from exc
    schema = parquet.schema_arrow
    # A pandas index saved as a column is bookkeeping, not a feature.
    saved_index = (schema.pandas_metadata or {}).get("index_columns", [])
    index_columns = {c for c in saved_index if isinstance(c, str)}
    columns = [c for c in schema.names if c not in index_columns]
    features, ids = _split_columns(path.name, columns, label_column, id_column, limits)
    wanted = [*features, label_column, *([ids] if ids else [])]
    return _Table(
        features, label_column, ids, _parquet_chunks(path.name, parquet, wanted, len(columns))
    )


def _parquet_chunks(
    name: str, parquet: pq.ParquetFile, columns: list[str], n_columns: int
) -> Iterator[pd.DataFrame]:
    start = 0
    try:
        for batch in parquet.iter_batches(batch_size=_chunk_rows(n_columns), columns=columns):
            frame = batch.to_pandas()
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield frame
    except pa.ArrowException as exc:
        raise DatasetError(f"{name}: corrupt Parquet data ({exc})") from exc
    finally:
        parquet.close()


def _build_table(name: str, table: _Table, limits: DataLimits) -> Dataset:
    blocks: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    rows = 0
    for frame in table.chunks:
        rows += len(frame)
        if rows > limits.max_rows:
            raise DatasetError(f"{name}: more than {limits.max_rows} rows")
        blocks.append(_feature_block(name, frame, table.feature_columns))
        labels.append(_column_strings(name, frame[table.label_column]))
        if table.id_column is not None:
            ids.append(_column_strings(name, frame[table.id_column]))
    if rows == 0:
        raise DatasetError(f"{name}: no data rows")
    sample_ids = np.concatenate(ids) if ids else np.arange(rows).astype(str)
    duplicate = _first_duplicate(sample_ids)
    if duplicate is not None:
        first, second = duplicate
        raise DatasetError(
            f"{name}: duplicate id {str(sample_ids[second])!r} in column {table.id_column!r} "
            f"at rows {first + 1} and {second + 1}"
        )
    class_names, codes = _encode_labels(name, np.concatenate(labels))
    return Dataset(
        features=np.concatenate(blocks) if len(blocks) > 1 else blocks[0],
        labels=codes,
        class_names=class_names,
        sample_ids=sample_ids,
        kind="table",
        feature_names=tuple(table.feature_columns),
    )


def _feature_block(name: str, frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The ``(rows, d)`` float32 features of one chunk; any non-finite cell is an error."""
    subset = frame[columns]
    for column in columns:
        if not pd.api.types.is_numeric_dtype(subset[column]):
            subset[column] = _to_numbers(name, frame[column])
    with np.errstate(over="ignore", invalid="ignore"):
        block = subset.to_numpy(dtype=np.float32, na_value=np.nan)
    finite = np.isfinite(block)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        what = "a missing value" if np.isnan(block[row, col]) else "an infinite or too large value"
        raise DatasetError(
            f"{name}: column {columns[col]!r} has {what} at row {frame.index[row] + 1}"
        )
    return block


def _to_numbers(name: str, series: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(series.astype(object), errors="coerce")
    stray = numbers.isna().to_numpy() & series.notna().to_numpy()
    if stray.any():
        i = int(np.argmax(stray))
        raise DatasetError(
            f"{name}: column {series.name!r} has a non-numeric value {series.iloc[i]!r} "
            f"at row {series.index[i] + 1}"
        )
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _column_strings(name: str, series: pd.Series) -> np.ndarray:
    """A label or id column as ``(rows,)`` str, integral floats written as integers."""
    missing = series.isna().to_numpy()
    if missing.any():
        row = series.index[int(np.argmax(missing))] + 1
        raise DatasetError(f"{name}: column {series.name!r} is empty at row {row}")
    values = series.to_numpy()
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    return values.astype(str)


def _first_duplicate(values: np.ndarray) -> tuple[int, int] | None:
    """Positions of the first value seen twice and of its first occurrence, if any."""
    repeated = pd.Index(values).duplicated()
    if not repeated.any():
        return None
    second = int(np.argmax(repeated))
    first = int(np.flatnonzero(values == values[second])[0])
    return first, second


def _load_npz(path: Path, image_size: int | None, limits: DataLimits) -> Dataset:
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            images.check_zip_members(archive.infolist(), name, limits)
        with np.load(path, allow_pickle=False) as arrays:
            found = ", ".join(arrays.files) or "none"
            for required in ("X", "y"):
                if required not in arrays.files:
                    raise DatasetError(f"{name}: no array {required!r}; the arrays are: {found}")
            x = _npz_array(name, arrays, "X")
            y = _npz_array(name, arrays, "y")
            ids = _npz_array(name, arrays, "ids") if "ids" in arrays.files else None
    except (zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{name}: not a valid .npz archive ({exc})") from exc
    if y.ndim != 1:
        raise DatasetError(f"{name}: array 'y' must be 1-D (n,); got shape {y.shape}")
    if x.ndim == 0 or x.shape[0] != y.shape[0]:
        raise DatasetError(f"{name}: array 'X' has shape {x.shape} but 'y' has {y.shape[0]} labels")
    if y.shape[0] > limits.max_rows:
        raise DatasetError(f"{name}: more than {limits.max_rows} rows")
    if ids is None:
        sample_ids = np.arange(y.shape[0]).astype(str)
    elif ids.shape != y.shape:
        raise DatasetError(f"{name}: array 'ids' has shape {ids.shape}; expected {y.shape}")
    else:
        sample_ids = _array_strings(name, ids, "ids")
    duplicate = _first_duplicate(sample_ids)
    if duplicate is not None:
        first, second = duplicate
        raise DatasetError(
            f"{name}: duplicate id {str(sample_ids[second])!r} in 'ids' "
            f"at indices {first} and {second}"
        )
    class_names, labels = _encode_labels(name, _array_strings(name, y, "y"))
    if x.ndim == 2:
        return Dataset(
            features=_npz_table(name, x),
            labels=labels,
            class_names=class_names,
            sample_ids=sample_ids,
            kind="table",
            feature_names=tuple(f"x{j}" for j in range(x.shape[1])),
        )
    return Dataset(
        features=_npz_images(name, x, image_size),
        labels=labels,
        class_names=class_names,
        sample_ids=sample_ids,
        kind="image",
    )


def _npz_array(name: str, arrays: Any, key: str) -> np.ndarray:
    try:
        return np.asarray(arrays[key])
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DatasetError(
                f"{name}: array {key!r} contains pickled objects, which are not loaded"
            ) from exc
        raise DatasetError(f"{name}: array {key!r} is not a valid .npy array ({exc})") from exc


def _npz_table(name: str, x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"{name}: array 'X' must be numeric; got dtype {x.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        features = x.astype(np.float32)
    finite = np.isfinite(features)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise DatasetError(f"{name}: array 'X' has a NaN or infinite value at X[{row}, {col}]")
    return features


def _npz_images(name: str, x: np.ndarray, image_size: int | None) -> np.ndarray:
    """``(n, H, W)`` or ``(n, H, W, C)`` uint8 as ``(n, S, S, C)``, C 1 or 3."""
    if x.ndim not in (3, 4) or x.dtype != np.uint8:
        raise DatasetError(
            f"{name}: array 'X' must be (n, d) numbers or (n, H, W[, C]) uint8 images; "
            f"got shape {x.shape} and dtype {x.dtype}"
        )
    stack = x[..., None] if x.ndim == 3 else x
    height, width, channels = stack.shape[1:]
    if channels not in (1, 3):
        raise DatasetError(f"{name}: images need 1 or 3 channels; got {channels}")
    size = image_size or height
    if height == width == size:
        return np.ascontiguousarray(stack)
    return images.resize_images(stack, size)


def _array_strings(name: str, values: np.ndarray, key: str) -> np.ndarray:
    """A ``(n,)`` label or id array as str, integral floats written as integers."""
    kind = values.dtype.kind
    if kind == "f":
        missing = np.isnan(values)
        if missing.any():
            raise DatasetError(f"{name}: array {key!r} has NaN at index {int(np.argmax(missing))}")
        if np.all(values == np.round(values)):
            return values.astype(np.int64).astype(str)
    elif kind == "S":
        try:
            return np.char.decode(values, "utf-8").astype(str)
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{name}: array {key!r} holds bytes that are not UTF-8") from exc
    elif kind not in "biuU":
        raise DatasetError(
            f"{name}: array {key!r} must hold integers or strings; got dtype {values.dtype}"
        )
    return values.astype(str)
