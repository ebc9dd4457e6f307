"""The checks an upload gets while its request is open, so that bad data answers 422.

They read the stored file in a streaming way (chunks of rows, one image at a time) and
mirror the engine's rules without importing it (the API carries no torch): a label column
with at least two classes and no single-sample class, numeric finite features, readable
images of one mode, a safe archive. Anything they miss fails the audit on the worker with
the engine's message.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import InvalidInput
from .archives import ArchiveLimits, check_image_archive

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


@dataclass(frozen=True)
class UploadFacts:
    """What the checks learned: the kind of dataset and its classes."""

    dataset_kind: str
    class_counts: dict[str, int]


def upload_format(filename: str) -> str:
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
    path: Path, upload_kind: str, *, label_column: str, id_column: str, limits: ArchiveLimits
) -> UploadFacts:
    """Check a stored upload; raise :class:`InvalidInput` naming the first problem."""
    if path.stat().st_size == 0:
        raise InvalidInput("the uploaded file is empty", code="empty_upload")
    if upload_kind in ("csv", "csv.gz"):
        compression = "gzip" if upload_kind == "csv.gz" else None
        counts = _check_csv(path, label_column, id_column, compression)
    elif upload_kind == "parquet":
        counts = _check_parquet(path, label_column, id_column)
    elif upload_kind == "npz":
        counts, kind = _check_npz(path)
        return UploadFacts(kind, check_class_counts(counts))
    else:
        return UploadFacts("image", check_class_counts(check_image_archive(path, limits)))
    return UploadFacts("table", check_class_counts(counts))


def check_class_counts(counts: Counter[str]) -> dict[str, int]:
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
    path: Path, label_column: str, id_column: str, compression: str | None
) -> Counter[str]:
    counts: Counter[str] = Counter()
    ids = UniqueIds(id_column)
    try:
        reader = pd.read_csv(
            path,
            chunksize=CSV_CHUNK_ROWS,
            dtype=str,
            keep_default_na=False,
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
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise InvalidInput(f"cannot read the CSV: {exc}", code="unreadable_table") from None
    return counts


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


def _check_parquet(path: Path, label_column: str, id_column: str) -> Counter[str]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput(
            f"cannot read the Parquet file: {exc}", code="unreadable_table"
        ) from None
    schema = parquet.schema_arrow
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
        counts.update(str(label) for label in labels.to_pylist())
        first_row += batch.num_rows
    return counts


def _check_npz(path: Path) -> tuple[Counter[str], str]:
    """Check ``X`` (a 2-D numeric finite table read in chunks, or uint8 images) and ``y``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {PurePosixPath(name).stem: name for name in archive.namelist()}
            missing = [key for key in ("X", "y") if key not in names]
            if missing:
                raise InvalidInput(
                    f"the .npz has no array(s) {', '.join(missing)}; it needs X (features), "
                    f"y (labels) and optionally ids; found {', '.join(sorted(names)) or 'none'}",
                    code="missing_arrays",
                )
            with archive.open(names["y"]) as handle:
                labels = np.lib.format.read_array(handle, allow_pickle=False)
            with archive.open(names["X"]) as handle:
                kind = _check_npy_features(handle, labels.shape)
            if "ids" in names:
                with archive.open(names["ids"]) as handle:
                    ids = np.lib.format.read_array(handle, allow_pickle=False)
                UniqueIds("ids").add([str(value) for value in ids.tolist()], 0)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvalidInput(f"cannot read the .npz: {exc}", code="unreadable_table") from None
    return Counter(str(label) for label in labels.tolist()), kind


def _check_npy_features(handle: object, label_shape: tuple[int, ...]) -> str:
    """Check the ``X`` array's header and values; return the dataset's kind."""
    version = np.lib.format.read_magic(handle)  # type: ignore[arg-type]
    if version == (1, 0):
        read_header = np.lib.format.read_array_header_1_0
    else:
        read_header = np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(handle)  # type: ignore[arg-type]
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
    row_bytes = max(1, shape[1] * dtype.itemsize)
    rows_per_chunk = max(1, NPY_CHUNK_BYTES // row_bytes)
    first_row = 0
    while first_row < shape[0]:
        rows = min(rows_per_chunk, shape[0] - first_row)
        data = handle.read(rows * row_bytes)  # type: ignore[attr-defined]
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
