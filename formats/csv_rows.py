"""How suspects are written as CSV, by the API's export and by the command line alike.

Ids and labels come from uploads and annotation vendors, and a spreadsheet runs a cell that
starts like a formula (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``). A file meant for
people prefixes such cells with a single quote, as OWASP recommends (the spreadsheet shows
the text without the quote); one meant for the next training run keeps every value exactly.
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

# What makes a spreadsheet read a cell as a formula (OWASP, CSV injection): one of these
# first, or, after leading whitespace, one of the first four.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The columns every suspects file starts its rows with.
LEADING_SUSPECT_COLUMNS = (
    "sample_id",
    "row_index",
    "given_label",
    "suggested_label",
    "confidence",
    "score",
)


def csv_writer(handle: TextIO) -> Any:
    """A writer of RFC 4180's CRLF rows: it then also quotes a cell holding a lone CR, which
    with "\\n" it wrote bare, breaking the row for every reader."""
    return csv.writer(handle, lineterminator="\r\n")


def suspect_cells(
    sample_id: str, row_index: int, given: str, suggested: str, confidence: float, score: float
) -> tuple[object, ...]:
    """The first cells of a suspect's row (see :data:`LEADING_SUSPECT_COLUMNS`). The scores are
    written as the shortest text that reads back as the same float: rounding made tiny
    confidences "0.0000", which cannot be ranked."""
    return (sample_id, int(row_index), given, suggested, float(confidence), float(score))


def boolean_cell(value: bool) -> str:
    """A yes/no cell as the exports write it: ``true`` or ``false``."""
    return "true" if value else "false"


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


def neutralised(row: tuple[object, ...]) -> tuple[object, ...]:
    """``row`` with every formula cell neutralised, for a file meant for a spreadsheet."""
    return tuple(map(neutralise_formula, row))
