"""Progress reports from a running audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Where a running audit is.

    ``stage`` is one of ``loading``, ``training``, ``fold 2/5``, ``flagging``, ``done``;
    ``fraction`` runs from 0 to 1 over the whole audit; ``resumed_at`` is set on the report
    that a run resumed from a checkpoint made after that many epochs.
    """

    stage: str
    epoch: int
    epochs: int
    fraction: float
    resumed_at: int | None = None


ProgressCallback = Callable[[Progress], None]
