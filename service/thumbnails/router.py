"""The thumbnails API: one sample's image, fitted in a square of ``size`` pixels or at its
original resolution."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from ..auth.dependencies import Reviewer
from ..dependencies import SessionDep, SettingsDep, StorageDep
from ..errors import ERROR_RESPONSES
from ..text import StoredText
from . import service

router = APIRouter(prefix="/audits", tags=["audits"], responses=ERROR_RESPONSES)


# Sample ids may be image paths with slashes, hence `:path`; installed before the audits'
# routes, whose `/{audit_id}/samples/{sample_id:path}` would take `.../image` too.
@router.get(
    "/{audit_id}/samples/{sample_id:path}/image",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def sample_image(
    audit_id: uuid.UUID,
    sample_id: StoredText,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    _reviewer: Reviewer,
    size: Annotated[int, Query(ge=16, le=1024)] = 256,
    original: Annotated[
        bool, Query(description="the image at its own resolution (PNG); `size` is ignored")
    ] = False,
) -> FileResponse:
    path = service.thumbnail(
        session,
        storage,
        audit_id,
        sample_id,
        size=None if original else size,
        limits=settings.limits,
    )
    media_type = "image/png" if original else "image/jpeg"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=3600"})
