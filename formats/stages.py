"""The stages of a running audit: the names the engine and the worker report in
``progress.stage`` (kept in the audit's row, so they never change), and what the dashboard
calls each of them.

A training stage of several models names its fold: ``fold 2/5`` in crossval mode,
``held-out fold 1/2`` for the held-out models of combined and checked mode. The dashboard
reads such a name with :data:`FOLD_STAGE_PATTERN`, rendered into its pages, so that the rule
is written here only.
"""

from __future__ import annotations

import re

LOADING = "loading"
# A pretrained backbone computes the images' features (worker.engine.features).
FEATURES = "features"
# The model trained on every sample (in-sample), or the only one in dynamics mode.
TRAINING = "training"
FLAGGING = "flagging"
# The worker saves the results (the stage was named when it was the last).
SAVING = "done"
# The phases that train one model per fold, by the word their stage names start with.
CROSSVAL_FOLDS = "fold"
HELD_OUT_FOLDS = "held-out fold"

# What the audits list shows for each stage while it runs.
STAGE_TEXT = {
    LOADING: "Loading the data",
    FEATURES: "Computing image features",
    TRAINING: "Training",
    FLAGGING: "Flagging suspects",
    SAVING: "Saving the results",
}
FOLD_PHASE_TEXT = {
    CROSSVAL_FOLDS: "Cross-validation",
    HELD_OUT_FOLDS: "Held-out models",
}
# How a stage's count (progress.epoch of progress.epochs) reads: epochs, unless named here.
COUNT_TEXT = "epoch {done} of {total}"
STAGE_COUNT_TEXT = {FEATURES: "{done} of {total} images"}
# A fold's stage as the list shows it; the dashboard fills in the same placeholders.
FOLD_TEXT = "{phase}, fold {fold} of {folds}"
# A fold's stage: the phase, the fold (counting from 1) and the folds. Plain enough for a
# JavaScript RegExp too (no named groups, no escapes).
FOLD_STAGE_PATTERN = rf"^({'|'.join(sorted(FOLD_PHASE_TEXT, key=len, reverse=True))}) (\d+)/(\d+)$"
_FOLD_STAGE = re.compile(FOLD_STAGE_PATTERN)


def fold_stage(fold: int, folds: int, *, held_out: bool) -> str:
    """The stage of training the model of fold ``fold`` (counting from 1) of ``folds``:
    ``held-out fold 1/2`` for a held-out model of combined or checked mode, ``fold 2/5`` in
    crossval mode."""
    if not 1 <= fold <= folds:
        raise ValueError(f"fold {fold} is not one of 1..{folds}")
    return f"{HELD_OUT_FOLDS if held_out else CROSSVAL_FOLDS} {fold}/{folds}"


def parse_fold_stage(stage: str) -> tuple[str, int, int] | None:
    """(phase, fold, folds) of a fold's stage, None for any other stage."""
    match = _FOLD_STAGE.match(stage)
    if match is None:
        return None
    phase, fold, folds = match.groups()
    return phase, int(fold), int(folds)


def stage_text(stage: str) -> str:
    """What a stage is called: ``Held-out models, fold 1 of 2``, ``Training``; an unknown
    stage (from a newer worker) as it was reported."""
    fold = parse_fold_stage(stage)
    if fold is not None:
        phase, number, folds = fold
        return FOLD_TEXT.format(phase=FOLD_PHASE_TEXT[phase], fold=number, folds=folds)
    return STAGE_TEXT.get(stage, stage)


def count_text(stage: str, done: int, total: int) -> str:
    """``epoch 3 of 20``, or ``640 of 1800 images`` while features are computed."""
    return STAGE_COUNT_TEXT.get(stage, COUNT_TEXT).format(done=done, total=total)
