"""What a reviewer is shown beside a flag: the model's most probable classes for a sample,
and, per class, the samples that show best what the class looks like."""

from __future__ import annotations

import numpy as np

TOP_CLASSES = 3
REFERENCE_EXAMPLES = 5


def top_classes(
    mean_probabilities: np.ndarray, *, count: int = TOP_CLASSES
) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` most probable classes of each sample.

    Parameters
    ----------
    mean_probabilities : ndarray, (n, c)
        Probability vectors averaged over the flag window.
    count : int
        How many classes to keep (fewer when there are fewer classes).

    Returns
    -------
    indices : ndarray, (n, t) int64
        Class indices, most probable first; ``t = min(count, c)``.
    probabilities : ndarray, (n, t) float32
        Their mean probabilities.
    """
    kept = min(count, mean_probabilities.shape[1])
    # Stable sort of the negated values: ties keep the lower class index first.
    order = np.argsort(-mean_probabilities, axis=1, kind="stable")[:, :kept]
    chosen = np.take_along_axis(mean_probabilities, order, axis=1)
    return order.astype(np.int64), chosen.astype(np.float32)


def reference_examples(
    confidence: np.ndarray,
    labels: np.ndarray,
    flagged: np.ndarray,
    n_classes: int,
    *,
    count: int = REFERENCE_EXAMPLES,
) -> tuple[np.ndarray, ...]:
    """Per class, the unflagged samples the model is surest carry their given label.

    Parameters
    ----------
    confidence : ndarray, (n,)
        Mean given-label probability over the flag window.
    labels : ndarray, (n,) int
        Given labels.
    flagged : ndarray, (n,) bool
    n_classes : int
    count : int
        Examples per class (fewer when a class has fewer unflagged samples).

    Returns
    -------
    tuple of ndarray
        ``n_classes`` arrays of row indices ``(<= count,)`` int64, the most confident first
        (ties: the earlier row).
    """
    labels = np.asarray(labels, dtype=np.int64)
    candidates = np.flatnonzero(~np.asarray(flagged, dtype=bool))
    # Sorted by class, then confidence descending, then row: each class's best come first.
    order = np.lexsort((candidates, -confidence[candidates], labels[candidates]))
    ranked = candidates[order]
    starts = np.searchsorted(labels[ranked], np.arange(n_classes + 1))
    return tuple(
        ranked[starts[cls] : min(starts[cls] + count, starts[cls + 1])].astype(np.int64)
        for cls in range(n_classes)
    )
