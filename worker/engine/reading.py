"""What the flag rule reads of an audit's recorded views, per mode: one table.

==========  ===========  =====================  ==================  =====================
mode        flags read   count read (smallest)  learned-flip check  score reads
==========  ===========  =====================  ==================  =====================
combined    average      average                yes                 in-sample, held-out
checked     in-sample    in-sample, held-out    no                  in-sample, held-out
pooled      in-sample    average                no                  in-sample, held-out
dynamics    in-sample    in-sample              no                  in-sample
crossval    held-out     held-out               no                  held-out
neighbours  neighbours   neighbours             no                  neighbours
==========  ===========  =====================  ==================  =====================

``average`` is the mean of the in-sample view and the held-out view; the count is each
class's estimate of its wrong labels (:mod:`worker.engine.estimates`), the smallest where two
views count; the learned-flip check reads the classes whose flips the in-sample model learned
as the truth at their held-out view (:func:`~worker.engine.estimates.learned_flips`); the
score averages each view's given-label history after the warm-up, then the views.
``neighbours`` is each sample's class frequencies among its nearest neighbours in feature
space (:mod:`worker.engine.neighbours`), one reading, nothing trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.evidence import DecidingView
from formats.options import Mode

from .history import RecordedView, TrainingHistory, Window

# The score skips each view's first epochs over this (a quarter), when every sample is
# still uncertain.
WARM_UP_SHARE = 4
# FlagResult.decided_by of a sample read at the view the flags read; a recorded view's index
# otherwise.
READ_FLAGS_VIEW = -1


@dataclass(frozen=True)
class Reading:
    """One row of :data:`READINGS`: what a mode's flag rule reads.

    Attributes
    ----------
    flags : str
        The view whose window is cut by each class's k.
    count : tuple of str
        The views whose confident joints estimate each class's wrong labels; a class gets
        the smallest (a second model's estimate checks the first's).
    learned_flip_check : bool
        Look for classes whose flips the in-sample model learned, and read them held out.
    score : tuple of str
        The views whose given-label histories the score averages.
    """

    flags: DecidingView
    count: tuple[DecidingView, ...]
    learned_flip_check: bool
    score: tuple[DecidingView, ...]


READINGS: dict[Mode, Reading] = {
    "combined": Reading("average", ("average",), True, ("in-sample", "held-out")),
    "checked": Reading("in-sample", ("in-sample", "held-out"), False, ("in-sample", "held-out")),
    "pooled": Reading("in-sample", ("average",), False, ("in-sample", "held-out")),
    "dynamics": Reading("in-sample", ("in-sample",), False, ("in-sample",)),
    "crossval": Reading("held-out", ("held-out",), False, ("held-out",)),
    "neighbours": Reading("neighbours", ("neighbours",), False, ("neighbours",)),
}


def read_view(history: TrainingHistory, name: DecidingView) -> RecordedView:
    """The view ``name`` of ``history``: a recorded one, or the ``average`` of them."""
    if name != "average":
        return history.view(name)
    return RecordedView(
        _mean([view.given_probability for view in history.views]),
        _mean([view.window_mean for view in history.views]),
        history.window_length,
        history.seconds,
    )


def scored_histories(history: TrainingHistory, reading: Reading) -> list[np.ndarray]:
    """``(E_v - E_v // 4, n)`` per view the score reads: its history after the warm-up."""
    return [
        given[len(given) // WARM_UP_SHARE :]
        for given in (history.view(name).given_probability for name in reading.score)
    ]


def learned_flip_windows(history: TrainingHistory, reading: Reading) -> tuple[Window, ...]:
    """The in-sample and held-out windows the learned-flip check compares; none where the
    reading has no check."""
    if not reading.learned_flip_check:
        return ()
    return (history.view("in-sample").window_view, history.view("held-out").window_view)


def read_learned_classes(
    windows: tuple[Window, ...], labels: np.ndarray, learned: np.ndarray, highest: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each sample of a ``learned`` class ``(c,)`` read at the lower of its views'
    window-highest given-label probabilities: that view decides it.

    Returns
    -------
    highest : ndarray, (n,)
        ``highest`` with the learned classes' samples read at their deciding view.
    decided_by : ndarray, (n,) int8
        The index (in ``windows``) of the view that decided each sample,
        :data:`READ_FLAGS_VIEW` for the samples of the other classes.
    """
    in_learned_class = learned[labels]
    if not windows:
        return highest, np.full(labels.size, READ_FLAGS_VIEW, dtype=np.int8)
    view_highest = np.array([window.given.max(axis=0) for window in windows])
    return (
        np.where(in_learned_class, view_highest.min(axis=0), highest),
        np.where(in_learned_class, view_highest.argmin(axis=0), READ_FLAGS_VIEW).astype(np.int8),
    )


def deciding_view_names(
    history: TrainingHistory, reading: Reading, decided_by: np.ndarray
) -> np.ndarray:
    """``(n,)`` str: the name of the view that decided each sample, from ``decided_by``
    (:data:`READ_FLAGS_VIEW`, or a recorded view's index)."""
    names = np.array([reading.flags, *history.names])
    return names[np.asarray(decided_by, dtype=np.int64) + 1]


def _mean(arrays: list[np.ndarray]) -> np.ndarray:
    # np.mean(arrays, axis=0), without stacking the (n, c) arrays into one more copy.
    total = np.array(arrays[0], dtype=np.float32)
    for array in arrays[1:]:
        np.add(total, array, out=total)
    return np.divide(total, len(arrays), out=total)
