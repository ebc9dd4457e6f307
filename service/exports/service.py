"""CSV exports, written row by row from a server-side cursor so memory stays constant."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from typing import Literal

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
ROWS_PER_CHUNK = 1000


def export_csv(database: Database, audit_id: uuid.UUID, kind: ExportKind) -> Iterator[str]:
    """The export's text in chunks: ``suspects`` (flagged samples by score, with their
    scores and decisions) or ``corrected`` (every sample with its final label, ready for the
    next training run; excluded samples have no final label and ``excluded=true``)."""
    columns = SUSPECT_COLUMNS if kind == "suspects" else CORRECTED_COLUMNS
    to_row = _suspect_row if kind == "suspects" else _corrected_row
    # Its own unit of work: the response streams after the request's session has closed.
    with database.session_scope() as session:
        samples = audits_repository.iter_samples(
            session, audit_id, flagged_only=kind == "suspects", batch=ROWS_PER_CHUNK
        )
        yield from _chunks(columns, (to_row(sample) for sample in samples))


def _chunks(columns: tuple[str, ...], rows: Iterable[tuple[object, ...]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _suspect_row(sample: Sample) -> tuple[object, ...]:
    return (
        sample.sample_id,
        sample.row_index,
        sample.given_label,
        sample.suggested_label,
        f"{sample.confidence:.4f}",
        f"{sample.score:.4f}",
        sample.review_action or "",
        sample.final_label or "",
        sample.reviewed_by or "",
        sample.reviewed_at.isoformat() if sample.reviewed_at else "",
    )


def _corrected_row(sample: Sample) -> tuple[object, ...]:
    excluded = sample.review_action == "exclude"
    final = "" if excluded else (sample.final_label or sample.given_label)
    return (
        sample.sample_id,
        sample.given_label,
        final,
        sample.review_action or "unreviewed",
        "true" if excluded else "false",
    )
