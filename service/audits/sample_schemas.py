"""What the API says of an audit's samples: one sample with its evidence, pages of them,
reference examples and the overview's statistics."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from formats.contract import CarriedReview
from formats.evidence import DecidingView

from ..reviews.actions import Decision


class ReviewState(BaseModel):
    """A sample's latest review; ``version`` is what a new review must name to replace it."""

    action: Decision | None
    final_label: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    version: int


class PriorReview(CarriedReview):
    """The decision an earlier round made on a sample, which the re-audit applied."""

    action: Decision


class ClassProbability(BaseModel):
    label: str
    probability: float


class SampleOut(BaseModel):
    sample_id: str
    row_index: int
    given_label: str
    suggested_label: str
    confidence: float
    score: float
    flagged: bool
    review: ReviewState
    image_url: str | None = Field(None, description="a thumbnail, for image datasets")
    features: dict[str, float] | None = Field(
        None, description="for tables: the row's first feature values, by column"
    )
    prior_review: PriorReview | None = Field(
        None, description="in a re-audit: the decision of an earlier round on this sample"
    )
    history: list[float] | None = Field(
        None,
        description="the model's probability of the given label after each epoch (to 1/255); "
        "null for audits run before it was kept",
    )
    window: list[int] | None = Field(
        None, description="the epochs (counting from 1) the flag rule reads: the last W"
    )
    threshold: float | None = Field(
        None, description="k of the given class: flagged when below it in every window epoch"
    )
    suggested_probability: float | None = Field(
        None, description="the model's mean probability of the suggested label over the window"
    )
    top_classes: list[ClassProbability] | None = Field(
        None,
        description="the most probable classes over the window (up to 3), most first; on "
        "the sample resource only (null in pages, which stay light)",
    )
    deciding_view: DecidingView | None = Field(
        None,
        description="whose predictions decided the flag, and the history, confidence, "
        "suggestion and top classes shown: the average of the trained model and the models "
        "that never saw the sample, the trained model alone ('in-sample'), the models "
        "that never saw it ('held-out') or its nearest neighbours' labels ('neighbours'); "
        "null for audits run before it was kept",
    )
    flag_reason: str | None = Field(
        None,
        description="why the sample was flagged (or not), in one sentence, as review cards "
        "show it; null when the audit kept no history",
    )


class SamplePage(BaseModel):
    items: list[SampleOut]
    next_cursor: str | None


class ReferenceExample(BaseModel):
    sample_id: str
    image_url: str | None = Field(None, description="a thumbnail, for image datasets")


class ReferenceExamples(BaseModel):
    """Per class, confidently labeled samples: what the class looks like."""

    examples: dict[str, list[ReferenceExample]] = Field(
        description="by class: up to 5 unflagged samples with the highest given-label "
        "confidence over the window, the surest first"
    )


class ConfidenceBin(BaseModel):
    lower: float
    upper: float
    flagged: int
    unflagged: int


class AuditStatistics(BaseModel):
    """What the dashboard's overview charts beyond the summary."""

    thresholds: dict[str, float] = Field(
        description="k per given class: samples whose confidence stays below it are flagged"
    )
    confidence_bins: list[ConfidenceBin] = Field(
        description="every sample's given-label confidence, in equal bins over [0, 1]"
    )
    flagged_reviews: dict[str, int] = Field(
        description="flagged samples by decision, `pending` for those without one"
    )
