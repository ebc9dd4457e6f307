"""What the audits API reads and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

from formats.contract import ConfusionCell, ProgressReport, RoundComparison
from formats.limits import MAX_ID_CHARS, MAX_LABEL_CHARS
from formats.options import (
    AuditConfig,
    backbone_text,
    default_epochs_text,
    default_image_size_text,
    mode_text,
    option_specs,
)
from formats.plan import Plan
from formats.worth_a_look import FEW_SHARE, MAX_WORTH_A_LOOK, MIN_WORTH_A_LOOK

from ..auth.models import MAX_NAME_CHARS
from ..reviews.actions import Decision
from ..text import StoredText, storable
from .models import MAX_AUDIT_NAME_CHARS, MAX_IDEMPOTENCY_KEY_CHARS, Status

# Text parameters with their limits checked first, so that a refusal speaks of characters.
ReviewerName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(storable)
]
SampleIdPart = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(storable)
]
# A sample's position in its dataset, as a path segment: the column is a 32-bit integer
# (PostgreSQL refuses a larger bound parameter with a 500 otherwise).
RowIndex = Annotated[int, Path(ge=0, le=2**31 - 1, description="the sample's row in the dataset")]
IdempotencyKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_IDEMPOTENCY_KEY_CHARS),
    AfterValidator(storable),
]
# What a review filter may name: pending, done (any decision), one decision, or any.
ReviewFilter = Literal["pending", "done", "any", Decision]
# Options that say how to read the upload rather than how to train.
READING_OPTIONS = ("label_column", "id_column")
# The engine's options an upload may set; their types, defaults and rules are AuditConfig's.
API_OPTIONS = ("loss", "k", "q", "epochs", "window", "mode", "seed", "image_size", "backbone")


class AuditOptions(BaseModel):
    """How to read the upload, and its name; the engine's options are added to it below."""

    model_config = ConfigDict(extra="forbid")

    name: StoredText | None = Field(None, min_length=1, max_length=MAX_AUDIT_NAME_CHARS)
    label_column: StoredText = Field("label", min_length=1, max_length=MAX_LABEL_CHARS)
    id_column: StoredText = Field("id", min_length=1, max_length=MAX_LABEL_CHARS)

    @model_validator(mode="after")
    def _valid_for_the_engine(self) -> AuditOptions:
        # A ConfigError is a ValueError: pydantic reports it with the others.
        self.engine_config()
        return self

    def engine_config(self) -> AuditConfig:
        """The options as the engine takes them, checked by its rules (ranges, window)."""
        return AuditConfig(**{name: getattr(self, name) for name in API_OPTIONS})

    def stored(self) -> dict[str, Any]:
        """The configuration as the audit keeps it (the name is kept apart)."""
        return self.model_dump(exclude={"name"})


DESCRIPTIONS = {
    "k": "flag when given-label confidence stays below k; omitted: k is chosen per class "
    "from the estimated number of wrong labels",
    "q": "Lq exponent",
    "epochs": f"omitted: {default_epochs_text()}",
    "window": "last epochs a flag must hold in",
    "mode": mode_text(),
    "image_size": f"side images are resized to; omitted: {default_image_size_text()}",
    "backbone": backbone_text(),
}
_ENGINE_FIELDS: dict[str, Any] = {
    spec.name: (spec.annotation, Field(spec.default, description=DESCRIPTIONS.get(spec.name)))
    for spec in option_specs(API_OPTIONS)
}
AuditConfigIn = create_model(
    "AuditConfigIn",
    __base__=AuditOptions,
    __doc__="The ``config`` part of an upload; every key is optional.",
    **_ENGINE_FIELDS,
)


class ReauditCreate(BaseModel):
    """Options of a re-audit: a name and config keys that replace the parent's."""

    model_config = ConfigDict(extra="forbid")

    name: StoredText | None = Field(default=None, min_length=1, max_length=MAX_AUDIT_NAME_CHARS)
    config: dict[str, Any] = Field(default_factory=dict)


class ProgressOut(ProgressReport):
    """How far a running audit is, as its worker last reported."""


class ConfusionCount(ConfusionCell):
    """A cell of the confusion the audit's summary reports."""


class RoundSummary(RoundComparison):
    """A re-audit's round and its flags against its parent's, as the summary reports them."""


class SummaryOut(BaseModel):
    samples: int
    flagged: int
    estimated_errors: dict[str, int]
    thresholds: dict[str, float] = Field(description="the k each given class was flagged with")
    confusion: list[ConfusionCount] = Field(description="flagged samples, given -> suggested")
    reviewed: int
    reviews: dict[str, int] = Field(description="reviewed samples by action")
    seconds: float
    device: str
    epochs: int | None = Field(None, description="epochs trained, resolved from the data if unset")
    mode: str | None = Field(
        None, description="mode the audit ran in, resolved from the data if unset"
    )
    image_size: int | None = Field(None, description="side the images were resized to")
    threads: int | None = Field(None, description="CPU threads the worker trained with")
    rounds: RoundSummary | None = Field(
        None, description="for a re-audit whose parent still exists: its flags against the parent's"
    )
    window: int | None = Field(None, description="last epochs the flag rule reads")
    plan: Plan | None = Field(
        None,
        description="every value the audit trained and flagged with (the options left unset "
        "resolved for its data); absent on audits stored before it was kept",
    )
    feature_seconds: float | None = Field(
        None, description="of seconds, what the pretrained backbone took to compute features"
    )
    expected_errors: int = Field(
        description="the wrong labels the estimate expects in all (estimated_errors summed), "
        "to read `flagged` against"
    )
    worth_a_look: int = Field(
        description="how many unflagged samples `/samples?worth_a_look=true` lists: the "
        f"highest scores, as many as expected_errors exceeds flagged by, from "
        f"{MIN_WORTH_A_LOOK} to {MAX_WORTH_A_LOOK} (fewer only when fewer are unflagged)"
    )
    few_flagged: bool = Field(
        description=f"fewer flags than expected_errors, than {MIN_WORTH_A_LOOK} or than "
        f"{FEW_SHARE:.0%} of the samples: the dashboard and the CLI show the worth-a-look "
        "samples beside them, so that few flags do not read as a clean set"
    )


class DatasetOut(BaseModel):
    filename: str
    format: str
    size_bytes: int
    kind: Literal["table", "image"]
    class_names: list[str] | None


class AuditOut(BaseModel):
    id: uuid.UUID
    name: str
    status: Status
    config: dict[str, Any]
    dataset: DatasetOut
    progress: ProgressOut | None
    error: str | None
    summary: SummaryOut | None
    parent_id: uuid.UUID | None
    corrections: dict[str, int] | None = Field(
        None, description="for a re-audit: how many labels it changed and samples it dropped"
    )
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempt: int
    worker_host: str | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None
