import numpy as np
import pytest

from worker.engine.estimates import estimate_label_errors
from worker.engine.evidence import deciding_evidence
from worker.engine.flagging import (
    flag_recorded,
    flag_samples,
    flagged_confusion,
)
from worker.engine.history import RecordedView, TrainingHistory, Window
from worker.engine.reading import READINGS, deciding_view_names, read_view

from .learned_flips import FLIPS, LABELS, WINDOW, learned_flip_history


def history(*epochs: list[list[float]]) -> np.ndarray:
    return np.asarray(epochs, dtype=np.float32)


def flag_window(window, labels, *, views=(), k=None, counted=None, scored=None):
    """:func:`flag_samples` on full ``(W, n, c)`` windows, and the views they average; the
    count and the score read the window unless told otherwise."""
    read = Window.of(window, labels)
    return flag_samples(
        read,
        labels,
        k=k,
        counted=counted or [read.mean],
        scored=scored or [read.given],
        learned_flip_views=tuple(Window.of(view, labels) for view in views),
    )


def test_flags_only_samples_below_k_in_every_window_epoch():
    labels = np.array([0, 1, 0])
    window = history(
        [[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]],
        [[0.3, 0.7], [0.6, 0.4], [0.7, 0.3]],
        [[0.1, 0.9], [0.8, 0.2], [0.45, 0.55]],
    )
    flags = flag_window(window, labels, k=0.5)
    # Sample 0 always < 0.5; sample 1 (label 1) always < 0.5; sample 2 rose above k once.
    assert flags.flagged.tolist() == [True, True, False]
    assert flags.confidence == pytest.approx([0.2, (0.1 + 0.4 + 0.2) / 3, (0.4 + 0.7 + 0.45) / 3])
    assert flags.suggested.tolist() == [1, 0, 0]
    assert flags.suggested_probability[0] == pytest.approx(0.8)


def test_score_ranks_confident_contradictions_first():
    labels = np.array([0, 0, 0])
    window = history([[0.05, 0.95], [0.45, 0.55], [0.9, 0.1]])
    flags = flag_window(window, labels, k=0.5)
    assert np.argsort(-flags.score).tolist() == [0, 1, 2]
    assert flags.score == pytest.approx([0.95, 0.55, 0.1])


def test_score_averages_the_longer_history_when_given():
    # Both end below k; sample 1 was learned early and only drifted, sample 0 never was.
    labels = np.array([0, 0])
    window = history([[0.3, 0.7], [0.3, 0.7]])
    given_history = np.array([[0.2, 0.9], [0.3, 0.8], [0.3, 0.3]], dtype=np.float32)
    flags = flag_window(window, labels, k=0.5, scored=[given_history])
    assert flags.flagged.tolist() == [True, True]
    assert flags.score == pytest.approx([1 - 0.8 / 3, 1 - 2.0 / 3])
    assert flags.confidence == pytest.approx([0.3, 0.3])


def test_checked_mode_scores_with_every_model_but_flags_with_the_trained_one():
    # The trained model holds both rows near 0.45 after the warm-up; the held-out model,
    # half the epochs, has never seen row 1 and calls it wrong, while row 0 is merely hard.
    labels = np.array([0, 0, 1])
    trained_given = np.array([[0.5, 0.5, 0.9]] + [[0.45, 0.44, 0.9]] * 7, dtype=np.float32)
    held_out_given = np.array([[0.5, 0.5, 0.9]] + [[0.8, 0.05, 0.9]] * 3, dtype=np.float32)

    def window(given: np.ndarray) -> np.ndarray:
        first_class = np.where(labels == 0, given[-3:], 1 - given[-3:])
        return np.stack([first_class, 1 - first_class], axis=-1)

    views = (
        RecordedView.of(trained_given, window(trained_given), 1.0),
        RecordedView.of(held_out_given, window(held_out_given), 1.0),
    )
    checked = TrainingHistory(views, "checked")
    flags = flag_recorded(checked, labels, reading=READINGS["checked"], k=0.5)
    dynamics = TrainingHistory(views[:1], "dynamics")
    alone = flag_recorded(dynamics, labels, reading=READINGS["dynamics"], k=0.5)

    assert flags.flagged.tolist() == alone.flagged.tolist() == [True, True, False]
    assert alone.score[0] == pytest.approx(alone.score[1], abs=0.02)
    assert flags.score == pytest.approx([1 - (0.45 + 0.8) / 2, 1 - (0.44 + 0.05) / 2, 0.1])


def test_single_epoch_window_is_out_of_fold_flagging():
    window = history([[0.3, 0.7], [0.6, 0.4]])
    assert flag_window(window, np.array([0, 0]), k=0.5).flagged.tolist() == [True, False]


def test_automatic_k_flags_each_class_its_estimated_number_of_errors():
    # Class 0: two samples the model gives to class 1, one hard clean sample at 0.3.
    # Class 1: all confident. One k of 0.5 would also flag the hard sample.
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    given0 = [0.95, 0.9, 0.9, 0.3, 0.05, 0.1]
    window = history(
        [[p, 1 - p] for p in given0] + [[0.1, 0.9], [0.05, 0.95], [0.2, 0.8], [0.1, 0.9]]
    )
    fixed = flag_window(window, labels, k=0.5)
    assert fixed.flagged.tolist() == [False] * 3 + [True] * 3 + [False] * 4
    automatic = flag_window(window, labels)
    assert automatic.estimated_errors.tolist() == [2, 0]
    assert automatic.flagged.tolist() == [False] * 4 + [True] * 2 + [False] * 4
    # k is the lowest given-label probability left unflagged, at most 0.5.
    assert automatic.thresholds.tolist() == pytest.approx([0.3, 0.5])


def test_automatic_k_flags_the_smallest_of_several_estimates_per_class():
    # The window's model counts two wrong labels in class 0 and none in class 1; a second
    # model (one that never saw the samples) counts one in class 0 and two in class 1.
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    given0 = [0.95, 0.9, 0.9, 0.3, 0.05, 0.1]
    window = history(
        [[p, 1 - p] for p in given0] + [[0.1, 0.9], [0.05, 0.95], [0.2, 0.8], [0.1, 0.9]]
    )
    second_given0 = [0.95, 0.9, 0.9, 0.9, 0.05, 0.9]
    second = np.array(
        [[p, 1 - p] for p in second_given0] + [[0.9, 0.1], [0.9, 0.1], [0.2, 0.8], [0.1, 0.9]]
    )
    assert estimate_label_errors(second, labels, 2).tolist() == [1, 2]
    flags = flag_window(window, labels, counted=[window.mean(axis=0), second])
    assert flags.estimated_errors.tolist() == [1, 0]
    # Class 0's one flag is its least confident sample in the window.
    assert np.flatnonzero(flags.flagged).tolist() == [4]


def test_automatic_k_never_exceeds_one_half():
    # Everything is estimated wrong, but a sample the model agrees with is never flagged.
    labels = np.array([0, 0, 1, 1])
    window = history([[0.45, 0.55], [0.6, 0.4], [0.9, 0.1], [0.9, 0.1]])
    flags = flag_window(window, labels)
    assert flags.thresholds[0] == pytest.approx(0.5)
    assert flags.flagged.tolist() == [True, False, True, True]


def two_views(in_sample0: list[float], held_out0: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """One-epoch windows of two classes: class 0's given-label probabilities as listed, ten
    confident class-1 samples after them."""
    views = []
    for given0 in (in_sample0, held_out0):
        views.append(history([[p, 1 - p] for p in given0] + [[0.05, 0.95]] * 10))
    return views[0], views[1]


def test_learned_flips_are_counted_and_read_the_held_out_way():
    # Class 0's last four labels are flips the in-sample model learned (0.99); the models
    # that never saw them contradict them (0.04). Averaged, they sit at 0.515: none counted.
    labels = np.array([0] * 10 + [1] * 10)
    in_sample, held_out = two_views([0.95] * 6 + [0.99] * 4, [0.9] * 6 + [0.04] * 4)
    averaged = (in_sample + held_out) / 2
    plain = flag_window(averaged, labels)
    assert plain.estimated_errors.tolist() == [0, 0]
    assert not plain.flagged.any()
    flags = flag_window(averaged, labels, views=[in_sample, held_out])
    assert flags.estimated_errors.tolist() == [4, 0]
    assert np.flatnonzero(flags.flagged).tolist() == [6, 7, 8, 9]
    # Class 0 is read at its lower view, the held-out one (index 1) for every sample; class
    # 1 at the average (-1). Its evidence is that view's: the flips are not "agreed with".
    assert flags.decided_by.tolist() == [1] * 10 + [-1] * 10
    assert flags.confidence[6:10] == pytest.approx([0.04] * 4)
    assert flags.suggested[6:10].tolist() == [1] * 4
    assert flags.suggested_probability[6:10] == pytest.approx([0.96] * 4)
    assert flags.confidence[:6] == pytest.approx([0.9] * 6)
    # The flags' neighbours keep what they were: the score reads the average.
    assert flags.score == pytest.approx(plain.score)
    assert flags.suggested[10:].tolist() == plain.suggested[10:].tolist()
    # A fixed k reads the average as it is.
    fixed = flag_window(averaged, labels, k=0.5, views=[in_sample, held_out])
    assert not fixed.flagged.any()
    assert (fixed.decided_by == -1).all()
    assert fixed.suggested[6:10].tolist() == [0] * 4


def test_hard_clean_samples_are_not_taken_for_learned_flips():
    # Four class-0 samples neither view fits: averaged they are already below one half, so
    # the held-out models' higher count is their weakness, not flips the in-sample one hid.
    labels = np.array([0] * 10 + [1] * 10)
    in_sample, held_out = two_views([0.95] * 6 + [0.3] * 4, [0.9] * 6 + [0.04] * 4)
    averaged = (in_sample + held_out) / 2
    flags = flag_window(averaged, labels, views=[in_sample, held_out])
    assert flags.estimated_errors.tolist() == [0, 0]
    assert not flags.flagged.any()


def test_flips_without_a_direction_are_not_taken_for_learned_flips():
    # Four of each class the in-sample model fits and the held-out models give to the other
    # class: as many each way, as two classes the models confuse look, so no class is learned.
    labels = np.array([0] * 10 + [1] * 10)
    given = [0.95] * 6 + [0.99] * 4
    in_sample = history([[p, 1 - p] for p in given] + [[1 - p, p] for p in given])
    held = [0.95] * 6 + [0.04] * 4
    held_out = history([[p, 1 - p] for p in held] + [[1 - p, p] for p in held])
    averaged = (in_sample + held_out) / 2
    assert estimate_label_errors(held_out[0], labels, 2).tolist() == [4, 4]
    flags = flag_window(averaged, labels, views=[in_sample, held_out])
    assert flags.estimated_errors.tolist() == [0, 0]
    assert not flags.flagged.any()


def test_a_few_one_way_contradictions_are_not_taken_for_learned_flips():
    # Two of forty class-0 samples go one way to class 1: too few to be a learned pattern.
    labels = np.array([0] * 40 + [1] * 10)
    in_sample, held_out = two_views([0.95] * 38 + [0.99] * 2, [0.9] * 38 + [0.04] * 2)
    averaged = (in_sample + held_out) / 2
    assert estimate_label_errors(held_out[0], labels, 2).tolist() == [2, 0]
    flags = flag_window(averaged, labels, views=[in_sample, held_out])
    assert flags.estimated_errors.tolist() == [0, 0]
    assert not flags.flagged.any()


def test_disagreement_spread_over_several_classes_is_not_taken_for_learned_flips():
    # Eight class-0 samples the in-sample model fits and the held-out models give away, but
    # to three classes (3, 3 and 2): a hard class beside others, not a learned pattern.
    # Sent to one class, the same eight are learned flips.
    def views(partners: list[int]) -> tuple[np.ndarray, np.ndarray]:
        confident = [[0.95 if c == j else 0.05 / 3 for c in range(4)] for j in (1, 2, 3)]
        in_sample = [[0.95, 0.05 / 3, 0.05 / 3, 0.05 / 3]] * 12
        held_out = [[0.9, 0.1 / 3, 0.1 / 3, 0.1 / 3]] * 12
        for partner in partners:
            in_sample.append([0.99] + [0.01 / 3] * 3)
            held_out.append(
                [0.02 if c == 0 else (0.96 if c == partner else 0.01) for c in range(4)]
            )
        rest = [row for row in confident for _ in range(10)]
        return history(in_sample + rest), history(held_out + rest)

    labels = np.array([0] * 20 + [1] * 10 + [2] * 10 + [3] * 10)
    for partners, learned in (([1, 1, 1, 2, 2, 2, 3, 3], False), ([1] * 8, True)):
        in_sample, held_out = views(partners)
        assert estimate_label_errors(held_out[0], labels, 4)[0] == 8
        flags = flag_window((in_sample + held_out) / 2, labels, views=[in_sample, held_out])
        assert flags.estimated_errors[0] == (8 if learned else 0)
        assert flags.flagged[12:20].all() == learned
        assert not flags.flagged[:12].any()


def test_confusion_counts_flagged_given_to_suggested():
    labels = np.array([0, 1, 2, 0])
    window = history([[0.1, 0.9, 0.0], [0.0, 0.1, 0.9], [0.0, 0.0, 1.0], [0.1, 0.0, 0.9]])
    flags = flag_window(window, labels, k=0.5)
    confusion = flagged_confusion(flags, labels, 3)
    assert confusion.tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]


def test_a_learned_flip_shows_the_evidence_of_the_view_that_flagged_it():
    history = learned_flip_history()
    reading = READINGS["combined"]
    flags = flag_recorded(history, LABELS, reading=reading)
    assert np.flatnonzero(flags.flagged).tolist() == FLIPS
    names = deciding_view_names(history, reading, flags.decided_by).tolist()
    assert names == ["held-out"] * 10 + ["average"] * 10
    average = read_view(history, "average")
    given, indices, probabilities = deciding_evidence(average, history.views, flags.decided_by)
    held_out = history.view("held-out")
    assert given[:, FLIPS] == pytest.approx(held_out.given_probability[:, FLIPS])
    assert given[:, 10:] == pytest.approx(average.given_probability[:, 10:])
    assert indices[FLIPS].tolist() == [[1, 0]] * 4
    assert probabilities[FLIPS] == pytest.approx(np.array([[0.96, 0.04]] * 4))
    # Read at the average, the flips' history would sit at 0.515, above the k that flags them.
    assert average.given_probability[:, FLIPS] == pytest.approx(0.515)
    assert (given[-WINDOW:, FLIPS] < flags.thresholds[0]).all()
