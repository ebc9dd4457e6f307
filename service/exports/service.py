"""CSV exports, written in batches from a server-side cursor so memory stays constant."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Literal

from ..audits import repository as audits_repository
from ..audits.models import Sample
from ..db import Database

ExportKind = Literal["suspects", "corrected"]
SUSPECT_COLUMNS = (
    "sample_id",
    "row_index",
    "given_label",
    "suggested_label",
    "confidence",
    "score",
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


def export_csv(database: Database, audit_id: uuid.UUID, kind: ExportKind) -> Iterator[str]:
    """The export's text in chunks: ``suspects`` (flagged samples by score, with their
    scores and decisions) or ``corrected`` (every sample with its final label, ready for the
    next training run; excluded samples have no final label and ``excluded=true``)."""
    header = SUSPECT_COLUMNS if kind == "suspects" else CORRECTED_COLUMNS
    read = SUSPECT_FIELDS if kind == "suspects" else CORRECTED_FIELDS
    to_row = _suspect_row if kind == "suspects" else _corrected_row
    # Its own unit of work: the response streams after the request's session has closed.
    with database.session_scope() as session:
        rows = audits_repository.iter_sample_rows(
            session, audit_id, read, flagged_only=kind == "suspects", batch=ROWS_PER_CHUNK
        )
        yield from _chunks(header, map(to_row, rows))


def _chunks(columns: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> Iterator[str]:
    """CSV text ``ROWS_PER_CHUNK`` rows at a time (``writerows`` loops in C)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    rows = iter(rows)
    while batch := list(islice(rows, ROWS_PER_CHUNK)):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # the header of an export without rows
        yield buffer.getvalue()


def _suspect_row(sample: Sequence[Any]) -> tuple[object, ...]:
    sample_id, row_index, given, suggested, confidence, score, action, final, by, at = sample
    return (
        sample_id,
        row_index,
        given,
        suggested,
        # The shortest text that reads back as the same float: rounding made tiny
        # confidences "0.0000", which cannot be ranked.
        confidence,
        score,
        action or "",
        final or "",
        by or "",
        at.isoformat() if at else "",
    )


def _corrected_row(sample: Sequence[Any]) -> tuple[object, ...]:
    sample_id, given, final, action = sample
    if action == "exclude":
        return (sample_id, given, "", action, "true")
    return (sample_id, given, final or given, action or "unreviewed", "false")
