import re

import pytest

from formats.stages import (
    FOLD_STAGE_PATTERN,
    STAGE_TEXT,
    TRAINING,
    fold_stage,
    parse_fold_stage,
    stage_text,
)


def test_fold_stages_read_back_as_they_were_named():
    assert fold_stage(2, 5, held_out=False) == "fold 2/5"
    assert fold_stage(1, 2, held_out=True) == "held-out fold 1/2"
    for held_out in (False, True):
        phase, fold, folds = parse_fold_stage(fold_stage(3, 20, held_out=held_out)) or ()
        assert (fold, folds) == (3, 20)
        assert phase.startswith("held-out") is held_out
    assert parse_fold_stage(TRAINING) is None
    assert parse_fold_stage("fold 2/5 extra") is None
    with pytest.raises(ValueError, match="fold 3 is not one of 1..2"):
        fold_stage(3, 2, held_out=True)


def test_every_stage_has_a_name_on_the_list():
    assert stage_text("held-out fold 1/2") == "Held-out models, fold 1 of 2"
    assert stage_text("fold 2/5") == "Cross-validation, fold 2 of 5"
    assert [stage_text(stage) for stage in STAGE_TEXT] == list(STAGE_TEXT.values())
    # A stage a newer worker reports is shown as it came.
    assert stage_text("distilling") == "distilling"


def test_the_pattern_is_one_a_browser_reads_alike():
    # Rendered into the dashboard for JavaScript's RegExp: no Python-only syntax.
    assert "(?P" not in FOLD_STAGE_PATTERN and "\\" not in FOLD_STAGE_PATTERN.replace("\\d", "")
    assert re.fullmatch(FOLD_STAGE_PATTERN, "held-out fold 12/20")
