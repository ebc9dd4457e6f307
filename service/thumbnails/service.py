"""Thumbnails of an image audit's samples: made from the stored upload once, then cached."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import NamedTuple

from sqlalchemy.orm import Session

from formats import DatasetError, Limits, displayable, open_image, read_image_bytes

from ..audits.models import Audit, Sample
from ..audits.samples import require_row, require_sample
from ..audits.service import require_audit
from ..errors import InvalidInput, NotFound
from ..storage import Storage

# A thumbnail's source may be larger than its pixels suggest (PNG text chunks and the like).
MAX_SOURCE_BYTES = 256 * 1024 * 1024


# The sizes the dashboard shows, by what shows them (its pages read them from the layout);
# every other size a script may ask for is listed below: any size at all would let one
# reviewer fill the disk with a copy per size.
CARD_PX = 256  # the queue's cards and a strip's large example
STRIP_PX = 96  # a reference strip's small examples
THUMBNAIL_SIZES = tuple(sorted({64, 128, 512, CARD_PX, STRIP_PX}))


class Thumbnail(NamedTuple):
    path: Path
    media_type: str


def sample_thumbnail(
    session: Session,
    storage: Storage,
    audit_id: uuid.UUID,
    sample_id: str,
    *,
    size: int,
    original: bool,
    limits: Limits,
) -> Thumbnail:
    """The image of sample ``sample_id``: see :func:`thumbnail`."""
    audit = require_audit(session, audit_id)
    sample = require_sample(session, audit_id, sample_id)
    return thumbnail(storage, audit, sample, size=size, original=original, limits=limits)


def row_thumbnail(
    session: Session,
    storage: Storage,
    audit_id: uuid.UUID,
    row_index: int,
    *,
    size: int,
    original: bool,
    limits: Limits,
) -> Thumbnail:
    """The image of the sample at ``row_index``: see :func:`thumbnail`."""
    audit = require_audit(session, audit_id)
    sample = require_row(session, audit_id, row_index)
    return thumbnail(storage, audit, sample, size=size, original=original, limits=limits)


def thumbnail(
    storage: Storage, audit: Audit, sample: Sample, *, size: int, original: bool, limits: Limits
) -> Thumbnail:
    """A JPEG of the sample's image fitted in ``size`` pixels (one of
    :data:`THUMBNAIL_SIZES`), or if ``original`` a lossless PNG at its original resolution
    (what a reviewer zooms into to judge a fine defect), made once and then cached."""
    if not original and size not in THUMBNAIL_SIZES:
        allowed = ", ".join(map(str, THUMBNAIL_SIZES))
        raise InvalidInput(
            f"size must be one of {allowed} (pixels); got {size}",
            code="unsupported_size",
            details={"size": size, "allowed": list(THUMBNAIL_SIZES)},
        )
    if sample.image_path is None or audit.upload_kind != "zip":
        raise NotFound(f"sample {sample.sample_id!r} has no image", code="no_image")
    shown_size = None if original else size
    path = _cached_image(storage, audit, sample, sample.image_path, shown_size, limits)
    return Thumbnail(path, "image/png" if original else "image/jpeg")


def _cached_image(
    storage: Storage, audit: Audit, sample: Sample, member: str, size: int | None, limits: Limits
) -> Path:
    audit_id, sample_id = audit.id, sample.sample_id
    cached = storage.thumbnail_path(audit_id, sample.row_index, size)
    if cached.exists():
        return cached
    source = storage.upload_path(audit_id, audit.upload_kind)
    try:
        data = read_image_bytes(source, member, max_bytes=MAX_SOURCE_BYTES)
        # The same checks and messages as when the upload was read: the pixel limit, and a
        # damaged image named as such (the upload may have been damaged since).
        with open_image(lambda _: io.BytesIO(data), member, limits) as image:
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
