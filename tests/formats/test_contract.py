"""The worker↔service contract: what the worker builds reads back the same through JSON,
rows stored by older versions read with their documented defaults, one default for a
re-audit's round, and an outcome whose columns disagree is refused."""

import dataclasses
import json

import pytest
from pydantic import ValidationError

from formats.contract import (
    FIRST_ROUND,
    AuditOutcome,
    AuditSummary,
    ConfusionCell,
    Corrections,
    ProgressReport,
    RoundComparison,
    round_of,
)
from formats.options import AuditConfig
from formats.stages import LOADING, SAVING


def outcome(**changes):
    values = {
        "sample_ids": ["a", "b"],
        "given": ["bolt", "nut"],
        "suggested": ["nut", "nut"],
        "confidence": [0.1, 0.9],
        "score": [0.9, 0.1],
        "flagged": [True, False],
        "image_paths": None,
        "estimated_errors": {"bolt": 1, "nut": 0},
        "thresholds": {"bolt": 0.3, "nut": 0.4},
        "confusion": [ConfusionCell(given="bolt", suggested="nut", count=1)],
        "seconds": 1.23456,
        "device": "cpu (2 threads)",
        "plan": AuditConfig(epochs=4, window=2, mode="dynamics").plan(2, is_image=False),
    }
    return AuditOutcome(**{**values, **changes})


def through_json(model):
    return type(model).model_validate(json.loads(json.dumps(model.model_dump(mode="json"))))


def test_a_summary_reads_back_as_the_worker_wrote_it():
    finished = dataclasses.replace(outcome(), threads=2, reference_examples={"nut": ["b"]})
    rounds = RoundComparison(round=2, resolved=1, still_flagged=0, disputed=0, new_suspects=0)
    summary = AuditSummary.of(finished, rounds=rounds)
    assert (summary.samples, summary.flagged, summary.seconds) == (2, 1, 1.235)
    assert summary.rounds == rounds and summary.reference_examples == {"nut": ["b"]}
    assert (summary.epochs, summary.mode, summary.window) == (4, "dynamics", 2)
    assert through_json(summary) == summary


def test_a_summary_keeps_the_plan_and_the_fields_older_readers_know_agree_with_it():
    plan = AuditConfig(epochs=6, window=3).plan(500, is_image=True, image_side=32)
    summary = AuditSummary.of(outcome(plan=plan), rounds=None)
    assert summary.plan == plan
    assert (summary.epochs, summary.mode, summary.image_size, summary.window) == (
        6,
        plan.mode,
        32,
        3,
    )
    assert through_json(summary) == summary


def test_a_summary_stored_by_the_first_version_reads_with_its_defaults():
    stored = {
        "samples": 3,
        "flagged": 1,
        "estimated_errors": {"bolt": 1},
        "confusion": [{"given": "bolt", "suggested": "nut", "count": 1}],
        "seconds": 2.0,
        "device": "cpu",
    }
    summary = AuditSummary.model_validate(stored)
    assert summary.thresholds == {} and summary.feature_names == []
    assert summary.reference_examples == {}
    assert summary.epochs is summary.window is summary.rounds is None


def test_a_summary_missing_what_every_version_wrote_is_refused():
    with pytest.raises(ValidationError, match="flagged"):
        AuditSummary.model_validate({"samples": 3, "seconds": 1.0, "device": "cpu"})


def test_a_reaudits_round_has_one_default():
    assert round_of(None) == FIRST_ROUND == 1
    # Stored before the round was recorded: a re-audit of an upload's audit.
    legacy = Corrections.model_validate({"relabel": {"s1": "nut"}, "exclude": ["s2"]})
    assert legacy.round == 2 and legacy.reviews == {}
    assert round_of(legacy) == 2
    current = Corrections.model_validate(
        {
            "relabel": {},
            "exclude": [],
            "reviews": {
                "s0": {"action": "keep", "label": "bolt", "reviewed_by": "bob", "round": 2}
            },
            "round": 3,
        }
    )
    assert round_of(current) == 3 and current.reviews["s0"].round == 2
    assert through_json(current) == current
    with pytest.raises(ValidationError, match="round"):
        Corrections(round=FIRST_ROUND)


def test_progress_reads_back_and_old_reports_read_without_an_estimate():
    assert ProgressReport.starting().stage == LOADING
    done = ProgressReport.done(40)
    assert (done.stage, done.epoch, done.epochs, done.fraction) == (SAVING, 40, 40, 1.0)
    assert through_json(done) == done
    older = ProgressReport.model_validate(
        {"stage": "training", "epoch": 1, "epochs": 4, "fraction": 0.25}
    )
    assert older.eta_seconds is None and older.resumed_at is None


def test_an_outcome_whose_columns_disagree_is_refused_also_when_replaced():
    assert outcome().confusion[0].count == 1
    with pytest.raises(ValidationError, match="2 samples but flagged \\(1\\)"):
        outcome(flagged=[True])
    with pytest.raises(ValidationError, match="features"):
        dataclasses.replace(outcome(), features=[[1.0]])
    tables = dataclasses.replace(outcome(), feature_names=["f1"], features=[[1.0], [2.0]])
    assert tables.features == [[1.0], [2.0]] and tables.feature_names == ["f1"]
