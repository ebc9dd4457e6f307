"""The confident-learning estimate of wrong labels per class."""

import numpy as np

from worker.engine.estimates import confident_joint, estimate_label_errors


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


def test_confident_joint_rows_are_rescaled_to_the_class_sizes():
    labels = np.array([0, 0, 0, 1, 1])
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.8, 0.2], [0.1, 0.9], [0.3, 0.7]])
    joint = confident_joint(probabilities, labels, 2)
    # Class 0's mean self-confidence is 0.63: samples 0 and 2 count as 0, sample 1 as 1.
    assert joint.sum(axis=1).tolist() == [3.0, 2.0]
    assert joint.tolist() == [[2.0, 1.0], [0.0, 2.0]]
