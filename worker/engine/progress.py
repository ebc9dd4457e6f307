"""Progress reports from a running audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """Where a running audit is.

    ``stage`` is one of ``loading``, ``training``, ``fold 2/5``, ``flagging``, ``done``;
    ``fraction`` runs from 0 to 1 over the whole audit.
    """

    stage: str
    epoch: int
    epochs: int
    fraction: float


ProgressCallback = Callable[[Progress], None]
