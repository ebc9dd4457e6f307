"""CSV exports, written in batches from a server-side cursor so memory stays constant.

Ids and labels come from uploads and annotation vendors, and a spreadsheet runs a cell
that starts like a formula (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``). The export
meant for people, ``suspects``, prefixes such cells with a single quote, as OWASP
recommends (the spreadsheet shows the text without the quote); the one meant for the next
training run, ``corrected``, keeps every value exactly, since its ids must match the
dataset's and its labels are the labels. Either can be asked for the other way.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Literal

from ..audits import repository as audits_repository
from ..audits.models import Sample
from ..db import Database

ExportKind = Literal["suspects", "corrected"]
# What makes a spreadsheet read a cell as a formula (OWASP, CSV injection): one of these
# first, or, after leading whitespace, one of the first four.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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
    leading single quote (see :func:`neutralise_formula`).
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
    # RFC 4180's CRLF: the writer then also quotes a cell holding a lone CR, which with
    # "\n" it wrote bare, breaking the row for every reader.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    rows = iter(rows)
    while batch := list(islice(rows, ROWS_PER_CHUNK)):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # the header of an export without rows
        yield buffer.getvalue()


def neutralise_formula(cell: object) -> object:
    """``cell`` with a single quote in front if it is text a spreadsheet would run as a
    formula. Only text changes (the scores are numbers, never negative); text that reads as
    a negative number, an id ``-5``, is quoted too, as OWASP advises: the spreadsheet shows
    the text ``-5``, and ``-05`` stays ``-05``."""
    if isinstance(cell, str) and (
        cell.startswith(FORMULA_STARTS) or cell.lstrip().startswith(FORMULA_STARTS[:4])
    ):
        return "'" + cell
    return cell


def _escaped(to_row: RowMaker) -> RowMaker:
    return lambda sample: tuple(map(neutralise_formula, to_row(sample)))


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
