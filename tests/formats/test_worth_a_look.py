"""The worth-a-look rule: how many unflagged samples, which ones, and when they are shown."""

import numpy as np
import pytest

from formats.worth_a_look import (
    MAX_WORTH_A_LOOK,
    MIN_WORTH_A_LOOK,
    WorthALook,
    worth_a_look_rows,
)


@pytest.mark.parametrize(
    ("samples", "flagged", "estimated", "size", "few"),
    [
        # Nothing flagged, nothing expected: still a minute's list.
        (1000, 0, {"a": 0, "b": 0}, MIN_WORTH_A_LOOK, True),
        # The estimate expects more than was flagged: the gap, so both reach the estimate.
        (10_000, 3, {"a": 20, "b": 8}, 25, True),
        # A large gap is capped at a page of cards.
        (100_000, 0, {"a": 400}, MAX_WORTH_A_LOOK, True),
        # Flags cover the estimate and 1% of the set: the list is not pressed forward.
        (10_000, 120, {"a": 100, "b": 20}, MIN_WORTH_A_LOOK, False),
        (1000, 10, {"a": 10}, MIN_WORTH_A_LOOK, False),
        # Few flags although they cover the estimate: fewer than a minute's review...
        (300, 4, {"a": 4}, MIN_WORTH_A_LOOK, True),
        # ... or than 1% of a mostly clean set, where a class estimated clean hides one.
        (10_000, 20, {"a": 20}, MIN_WORTH_A_LOOK, True),
        (10_000, 100, {"a": 20}, MIN_WORTH_A_LOOK, False),
        # Never more than the unflagged samples.
        (12, 5, {"a": 30}, 7, True),
        (5, 5, {"a": 5}, 0, True),
        (0, 0, {}, 0, True),
    ],
)
def test_size_and_few(samples, flagged, estimated, size, few):
    look = WorthALook.of(samples, flagged, estimated)
    assert (look.size, look.few) == (size, few)
    assert look.expected == sum(estimated.values())


def test_describe_says_flagged_against_expected():
    assert WorthALook.of(5000, 3, {"a": 1200, "b": 12}).describe() == (
        "3 flagged of 1,212 expected from the estimate"
    )


def test_rows_are_the_unflagged_with_the_highest_scores_ties_by_row():
    score = np.array([0.9, 0.4, 0.7, 0.7, 0.1, 0.95], dtype=np.float32)
    flagged = np.array([True, False, False, False, False, True])
    assert worth_a_look_rows(score, flagged, 3).tolist() == [2, 3, 1]
    assert worth_a_look_rows(score, flagged, 10).tolist() == [2, 3, 1, 4]
    assert worth_a_look_rows(score, flagged, 0).tolist() == []


@pytest.mark.parametrize("seed", range(20))
def test_no_audit_of_a_non_empty_set_answers_with_neither_suspects_nor_a_list(seed):
    """Issue 31's target, for any counts: a set with wrong labels (or without) never gets
    an empty suspects list and an empty worth-a-look list together."""
    rng = np.random.default_rng(seed)
    samples = int(rng.integers(1, 5000))
    flagged = rng.random(samples) < rng.choice([0.0, 0.002, 0.05, 1.0])
    estimated = {"a": int(rng.integers(0, samples + 1))}
    look = WorthALook.of(samples, int(flagged.sum()), estimated)
    rows = worth_a_look_rows(rng.random(samples), flagged, look.size)
    assert flagged.any() or rows.size > 0
    assert rows.size == look.size and not flagged[rows].any()
