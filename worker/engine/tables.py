"""Reading a CSV (optionally gzip-compressed) or Parquet table into a :class:`Dataset`,
streamed in chunks whose size bounds memory whatever the table's width."""

from __future__ import annotations

import csv
import gzip
import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .dataset import DataLimits, Dataset, DatasetError, encode_labels, float_strings

TABLE_FORMATS = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet"}
# Cells per chunk when streaming a table: bounds the memory of one chunk whatever its width.
_CHUNK_CELLS = 4_000_000
_LISTED_COLUMNS = 10


def read_table(path: Path, *, label_column: str, id_column: str, limits: DataLimits) -> Dataset:
    """A table of numeric feature columns, a label column and an optional id column."""
    suffix = next(s for s in TABLE_FORMATS if path.name.lower().endswith(s))
    read = _read_csv if TABLE_FORMATS[suffix] == "csv" else _read_parquet
    return _build_table(path.name, read(path, label_column, id_column, limits), limits)


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
    _check_width(name, len(columns), limits)
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


def _check_width(name: str, n_columns: int, limits: DataLimits) -> None:
    if n_columns > limits.max_columns:
        raise DatasetError(f"{name}: has {n_columns} columns; the limit is {limits.max_columns}")


def _chunk_rows(n_columns: int) -> int:
    return max(1, min(100_000, _CHUNK_CELLS // max(n_columns, 1)))


def _read_csv(path: Path, label_column: str, id_column: str, limits: DataLimits) -> _Table:
    try:
        # pandas takes minutes over a header of a million columns; the csv module does not.
        _check_width(path.name, _header_width(path), limits)
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


def _header_width(path: Path) -> int:
    compressed = path.name.lower().endswith(".gz")
    with gzip.open(path) if compressed else path.open("rb") as handle:
        first_line = handle.readline().decode("utf-8")
    return len(next(csv.reader([first_line]), []))


def _csv_chunks(path: Path, reader: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    try:
        while True:
            # A first row longer than the header only warns, and pandas drops its extra
            # fields; that is lost data, so it is an error here.
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                chunk = next(reader, None)
            if chunk is None:
                return
            yield chunk
    except (*_CSV_ERRORS, pd.errors.ParserWarning) as exc:
        raise _csv_error(path, exc) from exc


def _csv_error(path: Path, exc: Exception) -> DatasetError:
    name = path.name
    if isinstance(exc, UnicodeDecodeError):
        number = _first_non_utf8_line(path)
        return DatasetError(
            f"{name}: line {number} is not valid UTF-8 text; save the file as UTF-8"
        )
    if isinstance(exc, pd.errors.ParserWarning):
        return DatasetError(f"{name}: line 2 has more fields than the header")
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
    check_unique_ids(
        sample_ids,
        lambda first, second: (
            f"{name}: duplicate id {str(sample_ids[second])!r} in column "
            f"{table.id_column!r} at rows {first + 1} and {second + 1}"
        ),
    )
    class_names, codes = encode_labels(name, np.concatenate(labels))
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
    if values.dtype.kind == "f":
        return float_strings(values, lambda i: f"{name}: column {series.name!r} at row {i + 1}")
    return values.astype(str)


def check_unique_ids(values: np.ndarray, describe: Callable[[int, int], str]) -> None:
    """Raise ``describe(first, second)`` for the first id seen twice, at 0-based positions."""
    repeated = pd.Index(values).duplicated()
    if repeated.any():
        second = int(np.argmax(repeated))
        first = int(np.flatnonzero(values == values[second])[0])
        raise DatasetError(describe(first, second))
