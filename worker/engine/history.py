"""What training records and the flag rule reads, kept compact.

The flag rule reads of the last ``W`` epochs (the window) only each sample's given-label
probability per epoch and its probability vector averaged over the window (for the
suggestion, the confident joint and the top classes). So a view keeps its given-label
history ``(epochs, n)`` and one ``(n, c)`` window mean, built as a running sum while the
window's epochs are recorded, never the ``(W, n, c)`` window itself: ``W`` times less memory
for the one array that grows with samples × classes (``formats.training_memory``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from formats.evidence import DecidingView


@dataclass(frozen=True)
class Window:
    """What the flag rule reads of the window.

    Attributes
    ----------
    given : ndarray, (W, n) float32
        Each sample's given-label probability in each epoch of the window.
    mean : ndarray, (n, c) float32
        Each sample's probability vector averaged over the window.
    """

    given: np.ndarray
    mean: np.ndarray

    @classmethod
    def of(cls, probabilities: np.ndarray, labels: np.ndarray) -> Window:
        """The window of full probability vectors ``(W, n, c)`` of samples given ``labels``."""
        rows = np.arange(probabilities.shape[1])
        return cls(
            probabilities[:, rows, np.asarray(labels, dtype=np.int64)],
            probabilities.mean(axis=0),
        )


@dataclass(frozen=True)
class RecordedView:
    """What the runs of one view recorded: in-sample, or held out from the models.

    Attributes
    ----------
    given_probability : ndarray, (epochs, n) float32
        Probability of each sample's given label after every epoch.
    window_mean : ndarray, (n, c) float32
        Probability vectors averaged over the last ``window`` epochs.
    window : int
        Epochs of the window ``W``; the last ``W`` rows of ``given_probability``.
    seconds : float
        Time the view's runs took.
    held_out : bool
        Recorded by models that never saw the samples they recorded.
    """

    given_probability: np.ndarray
    window_mean: np.ndarray
    window: int
    seconds: float
    held_out: bool = False

    @classmethod
    def of(
        cls,
        given_probability: np.ndarray,
        probabilities: np.ndarray,
        seconds: float,
        *,
        held_out: bool = False,
    ) -> RecordedView:
        """A view from its history and its full ``(W, n, c)`` window (tests, benchmarks)."""
        return cls(
            given_probability, probabilities.mean(axis=0), len(probabilities), seconds, held_out
        )

    @property
    def name(self) -> DecidingView:
        return "held-out" if self.held_out else "in-sample"

    @property
    def window_view(self) -> Window:
        return Window(self.given_probability[-self.window :], self.window_mean)


@dataclass(frozen=True)
class TrainingHistory:
    """What an audit's training runs recorded, per view, and what the audit reads of it.

    ``views`` holds one view, or in ``combined`` and ``checked`` mode two: the in-sample
    run's first, the held-out models' second. The audit reads the mean of the views, except
    in ``checked`` mode: there it reads the in-sample view, and the held-out one only checks
    how many wrong labels each class is estimated to hold.
    """

    views: tuple[RecordedView, ...]
    checked: bool = False

    @property
    def window_length(self) -> int:
        return self.views[0].window

    @cached_property
    def given_probability(self) -> np.ndarray:
        """``(epochs, n)``: the probability of each given label the audit reads."""
        return self._read([view.given_probability for view in self.views])

    @cached_property
    def mean_probabilities(self) -> np.ndarray:
        """``(n, c)``: the mean over the window the audit reads."""
        return self._read([view.window_mean for view in self.views])

    @property
    def window(self) -> Window:
        """The window the audit reads."""
        return Window(self.given_probability[-self.window_length :], self.mean_probabilities)

    @property
    def counted_probabilities(self) -> tuple[np.ndarray, ...]:
        """``(n, c)`` mean window probabilities, one per estimate of the wrong labels that
        the audit takes the smallest of, per class: each view's in ``checked`` mode, else
        those the audit reads."""
        if self.checked:
            return tuple(view.window_mean for view in self.views)
        return (self.mean_probabilities,)

    @property
    def averaged_views(self) -> tuple[Window, ...] | None:
        """The windows that the audit averages, in-sample first; None where it reads one
        view."""
        if self.checked or len(self.views) == 1:
            return None
        return tuple(view.window_view for view in self.views)

    @property
    def seconds(self) -> float:
        return sum(view.seconds for view in self.views)

    def deciding_views(self, decided_by: np.ndarray) -> np.ndarray:
        """``(n,)`` str: the name of the predictions that decided each sample, from
        :attr:`FlagResult.decided_by` (``-1`` what the audit reads, else a view's index)."""
        reading = "average" if self.averaged_views is not None else self.views[0].name
        names = np.array([reading, *(view.name for view in self.views)])
        return names[np.asarray(decided_by, dtype=np.int64) + 1]

    def _read(self, arrays: list[np.ndarray]) -> np.ndarray:
        if self.checked or len(arrays) == 1:
            return arrays[0]
        # np.mean(arrays, axis=0), without stacking the (n, c) arrays into one more copy.
        total = np.array(arrays[0], dtype=np.float32)
        for array in arrays[1:]:
            np.add(total, array, out=total)
        return np.divide(total, len(arrays), out=total)
