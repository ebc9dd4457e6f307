"""Turning recorded probabilities into flags, scores, suggestions and error estimates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .estimates import confident_joint, estimate_label_errors, off_diagonal
from .history import Window
from .result import FlagResult

if TYPE_CHECKING:
    from .history import TrainingHistory

# An automatic k never exceeds this: at or above it the given label is the model's own
# prediction (or ties with it), so the model does not contradict it.
MAX_AUTOMATIC_K = 0.5
# A class whose held-out models estimate at least this many times as many wrong labels as
# the averaged views do is one whose flips the in-sample model has learned as the truth.
LEARNED_RATIO = 1.5
# Sparser flips are not learned as a pattern: truncated Lq stops training on them.
LEARNED_SHARE = 0.1
# Learned flips go to one class; a class the held-out models merely find hard (a clean
# class beside a rare, hard one) spreads their disagreement over several.
PARTNER_SHARE = 0.5
# FlagResult.decided_by of a sample read at the window flag_samples is given (the average
# of the views, or the one view the mode reads); a view's index otherwise.
READ_WINDOW = -1


def flag_samples(
    window: Window,
    labels: np.ndarray,
    *,
    k: float | None = None,
    given_histories: Sequence[np.ndarray] | None = None,
    counted_probabilities: Sequence[np.ndarray] | None = None,
    view_windows: Sequence[Window] | None = None,
) -> FlagResult:
    """Flag the samples whose given-label probability stays below their class's k.

    Parameters
    ----------
    window : Window
        The given-label probabilities ``(W, n)`` of the last W recorded epochs (W = 1 for
        out-of-fold ones) and the probability vectors ``(n, c)`` averaged over them.
    labels : ndarray, (n,) int
        Given labels.
    k : float, optional
        One threshold in (0, 1) for every class: flagged when the given label's probability
        is below k in every one of the W epochs. ``None`` chooses k per class with
        :func:`automatic_thresholds`, so that each class gets about as many flags as it is
        estimated to hold wrong labels.
    given_histories : sequence of ndarray, (E_v, n), optional
        Given-label probabilities over a longer stretch of training than the window, one
        array per model that recorded them (their epochs may differ). The score averages
        each, then the models: a wrong label is one the model never learns until it
        memorises it, so the area under its curve separates errors from hard clean samples
        better than the last epochs alone (Pleiss et al. 2020, AUM). Defaults to the window.
    counted_probabilities : sequence of ndarray, (n, c), optional
        Probabilities to estimate the wrong labels from, one estimate each; a class's
        estimate is the smallest (a second model's estimate checks the first's). Defaults
        to the window's mean.
    view_windows : sequence of Window, optional
        The windows that ``window`` averages: the in-sample view's, then the
        held-out models'. With an automatic k, a class whose flips the in-sample model has
        learned is counted and read the held-out way (:func:`read_learned_flips`).

    Returns
    -------
    FlagResult
        Per-sample arrays of shape ``(n,)`` and the ``(c,)`` thresholds and error estimates;
        ``score`` is one minus the mean given-label probability over ``given_histories``.
    """
    n_samples, n_classes = window.mean.shape
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.arange(n_samples)
    given = window.given
    mean_probabilities = window.mean
    estimated = np.min(
        [
            estimate_label_errors(probabilities, labels, n_classes)
            for probabilities in (counted_probabilities or [mean_probabilities])
        ],
        axis=0,
    )
    highest = given.max(axis=0)
    decided_by = np.full(n_samples, READ_WINDOW, dtype=np.int8)
    if k is None and view_windows is not None:
        estimated, highest, decided_by = read_learned_flips(
            view_windows, labels, highest, estimated
        )
    if k is None:
        thresholds = automatic_thresholds(highest, labels, estimated)
    else:
        thresholds = np.full(n_classes, k, dtype=np.float32)
    # Below k in every epoch of the window is: below k at the window's highest.
    flagged = highest < thresholds[labels]
    confidence = given.mean(axis=0)
    if given_histories is None:
        score = 1.0 - confidence
    else:
        score = 1.0 - np.mean([history.mean(axis=0) for history in given_histories], axis=0)
    suggested = mean_probabilities.argmax(axis=1)
    suggested_probability = mean_probabilities[rows, suggested]
    # The evidence of a sample read at one view (a learned flip) is that view's: read at
    # the average, a flagged flip would show the in-sample model agreeing with its label.
    for view, view_window in enumerate(view_windows or ()):
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


def flag_recorded(
    history: TrainingHistory,
    labels: np.ndarray,
    *,
    k: float | None = None,
    learned_flip_check: bool = True,
) -> FlagResult:
    """:func:`flag_samples` on what training recorded, read the way its mode reads it; the
    score reads every model, after the warm-up (the first quarter of its epochs, when every
    sample is still uncertain).

    In ``checked`` mode the flags read the trained model alone, but the score also reads
    the held-out models: a trained MLP ranks an embedding's hard clean rows with its wrong
    ones, which models that never saw a row tell apart (``bench/results/detect-notes.md``).

    Parameters
    ----------
    history : TrainingHistory
        ``(E, n)`` given-label probabilities and the windows' ``(n, c)`` means, per view.
    labels : ndarray, (n,) int
    k : float, optional
    learned_flip_check : bool
        Where the audit averages two views, look for classes whose flips the in-sample
        model learned (:func:`read_learned_flips`); False reads the average alone.
    """
    return flag_samples(
        history.window,
        labels,
        k=k,
        given_histories=[
            view.given_probability[len(view.given_probability) // 4 :] for view in history.views
        ],
        counted_probabilities=history.counted_probabilities,
        view_windows=history.averaged_views if learned_flip_check else None,
    )


def read_learned_flips(
    view_windows: Sequence[Window],
    labels: np.ndarray,
    highest_given: np.ndarray,
    estimated_errors: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count and read the held-out way the classes whose flips the in-sample model learned.

    When a class's wrong labels follow a pattern (40% of the T-shirts labelled Shirt), the
    in-sample model learns the pattern as the truth and is confident in those labels, so the
    averaged views hide them and estimate too few. Models that never saw a sample still
    contradict it. A class is taken as learned when, by the held-out view's confident joint:

    - its estimate is at least :data:`LEARNED_RATIO` times the averaged one, and fewer than
      half that many of its samples stay below :data:`MAX_AUTOMATIC_K` averaged (in a hard
      clean class, where the held-out models only disagree more, many do);
    - the flips have a direction: the held-out models give at least :data:`LEARNED_RATIO`
      times as many of its samples to the class they most give them to (its partner) as
      they give of the partner's to it. Flips from T-shirt to Shirt leave the T-shirts that
      stay looking like Shirts to the models, but far fewer than the Shirts that are
      T-shirts; two classes the models merely confuse lose about as many each way;
    - and they are a pattern: those given to the partner are at least
      :data:`LEARNED_SHARE` of the class and at least :data:`PARTNER_SHARE` of its held-out
      estimate. Learned flips send the held-out models' disagreement to one class; a hard
      clean class (Pullovers beside a rare Shirt class) spreads it over several.

    Such a class gets the held-out estimate, and each of its samples is read at the lower of
    its two views' window-highest probabilities: that view decides it, and its evidence is
    that view's. Flips that go both ways between two classes in equal numbers look like
    confusion, and are left to the averaged views.

    Parameters
    ----------
    view_windows : sequence of Window
        The in-sample window, then the held-out one.
    labels : ndarray, (n,) int
    highest_given : ndarray, (n,)
        The averaged window-highest given-label probability.
    estimated_errors : ndarray, (c,) int
        The averaged views' estimate.

    Returns
    -------
    estimated_errors : ndarray, (c,) int64
    highest_given : ndarray, (n,)
    decided_by : ndarray, (n,) int8
        The view each sample of a learned class is read at (its index in
        ``view_windows``), :data:`READ_WINDOW` for the others.
    """
    n_classes = estimated_errors.shape[0]
    classes = np.arange(n_classes)
    sizes = np.bincount(labels, minlength=n_classes)
    joint = confident_joint(view_windows[-1].mean, labels, n_classes)
    held_out = off_diagonal(joint, sizes)
    np.fill_diagonal(joint, 0.0)
    partner = joint.argmax(axis=1)
    flow = joint[classes, partner]
    patterned = (
        (flow >= LEARNED_RATIO * joint[partner, classes])
        & (flow >= LEARNED_SHARE * sizes)
        & (flow >= PARTNER_SHARE * held_out)
    )
    below_half = np.bincount(labels, weights=highest_given < MAX_AUTOMATIC_K, minlength=n_classes)
    learned = (
        (held_out >= LEARNED_RATIO * estimated_errors) & (2 * below_half < held_out) & patterned
    )
    view_highest = np.array([window.given.max(axis=0) for window in view_windows])
    lowest_view = view_highest.argmin(axis=0)
    return (
        np.where(learned, held_out, estimated_errors),
        np.where(learned[labels], view_highest.min(axis=0), highest_given),
        np.where(learned[labels], lowest_view, READ_WINDOW).astype(np.int8),
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
