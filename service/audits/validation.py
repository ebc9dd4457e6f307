"""The checks an upload gets while its request is open, so that bad data answers 422.

They read the stored file in a streaming way (chunks of rows, one image at a time) and
mirror the engine's rules without importing it (the API carries no torch): a label column
with at least two classes and no single-sample class, numeric finite features, readable
images of one mode, a safe archive. Anything they miss fails the audit on the worker with
the engine's message.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InvalidInput
from .archives import UploadLimits, check_image_archive, check_members
from .models import MAX_LABEL_CHARS, MAX_SAMPLE_ID_CHARS

FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv.gz",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npz": "npz",
    ".zip": "zip",
}
CSV_CHUNK_ROWS = 50_000
NPY_CHUNK_BYTES = 16 * 1024 * 1024


class NpyHeader(NamedTuple):
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype[Any]


@dataclass(frozen=True)
class UploadFacts:
    """What the checks learned: the kind of dataset and its classes."""

    dataset_kind: str
    class_counts: dict[str, int]


def upload_format(filename: str) -> str:
    if "\0" in filename:
        raise InvalidInput(f"the file name {filename!r} holds a NUL character", code="bad_filename")
    name = PurePosixPath(filename.replace("\\", "/")).name.lower()
    suffix = next((s for s in sorted(FORMATS, key=len, reverse=True) if name.endswith(s)), "")
    if not suffix:
        raise InvalidInput(
            f"cannot audit {filename or 'a file without a name'!r}: send a .csv, .csv.gz, "
            ".parquet, .npz or a .zip of images",
            code="unsupported_format",
            details={"filename": filename, "formats": sorted(FORMATS)},
        )
    return FORMATS[suffix]


def inspect_upload(
    path: Path, upload_kind: str, *, label_column: str, id_column: str, limits: UploadLimits
) -> UploadFacts:
    """Check a stored upload; raise :class:`InvalidInput` naming the first problem."""
    if path.stat().st_size == 0:
        raise InvalidInput("the uploaded file is empty", code="empty_upload")
    if upload_kind in ("csv", "csv.gz"):
        compression = "gzip" if upload_kind == "csv.gz" else None
        counts = _check_csv(path, label_column, id_column, compression, limits.max_columns)
    elif upload_kind == "parquet":
        counts = _check_parquet(path, label_column, id_column, limits.max_columns)
    elif upload_kind == "npz":
        counts, kind = _check_npz(path, limits)
        return UploadFacts(kind, check_class_counts(counts))
    else:
        return UploadFacts("image", check_class_counts(check_image_archive(path, limits)))
    return UploadFacts("table", check_class_counts(counts))


def check_class_counts(counts: Counter[str]) -> dict[str, int]:
    for name in counts:
        _check_storable(name, "class name", MAX_LABEL_CHARS)
    if len(counts) < 2:
        found = ", ".join(repr(name) for name in counts) or "none"
        raise InvalidInput(
            f"an audit needs at least 2 classes; the labels hold {found}",
            code="too_few_classes",
            details={"classes": dict(counts)},
        )
    single = sorted(name for name, n in counts.items() if n < 2)
    if single:
        raise InvalidInput(
            f"class(es) {', '.join(repr(name) for name in single)} have a single sample; "
            "each class needs 2 or more",
            code="single_sample_class",
            details={"classes": single},
        )
    return dict(sorted(counts.items()))


def _check_storable(value: str, what: str, max_chars: int) -> None:
    """The database stores no NUL character, and labels and ids have a length limit."""
    if "\0" in value:
        raise InvalidInput(f"the {what} {value!r} holds a NUL character", code="bad_text")
    if len(value) > max_chars:
        raise InvalidInput(
            f"the {what} {value[:40]!r}... is over {max_chars} characters", code="bad_text"
        )


def _too_many_columns(count: int, max_columns: int) -> InvalidInput:
    return InvalidInput(
        f"the table has {count} columns, over the limit of {max_columns}",
        code="too_many_columns",
        details={"columns": count, "limit": max_columns},
    )


def _ragged(line: int, fields: int, expected: int) -> InvalidInput:
    return InvalidInput(
        f"line {line} has {fields} fields but the header has {expected}",
        code="ragged_rows",
        details={"line": line},
    )


def _missing_label(label_column: str, columns: list[str]) -> InvalidInput:
    shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    return InvalidInput(
        f"no label column {label_column!r}; the columns are: {shown} (set config label_column)",
        code="missing_label_column",
        details={"label_column": label_column, "columns": columns[:100]},
    )


def _no_features() -> InvalidInput:
    return InvalidInput(
        "the table has no feature columns besides the label and id", code="no_features"
    )


def _check_csv(
    path: Path, label_column: str, id_column: str, compression: str | None, max_columns: int
) -> Counter[str]:
    counts: Counter[str] = Counter()
    ids = UniqueIds(id_column)
    try:
        _check_csv_header(path, compression, max_columns)
        reader = pd.read_csv(
            path,
            chunksize=CSV_CHUNK_ROWS,
            dtype=str,
            keep_default_na=False,
            index_col=False,
            compression=compression,
        )
        first_row = 0
        for chunk in reader:
            if label_column not in chunk.columns:
                raise _missing_label(label_column, [str(c) for c in chunk.columns])
            features = [c for c in chunk.columns if c not in (label_column, id_column)]
            if not features:
                raise _no_features()
            labels = chunk[label_column].str.strip()
            if (labels == "").any():
                row = first_row + int(np.flatnonzero((labels == "").to_numpy())[0])
                raise InvalidInput(
                    f"row {row + 1} has no label", code="missing_label", details={"row": row + 1}
                )
            values = chunk[features].apply(pd.to_numeric, errors="coerce").to_numpy(float)
            _check_finite(values, features, first_row)
            if id_column in chunk.columns:
                ids.add(chunk[id_column].tolist(), first_row)
            counts.update(labels.tolist())
            first_row += len(chunk)
    except UnicodeDecodeError:
        line = _first_non_utf8_line(path, compression)
        raise InvalidInput(
            f"line {line} is not UTF-8 text; save the file as UTF-8",
            code="unreadable_table",
            details={"line": line},
        ) from None
    except pd.errors.ParserError as exc:
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if ragged:
            expected, line, saw = (int(group) for group in ragged.groups())
            raise _ragged(line, saw, expected) from None
        message = str(exc).strip().removeprefix("Error tokenizing data. C error: ")
        raise InvalidInput(f"cannot read the CSV: {message}", code="unreadable_table") from None
    except (pd.errors.EmptyDataError, csv.Error) as exc:
        raise InvalidInput(f"cannot read the CSV: {exc}", code="unreadable_table") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(
            f"cannot read the CSV: not a valid gzip file ({exc})", code="unreadable_table"
        ) from None
    return counts


def _check_csv_header(path: Path, compression: str | None, max_columns: int) -> None:
    """Count the header's columns before pandas reads it (pandas takes minutes over a
    million columns), and check that the first row has no more fields than the header:
    pandas would silently take its first field for a row name."""
    with (
        gzip.open(path, "rt", encoding="utf-8", newline="")
        if compression
        else path.open(encoding="utf-8", newline="") as handle
    ):
        reader = csv.reader(handle)
        header = next(reader, [])
        if len(header) > max_columns:
            raise _too_many_columns(len(header), max_columns)
        first = next(reader, None)
        if first is not None and len(first) > len(header):
            raise _ragged(reader.line_num, len(first), len(header))


def _first_non_utf8_line(path: Path, compression: str | None) -> int:
    """The 1-based number of the first line that is not UTF-8."""
    with gzip.open(path) if compression else path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


class UniqueIds:
    """Sample ids must be unique: reviews and exports name samples by them."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.seen: dict[str, int] = {}

    def add(self, values: list[str], first_row: int) -> None:
        for offset, value in enumerate(values):
            row = first_row + offset + 1
            if not value.strip():
                raise InvalidInput(
                    f"row {row}: the id column {self.column!r} is empty", code="missing_id"
                )
            _check_storable(value, f"id in row {row}", MAX_SAMPLE_ID_CHARS)
            earlier = self.seen.setdefault(value, row)
            if earlier != row:
                raise InvalidInput(
                    f"id {value!r} appears twice (rows {earlier} and {row}); ids must be unique",
                    code="duplicate_id",
                    details={"id": value, "rows": [earlier, row]},
                )


def _check_finite(values: np.ndarray, features: list[str], first_row: int) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        raise InvalidInput(
            f"row {first_row + row + 1}, column {features[column]!r}: the feature is "
            "missing, not a number or infinite",
            code="bad_feature",
            details={"row": first_row + row + 1, "column": features[column]},
        )


def _check_parquet(path: Path, label_column: str, id_column: str, max_columns: int) -> Counter[str]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(
            f"cannot read the Parquet file: {exc}", code="unreadable_table"
        ) from None
    schema = parquet.schema_arrow
    if len(schema.names) > max_columns:
        raise _too_many_columns(len(schema.names), max_columns)
    if label_column not in schema.names:
        raise _missing_label(label_column, list(schema.names))
    features = [name for name in schema.names if name not in (label_column, id_column)]
    if not features:
        raise _no_features()
    for name in features:
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise InvalidInput(
                f"column {name!r} is {kind}, not numeric; features must be numbers",
                code="bad_feature",
                details={"column": name},
            )
    counts: Counter[str] = Counter()
    ids = UniqueIds(id_column)
    first_row = 0
    for batch in parquet.iter_batches(batch_size=CSV_CHUNK_ROWS):
        labels = batch.column(label_column)
        if labels.null_count:
            row = first_row + int(pc.index(pc.is_null(labels), True).as_py())
            raise InvalidInput(
                f"row {row + 1} has no label", code="missing_label", details={"row": row + 1}
            )
        values = np.column_stack(
            [batch.column(name).to_numpy(zero_copy_only=False) for name in features]
        ).astype(float)
        _check_finite(values, features, first_row)
        if id_column in schema.names:
            ids.add([str(value) for value in batch.column(id_column).to_pylist()], first_row)
        values = labels.to_numpy(zero_copy_only=False)
        counts.update(_label_strings(values, f"column {label_column!r}"))
        first_row += batch.num_rows
    return counts


def _check_npz(path: Path, limits: UploadLimits) -> tuple[Counter[str], str]:
    """Check ``X`` (a 2-D numeric finite table read in chunks, or uint8 images), ``y`` and
    ``ids``. Pickled arrays are refused unread; an array is read only once its header is
    known to describe no more data than its member holds."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_members(archive.infolist(), limits)
            # Named as numpy.load names them: the member name less ".npy".
            names = {name.removesuffix(".npy"): name for name in archive.namelist()}
            missing = [key for key in ("X", "y") if key not in names]
            if missing:
                raise InvalidInput(
                    f"the .npz has no array(s) {', '.join(missing)}; it needs X (features), "
                    f"y (labels) and optionally ids; found {', '.join(sorted(names)) or 'none'}",
                    code="missing_arrays",
                )
            labels = _read_npy(archive, names["y"], "y")
            with archive.open(names["X"]) as handle:
                kind = _check_npy_features(handle, labels.shape, archive.getinfo(names["X"]))
            if "ids" in names:
                ids = _read_npy(archive, names["ids"], "ids")
                UniqueIds("ids").add(_label_strings(ids, "array 'ids'"), 0)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InvalidInput(f"cannot read the .npz: {exc}", code="unreadable_table") from None
    return Counter(_label_strings(labels, "array 'y'")), kind


def _read_npy_header(handle: Any, info: zipfile.ZipInfo, key: str) -> NpyHeader:
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle)
    if dtype.hasobject:
        raise InvalidInput(
            f"array {key!r} holds pickled Python objects, which are never loaded; save it "
            "as numbers or strings",
            code="pickled_array",
        )
    declared = math.prod(shape) * dtype.itemsize
    if declared > info.file_size:
        raise InvalidInput(
            f"array {key!r} declares shape {shape} ({declared} bytes) but its member holds "
            f"{info.file_size} bytes",
            code="bad_arrays",
        )
    return NpyHeader(shape, fortran_order, dtype)


def _read_npy(archive: zipfile.ZipFile, member: str, key: str) -> np.ndarray:
    """A small array (labels or ids), read once its header proved it sane."""
    with archive.open(member) as handle:
        _read_npy_header(handle, archive.getinfo(member), key)
    with archive.open(member) as handle:
        return np.lib.format.read_array(handle, allow_pickle=False)


def _label_strings(values: np.ndarray, what: str) -> list[str]:
    """Labels or ids as the engine names them: integral floats as integers, bytes decoded."""
    kind = values.dtype.kind
    if kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            raise InvalidInput(
                f"{what} has NaN or an infinite value at index {int(np.argmax(bad))}",
                code="bad_label",
            )
        if np.all(values == np.round(values)):
            values = values.astype(np.int64)
    elif kind == "S":
        try:
            values = np.char.decode(values, "utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{what} holds bytes that are not UTF-8", code="bad_label") from None
    elif kind not in "biuUO":
        raise InvalidInput(
            f"{what} must hold integers or strings; got {values.dtype}", code="bad_label"
        )
    return [str(value) for value in values.tolist()]


def _check_npy_features(handle: Any, label_shape: tuple[int, ...], info: zipfile.ZipInfo) -> str:
    """Check the ``X`` array's header and values; return the dataset's kind."""
    shape, fortran_order, dtype = _read_npy_header(handle, info, "X")
    if len(label_shape) != 1 or len(shape) == 0 or shape[0] != label_shape[0]:
        raise InvalidInput(
            f"y must be 1-D and X must have one row per label; got X {shape} and y {label_shape}",
            code="bad_arrays",
        )
    if len(shape) in (3, 4) and dtype == np.uint8:
        if len(shape) == 4 and shape[3] not in (1, 3):
            raise InvalidInput(
                f"images need 1 or 3 channels; X has shape {shape}", code="bad_arrays"
            )
        return "image"
    if len(shape) != 2:
        raise InvalidInput(
            f"X must be (n, d) numbers or (n, H, W[, C]) uint8 images; got shape {shape} "
            f"and dtype {dtype}",
            code="bad_arrays",
        )
    if dtype.kind not in "biuf":
        raise InvalidInput(f"X holds {dtype}, not numbers", code="bad_feature")
    if shape[1] == 0:
        raise _no_features()
    row_bytes = shape[1] * dtype.itemsize
    rows_per_chunk = max(1, NPY_CHUNK_BYTES // row_bytes)
    first_row = 0
    while first_row < shape[0]:
        rows = min(rows_per_chunk, shape[0] - first_row)
        data = handle.read(rows * row_bytes)
        values = np.frombuffer(data, dtype=dtype).astype(float)
        # Fortran order stores columns first, so a chunk is not whole rows: report the row
        # only for C order.
        if fortran_order:
            if not np.isfinite(values).all():
                raise InvalidInput("X holds NaN or infinite values", code="bad_feature")
        else:
            _check_finite(
                values.reshape(rows, shape[1]), [str(i) for i in range(shape[1])], first_row
            )
        first_row += rows
    return "table"
