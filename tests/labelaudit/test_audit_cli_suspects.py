"""The command line's suspects file is written as the API's suspects export writes its
rows (formats.csv_rows): every digit of the scores, formulas neutralised, CRLF rows."""

from types import SimpleNamespace

import numpy as np

from formats.csv_rows import LEADING_SUSPECT_COLUMNS
from labelaudit.audit_cli import CSV_COLUMNS, write_suspects


def audit_result() -> SimpleNamespace:
    flags = SimpleNamespace(
        score=np.array([0.2, 0.999987654321, 0.7], dtype=np.float64),
        flagged=np.array([False, True, True]),
        suggested=np.array([0, 1, 0]),
        confidence=np.array([0.9, 1.2345678e-5, 0.25], dtype=np.float32),
    )
    return SimpleNamespace(
        flags=flags,
        sample_ids=np.array(["plain", "=HYPERLINK(1)", "-5"]),
        given=np.array([0, 0, 1]),
        class_names=["bolt", "@nut"],
    )


def test_suspects_are_written_with_the_exports_row_formatting(tmp_path):
    path = tmp_path / "suspects.csv"
    assert write_suspects(path, audit_result(), include_all=False) == 2
    tiny = repr(float(np.float32(1.2345678e-5)))
    assert CSV_COLUMNS[: len(LEADING_SUSPECT_COLUMNS)] == LEADING_SUSPECT_COLUMNS
    assert path.read_bytes().decode() == (
        f"{','.join(CSV_COLUMNS)}\r\n"
        f"'=HYPERLINK(1),1,bolt,'@nut,{tiny},0.999987654321,true\r\n"
        "'-5,2,'@nut,bolt,0.25,0.7,true\r\n"
    )


def test_all_writes_the_unflagged_too(tmp_path):
    path = tmp_path / "suspects.csv"
    assert write_suspects(path, audit_result(), include_all=True) == 3
    last = path.read_text().splitlines()[-1]
    assert last == f"plain,0,bolt,bolt,{float(np.float32(0.9))!r},0.2,false"
