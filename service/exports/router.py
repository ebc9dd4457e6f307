"""`GET /audits/{id}/export.csv`: suspects or corrected labels, streamed."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from ..audits.service import require_succeeded
from ..auth.dependencies import Reviewer
from ..dependencies import DatabaseDep, SessionDep
from ..errors import ERROR_RESPONSES
from .service import ExportKind, export_csv

router = APIRouter(tags=["exports"], responses=ERROR_RESPONSES)


@router.get(
    "/audits/{audit_id}/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export(
    audit_id: uuid.UUID,
    session: SessionDep,
    database: DatabaseDep,
    _reviewer: Reviewer,
    kind: ExportKind = "suspects",
) -> StreamingResponse:
    require_succeeded(session, audit_id)
    filename = f"audit-{audit_id}-{kind}.csv"
    return StreamingResponse(
        export_csv(database, audit_id, kind),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
