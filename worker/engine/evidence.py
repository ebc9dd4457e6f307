"""What a reviewer is shown beside a flag: the model's most probable classes for a sample,
and, per class, the samples that show best what the class looks like."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .history import RecordedView

TOP_CLASSES = 3
REFERENCE_EXAMPLES = 5
ROW_BLOCK = 4096


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
    n_samples, n_classes = mean_probabilities.shape
    kept = min(count, n_classes)
    order = np.empty((n_samples, kept), dtype=np.int64)
    chosen = np.empty((n_samples, kept), dtype=np.float32)
    # A block of rows at a time: sorting every row at once takes (n, c) int64 of memory.
    for start in range(0, n_samples, ROW_BLOCK):
        block = mean_probabilities[start : start + ROW_BLOCK]
        # Stable sort of the negated values: ties keep the lower class index first.
        top = np.argsort(-block, axis=1, kind="stable")[:, :kept]
        order[start : start + len(block)] = top
        chosen[start : start + len(block)] = np.take_along_axis(block, top, axis=1)
    return order, chosen


def deciding_evidence(
    read: RecordedView, views: tuple[RecordedView, ...], decided_by: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each sample's given-label history and top classes, read from the predictions that
    decided it (:attr:`FlagResult.decided_by`), so that its card shows what flagged it.

    Parameters
    ----------
    read : RecordedView
        The view the flags read (:func:`worker.engine.reading.read_view`).
    views : tuple of RecordedView
        The recorded views.
    decided_by : ndarray, (n,) int
        ``-1`` for ``read``, else the index in ``views`` of the view that decided.

    Returns
    -------
    given_history : ndarray, (epochs, n) float32
    top_indices, top_probabilities : ndarray, (n, t)
        As :func:`top_classes` returns them.
    """
    given = read.given_probability
    indices, probabilities = top_classes(read.window_mean)
    for view_index, view in enumerate(views):
        chosen = np.flatnonzero(decided_by == view_index)
        if not chosen.size:
            continue
        if given is read.given_probability:
            # Copied only when a view decides some samples: the history keeps what it reads.
            given = given.copy()
        given[:, chosen] = view.given_probability[:, chosen]
        indices[chosen], probabilities[chosen] = top_classes(view.window_mean[chosen])
    return given, indices, probabilities


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
