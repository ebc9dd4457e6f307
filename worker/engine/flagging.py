"""The cut: flag the samples whose given-label probability stays below their class's k.

What is read for it, per mode, is :mod:`worker.engine.reading`'s table; how many wrong labels
each class holds is :mod:`worker.engine.estimates`'. This module turns the two into flags,
scores and suggestions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .estimates import learned_flips, smallest_estimate
from .history import TrainingHistory, Window
from .reading import (
    Reading,
    learned_flip_windows,
    read_learned_classes,
    read_view,
    scored_histories,
)
from .result import FlagResult

# An automatic k never exceeds this: at or above it the given label is the model's own
# prediction (or ties with it), so the model does not contradict it.
MAX_AUTOMATIC_K = 0.5


def flag_recorded(
    history: TrainingHistory, labels: np.ndarray, *, reading: Reading, k: float | None = None
) -> FlagResult:
    """:func:`flag_samples` on what training recorded, read as ``reading`` (a row of
    :data:`~worker.engine.reading.READINGS`) says.

    Parameters
    ----------
    history : TrainingHistory
        ``(E, n)`` given-label probabilities and the windows' ``(n, c)`` means, per view.
    labels : ndarray, (n,) int
    reading : Reading
    k : float, optional
        One threshold for every class; None chooses one per class.
    """
    read = {name: read_view(history, name) for name in {reading.flags, *reading.count}}
    return flag_samples(
        read[reading.flags].window_view,
        labels,
        k=k,
        counted=[read[name].window_mean for name in reading.count],
        scored=scored_histories(history, reading),
        learned_flip_views=learned_flip_windows(history, reading),
    )


def flag_samples(
    window: Window,
    labels: np.ndarray,
    *,
    k: float | None,
    counted: Sequence[np.ndarray],
    scored: Sequence[np.ndarray],
    learned_flip_views: tuple[Window, ...],
) -> FlagResult:
    """Flag the samples whose given-label probability stays below their class's k.

    Parameters
    ----------
    window : Window
        The given-label probabilities ``(W, n)`` of the last W recorded epochs (W = 1 for
        out-of-fold ones) and the probability vectors ``(n, c)`` averaged over them.
    labels : ndarray, (n,) int
        Given labels.
    k : float or None
        One threshold in (0, 1) for every class: flagged when the given label's probability
        is below k in every one of the W epochs. ``None`` chooses k per class with
        :func:`automatic_thresholds`, so that each class gets about as many flags as it is
        estimated to hold wrong labels.
    counted : sequence of ndarray, (n, c)
        Probabilities to estimate the wrong labels from; a class gets the smallest estimate.
    scored : sequence of ndarray, (E_v, n)
        Given-label probabilities over a longer stretch of training than the window, one
        array per model that recorded them (their epochs may differ). The score averages
        each, then the models: a wrong label is one the model never learns until it
        memorises it, so the area under its curve separates errors from hard clean samples
        better than the last epochs alone (Pleiss et al. 2020, AUM).
    learned_flip_views : tuple of Window
        The in-sample and held-out windows that ``window`` averages, to read the classes
        whose flips the in-sample model learned the held-out way when k is automatic
        (:func:`~worker.engine.estimates.learned_flips`); empty: no such check.

    Returns
    -------
    FlagResult
        Per-sample arrays of shape ``(n,)`` and the ``(c,)`` thresholds and error estimates;
        ``score`` is one minus the mean given-label probability over ``scored``.
    """
    n_samples, n_classes = window.mean.shape
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.arange(n_samples)
    estimated = smallest_estimate(counted, labels, n_classes)
    highest = window.given.max(axis=0)
    learned = np.zeros(n_classes, dtype=bool)
    if k is None and learned_flip_views:
        flips = learned_flips(learned_flip_views, labels, highest, estimated)
        learned, estimated = flips.classes, flips.estimated_errors
    highest, decided_by = read_learned_classes(learned_flip_views, labels, learned, highest)
    if k is None:
        thresholds = automatic_thresholds(highest, labels, estimated)
    else:
        thresholds = np.full(n_classes, k, dtype=np.float32)
    # Below k in every epoch of the window is: below k at the window's highest.
    flagged = highest < thresholds[labels]
    confidence = window.given.mean(axis=0)
    score = 1.0 - np.mean([history.mean(axis=0) for history in scored], axis=0)
    suggested = window.mean.argmax(axis=1)
    suggested_probability = window.mean[rows, suggested]
    # The evidence of a sample read at one view (a learned flip) is that view's: read at
    # the average, a flagged flip would show the in-sample model agreeing with its label.
    for view, view_window in enumerate(learned_flip_views):
        chosen = np.flatnonzero(decided_by == view)
        if chosen.size:
            confidence[chosen] = view_window.given[:, chosen].mean(axis=0)
            suggested[chosen] = view_window.mean[chosen].argmax(axis=1)
            suggested_probability[chosen] = view_window.mean[chosen, suggested[chosen]]
    return FlagResult(
        flagged=flagged,
        confidence=confidence.astype(np.float32),
        score=score.astype(np.float32),
        suggested=suggested.astype(np.int64),
        suggested_probability=suggested_probability.astype(np.float32),
        thresholds=thresholds,
        estimated_errors=estimated,
        decided_by=decided_by,
    )


def automatic_thresholds(
    highest_given: np.ndarray, labels: np.ndarray, estimated_errors: np.ndarray
) -> np.ndarray:
    """Per-class k that flags each class's estimated number of wrong labels.

    Class i's k is the smallest window-highest given-label probability that is *not* among
    its ``estimated_errors[i]`` lowest, capped at :data:`MAX_AUTOMATIC_K`; so exactly the
    estimated number (fewer on ties or at the cap) stay below it.

    Parameters
    ----------
    highest_given : ndarray, (n,)
        Each sample's highest given-label probability over the window.
    labels : ndarray, (n,) int
    estimated_errors : ndarray, (c,) int

    Returns
    -------
    ndarray, (c,) float32
    """
    thresholds = np.full(estimated_errors.shape[0], MAX_AUTOMATIC_K, dtype=np.float32)
    for cls, estimate in enumerate(estimated_errors):
        values = np.sort(highest_given[labels == cls])
        if 0 <= estimate < values.size:
            thresholds[cls] = min(float(values[estimate]), MAX_AUTOMATIC_K)
    return thresholds


def flagged_confusion(flags: FlagResult, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """``(c, c)`` counts of flagged samples by (given label, suggested label)."""
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (np.asarray(labels)[flags.flagged], flags.suggested[flags.flagged]), 1)
    return confusion
