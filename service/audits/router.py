"""The audits API: upload, read, cancel, delete, re-audit, and samples."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status

from ..auth.dependencies import Admin, Reviewer
from ..dependencies import QueueDep, SessionDep, SettingsDep, StorageDep
from ..errors import BODY_ERROR_RESPONSES, ERROR_RESPONSES
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT
from ..storage import receive_upload
from ..text import StoredText
from . import reaudits, samples, service
from .repository import NEAR_THRESHOLD_BAND, SampleFilter
from .sample_schemas import AuditStatistics, ReferenceExamples, SampleOut, SamplePage
from .schemas import (
    AuditOut,
    AuditPage,
    IdempotencyKey,
    ReauditCreate,
    ReviewerName,
    ReviewFilter,
    RowIndex,
    SampleIdPart,
    Status,
)
from .validation import run_while_connected

router = APIRouter(prefix="/audits", tags=["audits"], responses=ERROR_RESPONSES)
UPLOAD_BODY = {
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "config": {"type": "string", "description": "JSON object of options"},
                },
            }
        }
    },
    "required": True,
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AuditOut,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={413: ERROR_RESPONSES[422]},
)
async def create_audit(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    queue: QueueDep,
    admin: Admin,
) -> AuditOut:
    """Upload a dataset (`file`: CSV, Parquet, npz or image zip) with an optional JSON
    `config`, and queue its audit."""
    received = await receive_upload(request, storage.new_incoming_path(), settings.max_upload_bytes)
    try:
        # A check of a large file takes minutes: stop it once the client has gone away.
        audit = await run_while_connected(
            request,
            partial(service.create_audit, session, storage, queue, settings, received, admin),
        )
    finally:
        received.release()
    response.headers["Location"] = f"/audits/{audit.id}"
    return service.to_out(audit, {})


@router.get("", response_model=AuditPage)
def list_audits(
    session: SessionDep,
    _reviewer: Reviewer,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> AuditPage:
    return service.list_page(session, limit=limit, cursor=cursor, status=status)


@router.get("/{audit_id}", response_model=AuditOut)
def get_audit(audit_id: uuid.UUID, session: SessionDep, _reviewer: Reviewer) -> AuditOut:
    return service.describe(session, service.require_audit(session, audit_id))


@router.post("/{audit_id}/cancel", response_model=AuditOut)
def cancel_audit(audit_id: uuid.UUID, session: SessionDep, _admin: Admin) -> AuditOut:
    return service.describe(session, service.cancel_audit(session, audit_id))


@router.delete("/{audit_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_audit(
    audit_id: uuid.UUID, session: SessionDep, storage: StorageDep, _admin: Admin
) -> None:
    service.delete_audit(session, storage, audit_id)


@router.post(
    "/{audit_id}/reaudit",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AuditOut,
    responses={**BODY_ERROR_RESPONSES, 200: {"description": "the re-audit this request made"}},
)
def reaudit(
    audit_id: uuid.UUID,
    response: Response,
    session: SessionDep,
    storage: StorageDep,
    queue: QueueDep,
    settings: SettingsDep,
    admin: Admin,
    request: ReauditCreate | None = None,
    idempotency_key: Annotated[
        IdempotencyKey | None,
        Header(description="repeating a request with the same key returns its re-audit"),
    ] = None,
) -> AuditOut:
    """Audit the same data again with the decisions of every round applied (relabels,
    exclusions). Idempotent: the same `Idempotency-Key`, or without one the same decisions
    and options, answer 200 with the re-audit made before instead of starting another."""
    audit, created = reaudits.reaudit(
        session,
        storage,
        queue,
        audit_id,
        request or ReauditCreate(),
        admin,
        limits=settings.limits,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/audits/{audit.id}"
    return service.describe(session, audit)


@router.get("/{audit_id}/statistics", response_model=AuditStatistics)
def audit_statistics(
    audit_id: uuid.UUID,
    session: SessionDep,
    _reviewer: Reviewer,
    bins: Annotated[int, Query(ge=2, le=100)] = 20,
) -> AuditStatistics:
    """The given-label confidence histogram (with the threshold k) and the review progress
    of the flagged samples."""
    return samples.statistics(session, audit_id, bins=bins)


@router.get("/{audit_id}/examples", response_model=ReferenceExamples)
def reference_examples(
    audit_id: uuid.UUID, session: SessionDep, _reviewer: Reviewer
) -> ReferenceExamples:
    """Per class, a few samples the model is surest are labeled right: what each class
    looks like, to compare a flagged sample with."""
    return samples.reference_examples(session, audit_id)


@router.get("/{audit_id}/samples", response_model=SamplePage)
def list_samples(
    audit_id: uuid.UUID,
    session: SessionDep,
    _reviewer: Reviewer,
    flagged: bool | None = None,
    given_label: StoredText | None = None,
    suggested_label: StoredText | None = None,
    review: Annotated[
        ReviewFilter, Query(description="pending, done (any decision), one decision, or any")
    ] = "any",
    reviewed_by: Annotated[ReviewerName | None, Query(description="the reviewer's name")] = None,
    search: Annotated[
        SampleIdPart | None, Query(description="part of the sample id, any case")
    ] = None,
    prior_review: Annotated[
        bool | None,
        Query(description="in a re-audit: whether an earlier round decided on the sample"),
    ] = None,
    near_threshold: Annotated[
        bool,
        Query(description=f"keep the samples from their class's k to k + {NEAR_THRESHOLD_BAND}"),
    ] = False,
    worth_a_look: Annotated[
        bool,
        Query(
            description="keep the audit's worth-a-look samples: the unflagged samples with "
            "the highest scores, as many as the summary's `worth_a_look` says"
        ),
    ] = False,
    order: Literal["score", "row", "margin"] = "score",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> SamplePage:
    """A page of samples, most suspicious first (``order=score``), in file order (``row``),
    or by how far their given-label confidence lies above their class's threshold k
    (``margin``). `flagged=true&prior_review=true` lists the samples the model still flags
    although a reviewer decided on them in an earlier round; `worth_a_look=true` the
    samples worth a look although not flagged, when the flags are few."""
    where = SampleFilter(
        flagged,
        given_label,
        suggested_label,
        review,
        reviewed_by,
        search,
        prior_review,
        near_threshold,
    )
    return samples.list_samples(
        session, audit_id, where, order=order, limit=limit, cursor=cursor, worth_a_look=worth_a_look
    )


@router.get("/{audit_id}/rows/{row_index}", response_model=SampleOut)
def get_sample_at_row(
    audit_id: uuid.UUID,
    row_index: RowIndex,
    session: SessionDep,
    _reviewer: Reviewer,
) -> SampleOut:
    """The sample at ``row_index`` of the upload (0-based): the address the dashboard uses,
    which no sample id can make ambiguous."""
    return samples.get_sample_at_row(session, audit_id, row_index)


# Sample ids may be image paths with slashes, hence `:path`; the thumbnails' route for
# `.../image` is installed before this one.
@router.get("/{audit_id}/samples/{sample_id:path}", response_model=SampleOut)
def get_sample(
    audit_id: uuid.UUID, sample_id: StoredText, session: SessionDep, _reviewer: Reviewer
) -> SampleOut:
    return samples.get_sample(session, audit_id, sample_id)
