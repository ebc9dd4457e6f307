import numpy as np
import pytest

from worker.engine.flagging import estimate_label_errors, flag_samples, flagged_confusion


def history(*epochs: list[list[float]]) -> np.ndarray:
    return np.asarray(epochs, dtype=np.float32)


def test_flags_only_samples_below_k_in_every_window_epoch():
    labels = np.array([0, 1, 0])
    window = history(
        [[0.2, 0.8], [0.9, 0.1], [0.4, 0.6]],
        [[0.3, 0.7], [0.6, 0.4], [0.7, 0.3]],
        [[0.1, 0.9], [0.8, 0.2], [0.45, 0.55]],
    )
    flags = flag_samples(window, labels, k=0.5)
    # Sample 0 always < 0.5; sample 1 (label 1) always < 0.5; sample 2 rose above k once.
    assert flags.flagged.tolist() == [True, True, False]
    assert flags.confidence == pytest.approx([0.2, (0.1 + 0.4 + 0.2) / 3, (0.4 + 0.7 + 0.45) / 3])
    assert flags.suggested.tolist() == [1, 0, 0]
    assert flags.suggested_probability[0] == pytest.approx(0.8)


def test_score_ranks_confident_contradictions_first():
    labels = np.array([0, 0, 0])
    window = history([[0.05, 0.95], [0.45, 0.55], [0.9, 0.1]])
    flags = flag_samples(window, labels, k=0.5)
    assert np.argsort(-flags.score).tolist() == [0, 1, 2]
    assert flags.score == pytest.approx([0.95, 0.55, 0.1])


def test_score_averages_the_longer_history_when_given():
    # Both end below k; sample 1 was learned early and only drifted, sample 0 never was.
    labels = np.array([0, 0])
    window = history([[0.3, 0.7], [0.3, 0.7]])
    given_history = np.array([[0.2, 0.9], [0.3, 0.8], [0.3, 0.3]], dtype=np.float32)
    flags = flag_samples(window, labels, k=0.5, given_history=given_history)
    assert flags.flagged.tolist() == [True, True]
    assert flags.score == pytest.approx([1 - 0.8 / 3, 1 - 2.0 / 3])
    assert flags.confidence == pytest.approx([0.3, 0.3])


def test_single_epoch_window_is_out_of_fold_flagging():
    window = history([[0.3, 0.7], [0.6, 0.4]])
    assert flag_samples(window, np.array([0, 0]), k=0.5).flagged.tolist() == [True, False]


def test_per_class_threshold_spares_a_uniformly_hard_class():
    # Class 1 is hard: every sample sits at 0.4. With one k they would all be flagged.
    labels = np.array([0, 0, 1, 1, 1])
    window = history([[0.9, 0.1], [0.1, 0.9], [0.6, 0.4], [0.6, 0.4], [0.9, 0.1]])
    assert flag_samples(window, labels, k=0.5).flagged.tolist() == [False, True, True, True, True]
    per_class = flag_samples(window, labels, k=0.5, per_class=True)
    assert per_class.thresholds[1] == pytest.approx(0.3)
    assert per_class.flagged.tolist() == [False, True, False, False, True]


def test_error_estimate_counts_confident_off_diagonal_samples():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    probabilities = np.array(
        [
            [0.9, 0.1],
            [0.8, 0.2],
            [0.9, 0.1],
            [0.1, 0.9],
            [0.1, 0.9],
            [0.2, 0.8],
            [0.3, 0.7],
            [0.95, 0.05],
        ]
    )
    assert estimate_label_errors(probabilities, labels, 2).tolist() == [1, 1]


def test_confusion_counts_flagged_given_to_suggested():
    labels = np.array([0, 1, 2, 0])
    window = history([[0.1, 0.9, 0.0], [0.0, 0.1, 0.9], [0.0, 0.0, 1.0], [0.1, 0.0, 0.9]])
    flags = flag_samples(window, labels, k=0.5)
    confusion = flagged_confusion(flags, labels, 3)
    assert confusion.tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
