"""The thumbnails API: one sample's image, fitted in a square of ``size`` pixels or at its
original resolution; the sample named by its row (what the dashboard uses) or by its id."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from ..audits.schemas import RowIndex
from ..auth.dependencies import Reviewer
from ..dependencies import SessionDep, SettingsDep, StorageDep
from ..errors import ERROR_RESPONSES
from ..text import StoredText
from . import service

router = APIRouter(prefix="/audits", tags=["audits"], responses=ERROR_RESPONSES)
IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}}}
}
Size = Annotated[
    int,
    Query(
        description="the square the thumbnail fits in, one of "
        + ", ".join(map(str, service.THUMBNAIL_SIZES))
    ),
]
Original = Annotated[
    bool, Query(description="the image at its own resolution (PNG); `size` is ignored")
]


@router.get(
    "/{audit_id}/rows/{row_index}/image", response_class=FileResponse, responses=IMAGE_RESPONSES
)
def row_image(
    audit_id: uuid.UUID,
    row_index: RowIndex,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    _reviewer: Reviewer,
    size: Size = 256,
    original: Original = False,
) -> FileResponse:
    """The image of the sample at ``row_index`` of the upload: the ``image_url`` samples
    carry, which no sample id (``a/../b``, ``.``) can make ambiguous."""
    return _image(
        service.row_thumbnail(
            session,
            storage,
            audit_id,
            row_index,
            size=size,
            original=original,
            limits=settings.limits,
        )
    )


# Sample ids may be image paths with slashes, hence `:path`; installed before the audits'
# routes, whose `/{audit_id}/samples/{sample_id:path}` would take `.../image` too.
@router.get(
    "/{audit_id}/samples/{sample_id:path}/image",
    response_class=FileResponse,
    responses=IMAGE_RESPONSES,
)
def sample_image(
    audit_id: uuid.UUID,
    sample_id: StoredText,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    _reviewer: Reviewer,
    size: Size = 256,
    original: Original = False,
) -> FileResponse:
    return _image(
        service.sample_thumbnail(
            session,
            storage,
            audit_id,
            sample_id,
            size=size,
            original=original,
            limits=settings.limits,
        )
    )


def _image(image: service.Thumbnail) -> FileResponse:
    return FileResponse(
        image.path, media_type=image.media_type, headers={"Cache-Control": "max-age=3600"}
    )
