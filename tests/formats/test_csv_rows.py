"""The suspects files' cells, shared by the API's export and the command line."""

import io

import numpy as np
import pytest

from formats.csv_rows import (
    boolean_cell,
    csv_writer,
    neutralise_formula,
    neutralised,
    suspect_cells,
)


def test_scores_keep_every_digit_and_numpy_numbers_read_as_python_ones():
    cells = suspect_cells("a", np.int64(3), "bolt", "nut", np.float32(1.2345678e-5), 0.999987654321)
    assert cells == ("a", 3, "bolt", "nut", float(np.float32(1.2345678e-5)), 0.999987654321)
    assert all(type(cell) in (str, int, float) for cell in cells)
    buffer = io.StringIO()
    csv_writer(buffer).writerow(cells)
    assert (
        buffer.getvalue() == f"a,3,bolt,nut,{float(np.float32(1.2345678e-5))!r},0.999987654321\r\n"
    )


def test_booleans_and_rows_are_written_alike_everywhere():
    assert (boolean_cell(np.bool_(True)), boolean_cell(False)) == ("true", "false")
    assert neutralised(("=cmd", 0.5, "ok")) == ("'=cmd", 0.5, "ok")


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("-5", "'-5"),
        ("-0.25", "'-0.25"),
        (" \t+1", "' \t+1"),
        ("\tplain", "'\tplain"),
        ("\rplain", "'\rplain"),
        ("a=b", "a=b"),
        ("'=quoted", "'=quoted"),
        ("", ""),
        (-0.25, -0.25),
        (3, 3),
    ],
)
def test_only_formula_like_text_is_quoted(cell, written):
    assert neutralise_formula(cell) == written
