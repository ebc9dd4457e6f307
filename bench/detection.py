"""What a detection benchmark method returns, and what it is given besides the noisy data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.features import PretrainedFeatures
from formats import Dataset
from worker.engine import AuditConfig


@dataclass(frozen=True)
class Detection:
    """One method's flags on one row.

    Attributes
    ----------
    flagged : ndarray, (n,) bool
    score : ndarray, (n,) float
        Higher: more likely wrong (the review order; AUPRC reads it).
    suggested : ndarray, (n,) int
    estimated_errors : int
        The method's own estimate of the wrong labels.
    seconds : float
        Wall time, the pretrained features' extraction included where the method reads them.
    sample_epochs : int
        Samples times epochs trained on, summed over every model the method trains.
    device : str
    backbone : str
        The pretrained features the method reads; ``none``: the pixels or the table.
    """

    flagged: np.ndarray
    score: np.ndarray
    suggested: np.ndarray
    estimated_errors: int
    seconds: float
    sample_epochs: int
    device: str
    backbone: str = "none"


@dataclass(frozen=True)
class RowInputs:
    """What a method gets besides the noisy dataset and the config.

    Attributes
    ----------
    records : Path or None
        Where training records are kept and reused (``--records``).
    features : callable
        The set's features of the backbone named, computed on the first call and cached.
    """

    records: Path | None
    features: Callable[[str], PretrainedFeatures]


Method = Callable[[Dataset, AuditConfig, RowInputs], dict[str, Detection]]
