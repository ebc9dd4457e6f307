"""What training records, kept compact.

The flag rule reads of the last ``W`` epochs (the window) only each sample's given-label
probability per epoch and its probability vector averaged over the window (for the
suggestion, the confident joint and the top classes). So a view keeps its given-label
history ``(epochs, n)`` and one ``(n, c)`` window mean, built as a running sum while the
window's epochs are recorded, never the ``(W, n, c)`` window itself: ``W`` times less memory
for the one array that grows with samples × classes (``formats.training_memory``). What each
mode reads of the views is :mod:`worker.engine.reading`'s table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.evidence import DecidingView
from formats.options import Mode

# The views each mode records, in order.
RECORDED_VIEWS: dict[Mode, tuple[DecidingView, ...]] = {
    "combined": ("in-sample", "held-out"),
    "checked": ("in-sample", "held-out"),
    "pooled": ("in-sample", "held-out"),
    "dynamics": ("in-sample",),
    "crossval": ("held-out",),
    "neighbours": ("neighbours",),
}


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
    """

    given_probability: np.ndarray
    window_mean: np.ndarray
    window: int
    seconds: float

    @classmethod
    def of(
        cls, given_probability: np.ndarray, probabilities: np.ndarray, seconds: float
    ) -> RecordedView:
        """A view from its history and its full ``(W, n, c)`` window (tests, benchmarks)."""
        return cls(given_probability, probabilities.mean(axis=0), len(probabilities), seconds)

    @property
    def window_view(self) -> Window:
        return Window(self.given_probability[-self.window :], self.window_mean)


@dataclass(frozen=True)
class TrainingHistory:
    """What an audit's training runs recorded: one view per name of
    :data:`RECORDED_VIEWS` ``[mode]``, in that order.

    Attributes
    ----------
    views : tuple of RecordedView
    mode : str
        The mode that recorded them (:class:`formats.options.Mode`).
    """

    views: tuple[RecordedView, ...]
    mode: Mode

    def __post_init__(self) -> None:
        names = RECORDED_VIEWS[self.mode]
        if len(self.views) != len(names):
            raise ValueError(f"{self.mode} mode records {len(names)} views; got {len(self.views)}")

    @property
    def names(self) -> tuple[DecidingView, ...]:
        return RECORDED_VIEWS[self.mode]

    def view(self, name: DecidingView) -> RecordedView:
        return self.views[self.names.index(name)]

    @property
    def window_length(self) -> int:
        return self.views[0].window

    @property
    def seconds(self) -> float:
        return sum(view.seconds for view in self.views)
