"""The decisions and the label each gives a sample: one rule for the reviews, the exports
and the re-audit rounds (the dashboard gets it rendered, see test_vocabulary)."""

import pytest

from service.reviews.actions import (
    DECISIONS,
    FINAL_LABEL_FROM,
    corrected_label,
    decision_of,
    final_label,
)

LABELS = {"given_label": "bolt", "suggested_label": "nut"}


@pytest.mark.parametrize(
    ("action", "label", "final"),
    [
        ("accept", None, "nut"),
        ("keep", None, "bolt"),
        ("relabel", "washer", "washer"),
        ("exclude", None, None),
        ("clear", None, None),
    ],
)
def test_each_action_gives_its_final_label(action, label, final):
    assert final_label(action, label=label, **LABELS) == final


def test_every_action_has_a_rule_and_clear_is_no_decision():
    assert set(FINAL_LABEL_FROM) == {*DECISIONS, "clear"}
    assert decision_of("clear") is None
    assert [decision_of(action) for action in DECISIONS] == list(DECISIONS)


@pytest.mark.parametrize(
    ("action", "final", "corrected"),
    [
        (None, None, "bolt"),
        ("keep", "bolt", "bolt"),
        ("accept", "nut", "nut"),
        ("relabel", "washer", "washer"),
        ("exclude", None, None),
    ],
)
def test_the_corrected_dataset_holds_the_decisions_label(action, final, corrected):
    assert corrected_label(action, "bolt", final) == corrected
