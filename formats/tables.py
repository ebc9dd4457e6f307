"""CSV (optionally gzip-compressed) and Parquet tables: numeric feature columns, a label
column and an optional id column, read in chunks whose size bounds memory whatever the
table's width. :func:`scan_table` is the one reader; loading keeps the chunks, checking
only their labels and ids."""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .archives import open_gzip
from .columns import TableColumns, check_width, chunk_rows, split_columns
from .counting import too_many_rows
from .errors import DatasetError
from .labels import Locate, id_texts, label_texts, missing_label, number_texts
from .limits import Limits
from .parquet import read_parquet

# A BOM some editors write before the header is not part of the first column's name.
ENCODING = "utf-8-sig"
# Characters a header line may take per allowed column (a name up to MAX_LABEL_CHARS and its
# comma): the header is read before pandas, line by line, and one line with no end (a 4 GB
# file without a newline) must not be read whole.
LINE_CHARS_PER_COLUMN = 256


@dataclass(frozen=True)
class TableChunk:
    """Consecutive rows of a table, checked.

    Attributes
    ----------
    first_row : int
        0-based number of the chunk's first row.
    features : ndarray
        ``(m, d)`` float32, every value finite.
    labels : ndarray
        ``(m,)`` str class names (see :mod:`.labels`).
    ids : ndarray or None
        ``(m,)`` str sample ids, when the table has an id column.
    """

    first_row: int
    features: np.ndarray
    labels: np.ndarray
    ids: np.ndarray | None


def scan_table(
    path: Path, table_format: str, *, label_column: str, id_column: str, limits: Limits
) -> tuple[TableColumns, Iterator[TableChunk]]:
    """Check the columns of a table in ``table_format`` (``csv``, ``csv.gz`` or
    ``parquet``), then stream its rows.

    Returns the columns, known before any row is read, and the rows in checked chunks.
    """
    if table_format == "parquet":
        columns, frames = read_parquet(path, label_column, id_column, limits)
    else:
        columns, frames = _read_csv(path, table_format == "csv.gz", label_column, id_column, limits)
    return columns, _chunks(columns, frames, limits)


def _chunks(
    columns: TableColumns, frames: Iterator[pd.DataFrame], limits: Limits
) -> Iterator[TableChunk]:
    first_row = 0
    for frame in frames:
        if first_row + len(frame) > limits.max_rows:
            raise too_many_rows(limits)

        def row(i: int, start: int = first_row) -> dict[str, int]:
            return {"row": start + i + 1}

        # Labels first: a short row's missing label is its problem, not its shifted features.
        labels = _label_strings(frame[columns.label], row, "label")
        yield TableChunk(
            first_row=first_row,
            features=_feature_block(frame, columns.features, first_row),
            labels=labels,
            ids=None if columns.id is None else _label_strings(frame[columns.id], row, "id"),
        )
        first_row += len(frame)


def _label_strings(series: pd.Series, locate: Locate, what: str) -> np.ndarray:
    """A label or id column's values as text; a typed column's gaps are missing values."""
    absent = series.isna().to_numpy()
    if absent.any():
        raise missing_label(locate(int(np.argmax(absent))), what=what)
    values = series.to_numpy()
    if values.dtype.kind in "biuf":
        return number_texts(values, locate)
    return label_texts(values, locate) if what == "label" else id_texts(values, locate)


def _read_csv(
    path: Path, gzipped: bool, label_column: str, id_column: str, limits: Limits
) -> tuple[TableColumns, Iterator[pd.DataFrame]]:
    source: IO[bytes] | None = None
    try:
        header = _check_header(path, gzipped, limits)
        columns = split_columns(header, label_column, id_column, limits)
        source = _open_bytes(path, gzipped, limits)
        reader = pd.read_csv(
            source,
            chunksize=chunk_rows(len(header)),
            index_col=False,
            encoding=ENCODING,
            # Labels and ids are text as written: "NA" or "null" is a class, not a gap.
            keep_default_na=False,
            dtype={c: str for c in (columns.label, columns.id) if c is not None},
        )
    except _CSV_ERRORS as exc:
        if source is not None:
            source.close()
        raise _csv_error(path, gzipped, limits, exc) from None
    return columns, _csv_frames(path, gzipped, limits, source, reader)


_CSV_ERRORS = (
    UnicodeDecodeError,
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
    csv.Error,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
)


def _open_bytes(path: Path, gzipped: bool, limits: Limits) -> IO[bytes]:
    """The CSV's bytes; a gzip's within the expanded-size limits (see :func:`open_gzip`)."""
    return open_gzip(path, limits) if gzipped else path.open("rb")


def _check_header(path: Path, gzipped: bool, limits: Limits) -> list[str]:
    """The header's column names, counted before pandas reads it (pandas takes minutes over
    a million columns); and the first row may not have more fields than the header, which
    pandas would silently take for a row name."""
    raw = _open_bytes(path, gzipped, limits)
    with io.TextIOWrapper(raw, encoding=ENCODING, newline="") as handle:
        reader = csv.reader(_bounded_lines(handle, limits.max_columns * LINE_CHARS_PER_COLUMN))
        header = next(reader, None)
        if header is None:
            raise DatasetError("the file has no header row", code="unreadable_table")
        check_width(len(header), limits)
        first = next(reader, None)
        if first is not None and len(first) > len(header):
            raise ragged(reader.line_num, len(first), len(header))
    return header


def _bounded_lines(handle: IO[str], limit: int) -> Iterator[str]:
    """``handle``'s lines, refusing (``unreadable_table``) one over ``limit`` characters
    once that many are read, not after the whole of it."""
    number = 0
    while line := handle.readline(limit + 1):
        number += 1
        if len(line) > limit:
            raise DatasetError(
                f"line {number} is over {limit:,} characters (at most "
                f"{LINE_CHARS_PER_COLUMN} a column for {limit // LINE_CHARS_PER_COLUMN:,} "
                "columns); is it a CSV file?",
                code="unreadable_table",
                line=number,
            )
        yield line


def ragged(line: int, fields: int, expected: int) -> DatasetError:
    return DatasetError(
        f"line {line} has {fields} fields but the header has {expected}",
        code="ragged_rows",
        line=line,
    )


def _csv_frames(
    path: Path, gzipped: bool, limits: Limits, source: IO[bytes], reader: Iterator[pd.DataFrame]
) -> Iterator[pd.DataFrame]:
    try:
        yield from reader
    except _CSV_ERRORS as exc:
        raise _csv_error(path, gzipped, limits, exc) from None
    finally:
        source.close()


def _csv_error(path: Path, gzipped: bool, limits: Limits, exc: Exception) -> DatasetError:
    if isinstance(exc, UnicodeDecodeError):
        line = _first_non_utf8_line(path, gzipped, limits)
        return DatasetError(
            f"line {line} is not UTF-8 text; save the file as UTF-8",
            code="unreadable_table",
            line=line,
        )
    if isinstance(exc, pd.errors.ParserError):
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            expected, line, saw = (int(group) for group in found.groups())
            return ragged(line, saw, expected)
        message = str(exc).strip().removeprefix("Error tokenizing data. C error: ")
        return DatasetError(f"cannot read the CSV: {message}", code="unreadable_table")
    if isinstance(exc, pd.errors.EmptyDataError | csv.Error):
        return DatasetError(f"cannot read the CSV: {exc}", code="unreadable_table")
    return DatasetError(
        f"cannot read the CSV: not a valid gzip file ({exc})", code="unreadable_table"
    )


def _first_non_utf8_line(path: Path, gzipped: bool, limits: Limits) -> int:
    """The 1-based number of the first line that is not UTF-8 (1 when none is found)."""
    with _open_bytes(path, gzipped, limits) as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _feature_block(frame: pd.DataFrame, columns: list[str], first_row: int) -> np.ndarray:
    """The ``(m, d)`` float32 features of one chunk; any cell that is not a finite number
    (empty, text, NaN, infinite, too large for float32) is an error naming its row."""
    subset = frame[columns]
    numeric = [pd.api.types.is_numeric_dtype(subset[c]) for c in columns]
    if not all(numeric):
        subset = subset.apply(lambda s: pd.to_numeric(s.astype(object), errors="coerce"))
    with np.errstate(over="ignore", invalid="ignore"):
        block = subset.to_numpy(dtype=np.float32, na_value=np.nan)
    check_finite(block, columns, first_row)
    return block


def check_finite(block: np.ndarray, columns: list[str], first_row: int) -> None:
    """Refuse the first non-finite value of an ``(m, d)`` block whose rows start at
    0-based ``first_row``."""
    finite = np.isfinite(block)
    if not finite.all():
        row, col = (int(i) for i in np.argwhere(~finite)[0])
        raise not_finite(first_row + row, columns[col])


def not_finite(row: int, column: str) -> DatasetError:
    """The refusal of the feature at 0-based ``row`` of ``column``."""
    return DatasetError(
        f"row {row + 1}, column {column!r}: the feature is missing, not a number or infinite",
        code="bad_feature",
        row=row + 1,
        column=column,
    )
