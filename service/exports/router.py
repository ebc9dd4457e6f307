"""`GET /audits/{id}/export.csv`: suspects or corrected labels, streamed."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from ..audits.service import require_succeeded
from ..auth.dependencies import Reviewer
from ..dependencies import DatabaseDep, SessionDep
from ..errors import ERROR_RESPONSES
from .service import ExportKind, escapes_formulas_by_default, export_csv

# Tells a reader of the export whether formula-like cells carry a leading quote.
FORMULA_CELLS_HEADER = "X-Formula-Cells"
router = APIRouter(tags=["exports"], responses=ERROR_RESPONSES)


@router.get(
    "/audits/{audit_id}/export.csv",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/csv": {}},
            "headers": {
                FORMULA_CELLS_HEADER: {
                    "description": "escaped: formula-like text cells start with a single "
                    "quote; exact: every value as stored",
                    "schema": {"type": "string", "enum": ["escaped", "exact"]},
                }
            },
        }
    },
)
def export(
    audit_id: uuid.UUID,
    session: SessionDep,
    database: DatabaseDep,
    _reviewer: Reviewer,
    kind: ExportKind = "suspects",
    escape_formulas: Annotated[
        bool | None,
        Query(
            description="prefix text cells that start like a formula (=, +, -, @, tab, CR) "
            "with a single quote, for spreadsheets; omitted: true for suspects, false for "
            "corrected (exact values for the next training run)"
        ),
    ] = None,
) -> StreamingResponse:
    """The flagged samples with their scores and decisions (``suspects``), or every sample
    with its final label (``corrected``). The ``X-Formula-Cells`` header says whether
    formula-like cells were prefixed (``escaped``) or are exact (``exact``)."""
    require_succeeded(session, audit_id)
    if escape_formulas is None:
        escape_formulas = escapes_formulas_by_default(kind)
    filename = f"audit-{audit_id}-{kind}.csv"
    return StreamingResponse(
        export_csv(database, audit_id, kind, escape_formulas=escape_formulas),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            FORMULA_CELLS_HEADER: "escaped" if escape_formulas else "exact",
        },
    )
