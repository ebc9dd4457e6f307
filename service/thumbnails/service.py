"""Thumbnails of an image audit's samples: made from the stored upload once, then cached."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from formats import DatasetError, Limits, displayable, open_image, read_image_bytes

from ..audits.samples import require_sample
from ..audits.service import require_audit
from ..errors import InvalidInput, NotFound
from ..storage import Storage

# A thumbnail's source may be larger than its pixels suggest (PNG text chunks and the like).
MAX_SOURCE_BYTES = 256 * 1024 * 1024


def thumbnail(
    session: Session,
    storage: Storage,
    audit_id: uuid.UUID,
    sample_id: str,
    *,
    size: int | None,
    limits: Limits,
) -> Path:
    """A JPEG of the sample's image fitted in ``size`` pixels, or with ``size=None`` a
    lossless PNG at its original resolution (what a reviewer zooms into to judge a fine
    defect), made once and then cached."""
    audit = require_audit(session, audit_id)
    sample = require_sample(session, audit_id, sample_id)
    if sample.image_path is None or audit.upload_kind != "zip":
        raise NotFound(f"sample {sample_id!r} has no image", code="no_image")
    cached = storage.thumbnail_path(audit_id, sample.row_index, size)
    if cached.exists():
        return cached
    source = storage.upload_path(audit_id, audit.upload_kind)
    try:
        data = read_image_bytes(source, sample.image_path, max_bytes=MAX_SOURCE_BYTES)
        # The same checks and messages as when the upload was read: the pixel limit, and a
        # damaged image named as such (the upload may have been damaged since).
        with open_image(lambda _: io.BytesIO(data), sample.image_path, limits) as image:
            shown = displayable(image)
            if size is not None:
                shown.thumbnail((size, size))
    except DatasetError as exc:
        if exc.code == "image_too_large":
            raise InvalidInput(str(exc), code="image_too_large") from None
        raise NotFound(
            f"the image of sample {sample_id!r} cannot be shown: {exc}", code="no_image"
        ) from None
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{uuid.uuid4().hex}.part")
    if size is None:
        shown.save(partial, format="PNG")
    else:
        shown.save(partial, format="JPEG", quality=85)
    # Written aside and renamed, so a concurrent request never serves half a file.
    partial.replace(cached)
    return cached
