"""The worker↔service contract: what crosses between the worker and the audit's row.

The worker builds these models; the service stores them as JSON (``model_dump(mode="json")``)
and reads the row back through them (``model_validate``), so both sides agree on every field
and its default in one place. Torch-free: the API imports it as the worker does.

- :class:`ProgressReport`: a running audit's ``progress`` column.
- :class:`Corrections`: a re-audit's ``corrections`` column, the decisions of every earlier
  round it applies, with its round (:func:`round_of`).
- :class:`AuditOutcome`: what a finished attempt hands to the service to store.
- :class:`AuditSummary`: an audit's ``summary`` column, written from the outcome, with the
  audit's :class:`formats.plan.Plan` (every value it trained and flagged with).

Rows written by older versions read as they are: the fields they lacked are optional, and
each such field says what it reads as on those rows.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, SkipValidation, model_validator
from pydantic.dataclasses import dataclass

from .plan import Plan
from .stages import LOADING, SAVING

# An audit of an upload is round 1; each re-audit is one more than its parent.
FIRST_ROUND = 1
# Corrections stored before the round was recorded belong to a re-audit of an upload's
# audit: re-audits did not yet carry the rounds before their parent's.
UNRECORDED_ROUND = FIRST_ROUND + 1


class ProgressReport(BaseModel):
    """How far a running audit is: its ``progress`` column, written by the worker."""

    # What it does now: one of the names in formats.stages.
    stage: str
    epoch: int
    epochs: int
    fraction: float
    eta_seconds: float | None = None
    # Set when this attempt resumed from a checkpoint taken after that many epochs.
    resumed_at: int | None = None

    @classmethod
    def starting(cls) -> ProgressReport:
        """An attempt that has just claimed its audit and loads the data."""
        return cls(stage=LOADING, epoch=0, epochs=0, fraction=0.0)

    @classmethod
    def done(cls, epochs: int) -> ProgressReport:
        """A finished audit: the epochs trained stay readable ("epoch 40 of 40", not 0 of 0)."""
        return cls(stage=SAVING, epoch=epochs, epochs=epochs, fraction=1.0, eta_seconds=0)


class CarriedReview(BaseModel):
    """A decision of an earlier round that a re-audit applies (a sample's ``prior_review``)."""

    action: str
    label: str | None = Field(description="the label the decision gave the sample")
    reviewed_by: str | None
    round: int = Field(description="the round of the audit the decision was made in")


class Corrections(BaseModel):
    """What a re-audit changes in its parent's upload: the decisions of every round so far.

    Only re-audits have corrections; an audit of an upload stores none (``None``) and is
    round :data:`FIRST_ROUND`. Rows stored before re-audits carried every round hold only
    ``relabel`` and ``exclude``: they read with no reviews, as round :data:`UNRECORDED_ROUND`.
    """

    relabel: dict[str, str] = Field(default_factory=dict, description="sample id -> label")
    exclude: list[str] = Field(default_factory=list, description="sample ids dropped")
    reviews: dict[str, CarriedReview] = Field(
        default_factory=dict, description="sample id -> the decision that applies to it"
    )
    round: int = Field(UNRECORDED_ROUND, ge=FIRST_ROUND + 1, description="this audit's round")


def round_of(corrections: Corrections | None) -> int:
    """An audit's round: :data:`FIRST_ROUND` without corrections, else the corrections'."""
    return FIRST_ROUND if corrections is None else corrections.round


class ConfusionCell(BaseModel):
    """Flagged samples of one given class whose suggestion is another."""

    given: str
    suggested: str
    count: int


class RoundComparison(BaseModel):
    """A re-audit's flags against its parent's, sample by sample; samples a decision
    excluded are not in the re-audit and count in none of them."""

    round: int = Field(description="1 for an audit of an upload, 2 for its re-audit, ...")
    resolved: int = Field(description="flagged in the parent, not flagged now")
    still_flagged: int = Field(description="flagged in the parent and again now")
    disputed: int = Field(
        description="flagged now although a reviewer decided on them in an earlier round"
    )
    new_suspects: int = Field(description="flagged now, not flagged in the parent")


# Per-sample columns are built by the worker's own conversions (plain str, float, bool);
# validating a million of each would copy them for nothing, so only their lengths are checked.
Column = Annotated[list[Any], SkipValidation]


@dataclass(frozen=True)
class AuditOutcome:
    """What a finished attempt hands to the service: every sample's scores (one entry per
    sample in each column, in row order) and what the summary reports.

    A (pydantic) dataclass, so the worker completes it with :func:`dataclasses.replace`.
    """

    sample_ids: Column
    given: Column
    suggested: Column
    confidence: Column
    score: Column
    flagged: Column
    image_paths: Column | None
    estimated_errors: dict[str, int]
    thresholds: dict[str, float]
    confusion: list[ConfusionCell]
    seconds: float
    device: str
    # Every value the audit trained and flagged with (the engine's result.plan).
    plan: Plan
    # Of ``seconds``, what the plan's backbone took to compute the images' features.
    feature_seconds: float = 0.0
    # Tables: each row's first feature values, under these names (what review cards show).
    feature_names: list[str] = Field(default_factory=list)
    features: Column | None = None
    # The CPU threads the worker trained with (LABELAUDIT_TRAINING_THREADS, or its CPUs).
    threads: int | None = None
    # The evidence for each flag, packed by formats.evidence: the given-label probability
    # after every epoch, and the top classes over the last ``window`` epochs (the flag's).
    history: Column | None = None
    top_classes: Column | None = None
    # Per sample, whose predictions decided it and the evidence above (DECIDING_VIEWS).
    deciding_view: Column | None = None
    # Per class, the sample ids of a few confidently labeled samples (for reviewers).
    reference_examples: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_entry_per_sample(self) -> AuditOutcome:
        samples = len(self.sample_ids)
        columns = {
            "given": self.given,
            "suggested": self.suggested,
            "confidence": self.confidence,
            "score": self.score,
            "flagged": self.flagged,
            "image_paths": self.image_paths,
            "features": self.features,
            "history": self.history,
            "top_classes": self.top_classes,
            "deciding_view": self.deciding_view,
        }
        uneven = [
            f"{name} ({len(values)})"
            for name, values in columns.items()
            if values is not None and len(values) != samples
        ]
        if uneven:
            raise ValueError(f"{samples} samples but {', '.join(uneven)} entries")
        return self


class AuditSummary(BaseModel):
    """A succeeded audit's ``summary`` column: its counts and how it was run.

    Every field after ``device`` was added by a later version; on rows stored before it,
    it reads as its default (which its description names where it matters).
    """

    samples: int
    flagged: int
    estimated_errors: dict[str, int]
    confusion: list[ConfusionCell]
    seconds: float
    device: str
    thresholds: dict[str, float] = Field(
        default_factory=dict, description="the k each given class was flagged with"
    )
    feature_names: list[str] = Field(
        default_factory=list, description="tables: the names of the features samples keep"
    )
    epochs: int | None = Field(None, description="epochs trained, resolved from the data if unset")
    mode: str | None = Field(None, description="mode the audit ran in, resolved if unset")
    image_size: int | None = Field(None, description="side the images were resized to")
    threads: int | None = Field(None, description="CPU threads the worker trained with")
    rounds: RoundComparison | None = Field(
        None, description="for a re-audit whose parent still exists: its flags against the parent's"
    )
    window: int | None = Field(None, description="last epochs the flag rule reads")
    reference_examples: dict[str, list[str]] = Field(
        default_factory=dict, description="per class, a few confidently labeled sample ids"
    )
    plan: Plan | None = Field(
        None, description="every value the audit trained and flagged with; None before it was kept"
    )
    feature_seconds: float | None = Field(
        None,
        description="of seconds, what the pretrained backbone (plan.backbone) took to compute "
        "the images' features; None before it was kept",
    )

    @classmethod
    def of(cls, outcome: AuditOutcome, *, rounds: RoundComparison | None) -> AuditSummary:
        """The summary of a stored outcome; ``rounds`` for a re-audit.

        The epochs, mode, image side and window are the plan's, so the fields older readers
        know agree with it.
        """
        plan = outcome.plan
        return cls(
            samples=len(outcome.sample_ids),
            flagged=sum(outcome.flagged),
            estimated_errors=outcome.estimated_errors,
            confusion=outcome.confusion,
            seconds=round(outcome.seconds, 3),
            device=outcome.device,
            thresholds=outcome.thresholds,
            feature_names=outcome.feature_names,
            epochs=plan.epochs,
            mode=plan.mode,
            image_size=plan.image_side,
            threads=outcome.threads,
            rounds=rounds,
            window=plan.window,
            reference_examples=outcome.reference_examples,
            plan=plan,
            feature_seconds=round(outcome.feature_seconds, 3),
        )
