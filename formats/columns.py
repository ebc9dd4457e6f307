"""A table's columns: the label, the optional id and the features, checked from the header
alone, and how many rows of them make one chunk."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DatasetError
from .limits import Limits

# Cells per chunk when streaming a table: bounds the memory of one chunk whatever its width
# (pandas' parser holds about 40 bytes a cell: 1 M cells cost ~45 MiB; 4 M cost ~110 MiB
# and were no faster on a 300 MB CSV).
CHUNK_CELLS = 1_000_000
_LISTED_COLUMNS = 20


@dataclass(frozen=True)
class TableColumns:
    features: list[str]
    label: str
    id: str | None


def split_columns(
    columns: list[str], label_column: str, id_column: str, limits: Limits
) -> TableColumns:
    """The label, id and feature columns of a header; refuses too many columns, no label
    column or no feature column."""
    check_width(len(columns), limits)
    if label_column not in columns:
        shown = ", ".join(columns[:_LISTED_COLUMNS]) + (
            ", ..." if len(columns) > _LISTED_COLUMNS else ""
        )
        raise DatasetError(
            f"no label column {label_column!r}; the columns are: {shown}",
            code="missing_label_column",
            column=label_column,
            columns=columns[:100],
        )
    ids = id_column if id_column in columns and id_column != label_column else None
    features = [c for c in columns if c not in (label_column, ids)]
    if not features:
        raise DatasetError(
            "the table has no feature columns besides the label and id", code="no_features"
        )
    return TableColumns(features, label_column, ids)


def check_width(n_columns: int, limits: Limits) -> None:
    """Refuse a table wider than ``limits.max_columns``."""
    if n_columns > limits.max_columns:
        raise DatasetError(
            f"the table has {n_columns} columns, over the limit of {limits.max_columns}",
            code="too_many_columns",
            columns=n_columns,
            limit=limits.max_columns,
        )


def chunk_rows(n_columns: int) -> int:
    """Rows per chunk of a table ``n_columns`` wide."""
    # At most 16,384 rows: a block of ids is as wide as its longest (up to MAX_ID_CHARS, 4 bytes
    # a character), so 64 MiB at worst.
    return max(1, min(16_384, CHUNK_CELLS // max(n_columns, 1)))
