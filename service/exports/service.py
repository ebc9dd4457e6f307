"""CSV exports, written in batches from a server-side cursor so memory stays constant.

The export meant for people, ``suspects``, neutralises cells a spreadsheet would run as
formulas (see :mod:`formats.csv_rows`, which the command line's suspects file follows too);
the one meant for the next training run, ``corrected``, keeps every value exactly, since its
ids must match the dataset's and its labels are the labels. Either can be asked for the
other way.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Literal

from formats.csv_rows import (
    LEADING_SUSPECT_COLUMNS,
    boolean_cell,
    csv_writer,
    neutralised,
    suspect_cells,
)

from ..audits import repository as audits_repository
from ..audits.models import Sample
from ..db import Database
from ..reviews.actions import corrected_label

ExportKind = Literal["suspects", "corrected"]
SUSPECT_COLUMNS = (
    *LEADING_SUSPECT_COLUMNS,
    "action",
    "final_label",
    "reviewed_by",
    "reviewed_at",
)
CORRECTED_COLUMNS = ("sample_id", "original_label", "final_label", "action", "excluded")
# What each export reads, in the order its rows unpack them.
SUSPECT_FIELDS = (
    Sample.sample_id,
    Sample.row_index,
    Sample.given_label,
    Sample.suggested_label,
    Sample.confidence,
    Sample.score,
    Sample.review_action,
    Sample.final_label,
    Sample.reviewed_by,
    Sample.reviewed_at,
)
CORRECTED_FIELDS = (Sample.sample_id, Sample.given_label, Sample.final_label, Sample.review_action)
ROWS_PER_CHUNK = 1000
# Turns what an export reads of a sample into its CSV row.
RowMaker = Callable[[Sequence[Any]], tuple[object, ...]]


def escapes_formulas_by_default(kind: ExportKind) -> bool:
    """Whether the export is meant for a spreadsheet (``suspects``) rather than for the next
    training run (``corrected``)."""
    return kind == "suspects"


def export_csv(
    database: Database, audit_id: uuid.UUID, kind: ExportKind, *, escape_formulas: bool
) -> Iterator[str]:
    """The export's text in chunks: ``suspects`` (flagged samples by score, with their
    scores and decisions) or ``corrected`` (every sample with its final label, ready for the
    next training run; excluded samples have no final label and ``excluded=true``).

    With ``escape_formulas``, a text cell a spreadsheet would run as a formula gets a
    leading single quote (see :func:`formats.csv_rows.neutralise_formula`).
    """
    header = SUSPECT_COLUMNS if kind == "suspects" else CORRECTED_COLUMNS
    read = SUSPECT_FIELDS if kind == "suspects" else CORRECTED_FIELDS
    to_row: RowMaker = _suspect_row if kind == "suspects" else _corrected_row
    if escape_formulas:
        to_row = _escaped(to_row)
    # Its own unit of work: the response streams after the request's session has closed.
    with database.session_scope() as session:
        rows = audits_repository.iter_sample_rows(
            session, audit_id, read, flagged_only=kind == "suspects", batch=ROWS_PER_CHUNK
        )
        yield from _chunks(header, map(to_row, rows))


def _chunks(columns: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> Iterator[str]:
    """CSV text ``ROWS_PER_CHUNK`` rows at a time (``writerows`` loops in C)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(columns)
    rows = iter(rows)
    while batch := list(islice(rows, ROWS_PER_CHUNK)):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # the header of an export without rows
        yield buffer.getvalue()


def _escaped(to_row: RowMaker) -> RowMaker:
    return lambda sample: neutralised(to_row(sample))


def _suspect_row(sample: Sequence[Any]) -> tuple[object, ...]:
    sample_id, row_index, given, suggested, confidence, score, action, final, by, at = sample
    return (
        *suspect_cells(sample_id, row_index, given, suggested, confidence, score),
        action or "",
        final or "",
        by or "",
        at.isoformat() if at else "",
    )


def _corrected_row(sample: Sequence[Any]) -> tuple[object, ...]:
    sample_id, given, final, action = sample
    label = corrected_label(action, given, final)
    excluded = label is None
    return (sample_id, given, label or "", action or "unreviewed", boolean_cell(excluded))
