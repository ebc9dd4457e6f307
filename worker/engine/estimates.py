"""The number of wrong labels per class, estimated with confident learning."""

from __future__ import annotations

import numpy as np


def estimate_label_errors(
    probabilities: np.ndarray, labels: np.ndarray, n_classes: int
) -> np.ndarray:
    """Estimated number of wrong labels per given class: the off-diagonal mass of each row of
    the :func:`confident_joint`.

    Parameters
    ----------
    probabilities : ndarray, (n, c)
    labels : ndarray, (n,) int

    Returns
    -------
    ndarray, (c,) int64
    """
    labels = np.asarray(labels, dtype=np.int64)
    joint = confident_joint(probabilities, labels, n_classes)
    return off_diagonal(joint, np.bincount(labels, minlength=n_classes))


def confident_joint(probabilities: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The calibrated confident joint (Northcutt et al. 2021): how many samples given class i
    belong to class j.

    A sample given class i counts towards (i, j) when its probability of j reaches class j's
    mean self-confidence (the most probable such j); each row is then rescaled to the
    class's size.

    Parameters
    ----------
    probabilities : ndarray, (n, c)
    labels : ndarray, (n,) int

    Returns
    -------
    ndarray, (c, c) float64
    """
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=n_classes)
    self_confidence = probabilities[np.arange(labels.size), labels]
    thresholds = _class_mean(self_confidence, labels, n_classes, 1.0)
    above = probabilities >= thresholds[None, :] - 1e-6
    # In the probabilities' own dtype: a float64 copy would double this step's memory.
    masked = np.where(above, probabilities, probabilities.dtype.type(-1.0))
    confident = above.any(axis=1)
    joint = np.zeros((n_classes, n_classes), dtype=np.float64)
    np.add.at(joint, (labels[confident], masked.argmax(axis=1)[confident]), 1.0)
    row_sums = joint.sum(axis=1, keepdims=True)
    return np.divide(joint * counts[:, None], row_sums, where=row_sums > 0, out=joint)


def off_diagonal(joint: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``(c,)`` int64: each class's samples that its calibrated joint row puts elsewhere."""
    return np.rint(counts - np.diag(joint)).clip(0).astype(np.int64)


def _class_mean(values: np.ndarray, labels: np.ndarray, n_classes: int, empty: float) -> np.ndarray:
    sums = np.bincount(labels, weights=values, minlength=n_classes)
    counts = np.bincount(labels, minlength=n_classes)
    means = np.full(n_classes, empty, dtype=np.float64)
    np.divide(sums, counts, where=counts > 0, out=means)
    return means.astype(np.float32)
