"""Review decisions and their log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from ..auth.dependencies import Reviewer
from ..dependencies import SessionDep
from ..errors import BODY_ERROR_RESPONSES, ERROR_RESPONSES
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT
from ..text import StoredText
from . import service
from .schemas import ReviewBatch, ReviewLogPage, ReviewResult

router = APIRouter(prefix="/audits/{audit_id}/reviews", tags=["reviews"], responses=ERROR_RESPONSES)


@router.post("", response_model=ReviewResult, responses=BODY_ERROR_RESPONSES)
def review(
    audit_id: uuid.UUID, batch: ReviewBatch, session: SessionDep, reviewer: Reviewer
) -> ReviewResult:
    return service.apply_reviews(session, audit_id, batch, reviewer)


@router.get("", response_model=ReviewLogPage)
def review_log(
    audit_id: uuid.UUID,
    session: SessionDep,
    _reviewer: Reviewer,
    sample_id: StoredText | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ReviewLogPage:
    return service.review_log(session, audit_id, sample_id=sample_id, limit=limit, cursor=cursor)
