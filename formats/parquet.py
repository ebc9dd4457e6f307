"""Parquet tables: the columns checked from the schema and the size from the footer before
any row is read, then the rows in record batches of bounded size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .columns import TableColumns, chunk_rows, split_columns
from .counting import too_many_rows
from .errors import DatasetError
from .limits import Limits

_BUFFER_BYTES = 1 << 20


def read_parquet(
    path: Path, label_column: str, id_column: str, limits: Limits
) -> tuple[TableColumns, Iterator[pd.DataFrame]]:
    """Check a Parquet file's columns and size; return its columns and its rows in frames."""
    try:
        # Buffered: a column chunk is read in pieces, not loaded whole.
        parquet = pq.ParquetFile(path, buffer_size=_BUFFER_BYTES)
    except (pa.ArrowException, OSError) as exc:
        raise DatasetError(
            f"cannot read the Parquet file: {exc}", code="unreadable_table"
        ) from None
    _check_parquet_size(parquet.metadata, limits)
    schema = parquet.schema_arrow
    # A pandas index saved as a column is bookkeeping, not a feature.
    saved_index = {
        c for c in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)
    }
    names = [c for c in schema.names if c not in saved_index]
    columns = split_columns(names, label_column, id_column, limits)
    for name in columns.features:
        kind = schema.field(name).type
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            raise DatasetError(
                f"column {name!r} is {kind}, not numeric; features must be numbers",
                code="bad_feature",
                column=name,
            )
    wanted = [*columns.features, columns.label, *([columns.id] if columns.id else [])]
    return columns, _parquet_frames(parquet, wanted, chunk_rows(len(names)))


def _check_parquet_size(metadata: pq.FileMetaData, limits: Limits) -> None:
    """Refuse, from the footer alone, a table over ``max_rows`` or whose column chunks
    decompress past ``max_expanded_bytes`` (a Parquet bomb)."""
    if metadata.num_rows > limits.max_rows:
        raise too_many_rows(limits)
    expanded = 0
    for group in range(metadata.num_row_groups):
        expanded += metadata.row_group(group).total_byte_size
        if expanded > limits.max_expanded_bytes:
            raise DatasetError(
                "the Parquet file's columns expand past the limit of "
                f"{limits.max_expanded_bytes} bytes (LABELAUDIT_MAX_EXPANDED_BYTES)",
                code="archive_too_large",
                limit=limits.max_expanded_bytes,
                setting="LABELAUDIT_MAX_EXPANDED_BYTES",
            )


def _parquet_frames(
    parquet: pq.ParquetFile, columns: list[str], rows: int
) -> Iterator[pd.DataFrame]:
    try:
        for batch in parquet.iter_batches(batch_size=rows, columns=columns):
            yield batch.to_pandas()
    except pa.ArrowException as exc:
        raise DatasetError(f"corrupt Parquet data ({exc})", code="unreadable_table") from None
    finally:
        parquet.close()
