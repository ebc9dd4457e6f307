"""The reading table: what each mode's flag rule reads, written once and matched by the
README and the module's docstring."""

import re
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

from formats.options import Mode
from worker.engine import reading
from worker.engine.history import RECORDED_VIEWS, RecordedView, TrainingHistory
from worker.engine.reading import READINGS, read_view, scored_histories

README = Path(__file__).resolve().parents[3] / "README.md"


def cells(row: reading.Reading) -> list[str]:
    return [
        row.flags,
        ", ".join(row.count),
        "yes" if row.learned_flip_check else "no",
        ", ".join(row.score),
    ]


def test_every_mode_has_a_row_reading_only_views_it_records():
    assert set(READINGS) == set(get_args(Mode))
    for mode, row in READINGS.items():
        readable = {*RECORDED_VIEWS[mode], *(("average",) if len(RECORDED_VIEWS[mode]) > 1 else ())}
        assert {row.flags, *row.count} <= readable
        assert set(row.score) <= set(RECORDED_VIEWS[mode])
        # The check compares the in-sample view with the held-out one: both are recorded.
        assert not row.learned_flip_check or set(RECORDED_VIEWS[mode]) == {"in-sample", "held-out"}


def test_the_readme_and_the_docstring_show_the_table_of_the_code():
    text = README.read_text(encoding="utf-8")
    for mode, row in READINGS.items():
        line = re.search(rf"^\| `{mode}`[^|]*\|(.+)\|$", text, re.MULTILINE)
        assert line is not None, mode
        assert [cell.strip() for cell in line.group(1).split("|")] == cells(row)
        docstring_row = re.search(rf"^{mode}\s+(.+)$", reading.__doc__, re.MULTILINE)
        assert docstring_row is not None, mode
        assert re.split(r"\s{2,}", docstring_row.group(1).strip()) == cells(row)


def view(given: list[list[float]], first_class: list[float]) -> RecordedView:
    probabilities = np.array([[p, 1 - p] for p in first_class], dtype=np.float32)
    return RecordedView(np.array(given, dtype=np.float32), probabilities, 1, 2.0)


def test_the_average_is_the_mean_of_the_views_and_the_score_skips_the_warm_up():
    history = TrainingHistory(
        (view([[0.5], [0.5], [0.5], [0.9]], [0.9]), view([[0.5], [0.5], [0.5], [0.1]], [0.1])),
        "combined",
    )
    average = read_view(history, "average")
    assert average.given_probability[:, 0] == pytest.approx([0.5, 0.5, 0.5, 0.5])
    assert average.window_mean[0] == pytest.approx([0.5, 0.5])
    assert average.seconds == 4.0
    # Four epochs: the first is the warm-up.
    assert [len(h) for h in scored_histories(history, READINGS["combined"])] == [3, 3]
    assert read_view(history, "held-out") is history.views[1]


def test_a_history_must_hold_the_views_its_mode_records():
    with pytest.raises(ValueError, match="crossval mode records 1 views; got 2"):
        TrainingHistory((view([[0.5]], [0.5]), view([[0.5]], [0.5])), "crossval")
