"""What the reviews API reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from formats.limits import MAX_ID_CHARS, MAX_LABEL_CHARS

from ..audits.sample_schemas import SampleOut
from ..text import StoredText
from .actions import RELABEL, Action


class ReviewItem(BaseModel):
    """One decision: ``accept`` the suggested label, ``relabel`` to ``label``, ``keep`` the
    given label, ``exclude`` the sample from the corrected dataset, or ``clear`` the decision
    so that the sample is pending again (what the dashboard's undo sends)."""

    model_config = ConfigDict(extra="forbid")

    sample_id: StoredText = Field(min_length=1, max_length=MAX_ID_CHARS)
    action: Action
    label: StoredText | None = Field(None, min_length=1, max_length=MAX_LABEL_CHARS)
    version: int | None = Field(
        None, ge=0, description="the sample's review version this decision replaces"
    )

    @model_validator(mode="after")
    def _label_goes_with_relabel(self) -> ReviewItem:
        if self.action == RELABEL and self.label is None:
            raise ValueError("relabel needs a label")
        if self.action != RELABEL and self.label is not None:
            raise ValueError(f"{self.action} takes no label; use relabel")
        return self


class ReviewBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ReviewItem] = Field(min_length=1, max_length=1000)


class ReviewResult(BaseModel):
    items: list[SampleOut]


class ReviewEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sample_id: str
    actor: str
    action: Action
    before: dict[str, Any]
    after: dict[str, Any]
    created_at: datetime


class ReviewLogPage(BaseModel):
    items: list[ReviewEventOut]
    next_cursor: str | None
