"""The number of wrong labels per class, estimated with confident learning, and the
classes whose flips the in-sample model learned as the truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .history import Window

# A class whose held-out models estimate at least this many times as many wrong labels as
# the averaged views do is one whose flips the in-sample model has learned as the truth.
LEARNED_RATIO = 1.5
# Sparser flips are not learned as a pattern: truncated Lq stops training on them.
LEARNED_SHARE = 0.1
# Learned flips go to one class; a class the held-out models merely find hard (a clean
# class beside a rare, hard one) spreads their disagreement over several.
PARTNER_SHARE = 0.5
# A sample whose averaged window-highest given-label probability stays below this is one the
# averaged views doubt; in a hard clean class at least DOUBTED_SHARE of the held-out estimate
# are, in a class of learned flips fewer (the in-sample model is sure of its flips).
DOUBTED_BELOW = 0.5
DOUBTED_SHARE = 0.5


@dataclass(frozen=True)
class LearnedFlips:
    """The classes whose flips the in-sample model learned, and their held-out count.

    Attributes
    ----------
    classes : ndarray, (c,) bool
    estimated_errors : ndarray, (c,) int64
        The held-out view's estimate for those classes, the one it was given for the others.
    """

    classes: np.ndarray
    estimated_errors: np.ndarray


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


def smallest_estimate(
    counted: Sequence[np.ndarray], labels: np.ndarray, n_classes: int
) -> np.ndarray:
    """``(c,)`` int64: per class, the smallest of the estimates of the ``(n, c)``
    probabilities in ``counted`` (a second model's estimate checks the first's)."""
    return np.min(
        [estimate_label_errors(probabilities, labels, n_classes) for probabilities in counted],
        axis=0,
    )


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


def learned_flips(
    views: tuple[Window, ...],
    labels: np.ndarray,
    highest_given: np.ndarray,
    estimated_errors: np.ndarray,
) -> LearnedFlips:
    """The classes whose flips the in-sample model learned, counted the held-out way.

    When a class's wrong labels follow a pattern (40% of the T-shirts labelled Shirt), the
    in-sample model learns the pattern as the truth and is confident in those labels, so the
    averaged views hide them and estimate too few. Models that never saw a sample still
    contradict it. A class is taken as learned when, by the held-out view's confident joint:

    - its estimate is at least :data:`LEARNED_RATIO` times the averaged one, and fewer than
      :data:`DOUBTED_SHARE` of that many of its samples stay below :data:`DOUBTED_BELOW`
      averaged (in a hard clean class, where the held-out models only disagree more, many
      do);
    - the flips have a direction: the held-out models give at least :data:`LEARNED_RATIO`
      times as many of its samples to the class they most give them to (its partner) as
      they give of the partner's to it. Flips from T-shirt to Shirt leave the T-shirts that
      stay looking like Shirts to the models, but far fewer than the Shirts that are
      T-shirts; two classes the models merely confuse lose about as many each way;
    - and they are a pattern: those given to the partner are at least
      :data:`LEARNED_SHARE` of the class and at least :data:`PARTNER_SHARE` of its held-out
      estimate. Learned flips send the held-out models' disagreement to one class; a hard
      clean class (Pullovers beside a rare Shirt class) spreads it over several.

    Flips that go both ways between two classes in equal numbers look like confusion, and
    are left to the averaged views.

    Parameters
    ----------
    views : tuple of Window
        The in-sample window, then the held-out one.
    labels : ndarray, (n,) int
    highest_given : ndarray, (n,)
        The averaged window-highest given-label probability.
    estimated_errors : ndarray, (c,) int
        The averaged views' estimate.
    """
    n_classes = estimated_errors.shape[0]
    classes = np.arange(n_classes)
    sizes = np.bincount(labels, minlength=n_classes)
    joint = confident_joint(views[-1].mean, labels, n_classes)
    held_out = off_diagonal(joint, sizes)
    np.fill_diagonal(joint, 0.0)
    partner = joint.argmax(axis=1)
    flow = joint[classes, partner]
    patterned = (
        (flow >= LEARNED_RATIO * joint[partner, classes])
        & (flow >= LEARNED_SHARE * sizes)
        & (flow >= PARTNER_SHARE * held_out)
    )
    doubted = np.bincount(labels, weights=highest_given < DOUBTED_BELOW, minlength=n_classes)
    learned = (
        (held_out >= LEARNED_RATIO * estimated_errors)
        & (doubted < DOUBTED_SHARE * held_out)
        & patterned
    )
    return LearnedFlips(learned, np.where(learned, held_out, estimated_errors))
