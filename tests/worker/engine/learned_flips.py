"""The learned-flip fixture as training would record it: class 0's last four labels are flips
the in-sample model learned (0.99), which the models that never saw them contradict (0.04);
averaged (0.515) they hide, so only the held-out view can flag them."""

from __future__ import annotations

import numpy as np

from worker.engine.history import RecordedView, TrainingHistory

EPOCHS = 4
WINDOW = 2
LABELS = np.array([0] * 10 + [1] * 10)
FLIPS = [6, 7, 8, 9]


def _view(given0: list[float]) -> RecordedView:
    """Every epoch alike: class 0's given-label probabilities as listed, ten confident
    class-1 samples after them."""
    first_class = np.array(given0 + [0.05] * 10, dtype=np.float32)
    probabilities = np.stack([first_class, 1 - first_class], axis=-1)
    given = np.where(LABELS == 0, first_class, 1 - first_class)
    return RecordedView.of(
        np.tile(given, (EPOCHS, 1)),
        np.tile(probabilities, (WINDOW, 1, 1)),
        1.0,
    )


def learned_flip_history() -> TrainingHistory:
    """A ``combined`` audit's two views of :data:`LABELS`."""
    return TrainingHistory(
        (_view([0.95] * 6 + [0.99] * 4), _view([0.9] * 6 + [0.04] * 4)), "combined"
    )
