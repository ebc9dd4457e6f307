"""What an audit returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.plan import Plan


@dataclass(frozen=True)
class FlagResult:
    """Per-sample verdicts of :func:`worker.engine.flagging.flag_samples`.

    Attributes
    ----------
    flagged : ndarray, (n,) bool
        Given-label confidence stayed below the threshold over the window.
    confidence : ndarray, (n,) float32
        Mean probability of the given label over the window of the view that decided the
        sample (``decided_by``), as are ``suggested`` and ``suggested_probability``.
    score : ndarray, (n,) float32
        Suspicion, higher is more suspicious; used for ranking.
    suggested : ndarray, (n,) int64
        Argmax of the window-mean probabilities.
    suggested_probability : ndarray, (n,) float32
        Window-mean probability of the suggested label.
    thresholds : ndarray, (c,) float32
        The k used for each class (chosen per class unless the config set one).
    estimated_errors : ndarray, (c,) int64
        Estimated number of wrong labels per given class (confident learning).
    decided_by : ndarray, (n,) int8
        The view each sample was read at: ``-1`` (:data:`~.reading.READ_FLAGS_VIEW`) the
        window the flag rule was given, else the index of one of the views it averages (a class
        whose flips the in-sample model learned).
    """

    flagged: np.ndarray
    confidence: np.ndarray
    score: np.ndarray
    suggested: np.ndarray
    suggested_probability: np.ndarray
    thresholds: np.ndarray
    estimated_errors: np.ndarray
    decided_by: np.ndarray


@dataclass(frozen=True)
class AuditResult:
    """The outcome of :func:`worker.engine.audit`.

    Attributes
    ----------
    plan : Plan
        Every value the audit ran with (:meth:`formats.options.AuditConfig.plan`).
    sample_ids : ndarray, (n,) str
    given : ndarray, (n,) int64
        Given labels as indices into ``class_names``.
    flags : FlagResult
    class_names : tuple of str
    estimated_errors : dict of str to int
        Estimated number of wrong labels per given class.
    thresholds : dict of str to float
        The k each class was flagged with.
    confusion : ndarray, (c, c) int64
        ``confusion[i, j]``: flagged samples given class i whose suggested label is j.
    seconds : float
        Wall time of training and flagging.
    device : str
        Where it ran, e.g. ``cpu (2 threads)`` or ``cuda (NVIDIA H100)``.
    threads : int
        The CPU threads torch trained with (intra-op).
    deciding_view : ndarray, (n,) str
        Which predictions decided each sample (:data:`formats.evidence.DECIDING_VIEWS`):
        the evidence below is read from them.
    given_history : ndarray, (epochs, n) float32
        Probability of each sample's given label after every epoch: the curve the flag
        rule reads the end of.
    window : int
        How many of the last epochs the flag rule reads (``W``; the window is epochs
        ``epochs - W + 1`` to ``epochs``, counting from 1).
    top_classes : ndarray, (n, t) int64
        Each sample's ``t`` (3, or fewer classes) most probable classes over the window,
        most probable first.
    top_probabilities : ndarray, (n, t) float32
        Their mean probabilities over the window.
    reference_examples : tuple of ndarray
        Per class (``c`` arrays of up to 5 row indices, int64): unflagged samples with the
        highest given-label confidence over the window, the surest first; what the class
        looks like, for reviewers.
    feature_seconds : float
        Of ``seconds``, the time a pretrained backbone took to compute the images' features
        (``plan.backbone``; 0 without one).
    """

    plan: Plan
    sample_ids: np.ndarray
    given: np.ndarray
    flags: FlagResult
    class_names: tuple[str, ...]
    estimated_errors: dict[str, int]
    thresholds: dict[str, float]
    confusion: np.ndarray
    seconds: float
    device: str
    threads: int
    deciding_view: np.ndarray
    given_history: np.ndarray
    window: int
    top_classes: np.ndarray
    top_probabilities: np.ndarray
    reference_examples: tuple[np.ndarray, ...]
    feature_seconds: float = 0.0

    @property
    def n_flagged(self) -> int:
        return int(self.flags.flagged.sum())
