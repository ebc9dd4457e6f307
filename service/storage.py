"""Files under the data directory: uploads streamed to disk, per-audit folders, thumbnails."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.requests import Request

from .errors import InvalidInput, PayloadTooLarge

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

log = logging.getLogger(__name__)
MAX_FIELD_BYTES = 64 * 1024


@dataclass
class ReceivedUpload:
    """A multipart request whose one file part is on disk (at ``path``) and whose other
    parts are small text fields.

    The file stays locked (``flock``) until :meth:`release`, so that a service starting
    meanwhile does not take it for one abandoned by a crash.
    """

    path: Path
    filename: str = ""
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    lock: BinaryIO | None = None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.close()
            self.lock = None


class Storage:
    """The layout of the data directory: ``audits/<id>/upload.<kind>``, ``incoming/``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.incoming_dir = data_dir / "incoming"
        self.audits_dir = data_dir / "audits"

    def prepare(self) -> None:
        self.incoming_dir.mkdir(parents=True, exist_ok=True)
        self.audits_dir.mkdir(parents=True, exist_ok=True)

    def audit_dir(self, audit_id: uuid.UUID) -> Path:
        return self.audits_dir / str(audit_id)

    def upload_path(self, audit_id: uuid.UUID, kind: str) -> Path:
        return self.audit_dir(audit_id) / f"upload.{kind}"

    def checkpoint_path(self, audit_id: uuid.UUID) -> Path:
        return self.audit_dir(audit_id) / "checkpoint.pt"

    def remove_abandoned_uploads(self) -> int:
        """Delete the partial uploads of processes that died receiving them: those in
        ``incoming/`` that no live process holds locked. Returns how many."""
        removed = 0
        for path in self.incoming_dir.glob("*.part"):
            try:
                with path.open("rb") as handle:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    path.unlink()
            except (BlockingIOError, FileNotFoundError):
                continue
            removed += 1
        if removed:
            log.warning("removed %d upload(s) left incomplete by a previous run", removed)
        return removed

    def thumbnail_path(self, audit_id: uuid.UUID, row_index: int, size: int | None) -> Path:
        """A JPEG fitted in ``size`` pixels, or (``None``) a PNG at the original size."""
        if size is None:
            return self.audit_dir(audit_id) / "thumbnails" / "original" / f"{row_index}.png"
        return self.audit_dir(audit_id) / "thumbnails" / str(size) / f"{row_index}.jpg"

    def new_incoming_path(self) -> Path:
        return self.incoming_dir / f"{uuid.uuid4().hex}.part"

    def adopt_upload(self, received: Path, audit_id: uuid.UUID, kind: str) -> Path:
        """Move a validated upload from ``incoming/`` into the audit's folder."""
        target = self.upload_path(audit_id, kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(received, target)
        return target

    def share_upload(self, source: uuid.UUID, target: uuid.UUID, kind: str) -> None:
        """Give a re-audit the parent's upload: a hard link, so deleting either keeps the
        other's file; a copy where the file system has no hard links."""
        destination = self.upload_path(target, kind)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(self.upload_path(source, kind), destination)
        except OSError:
            shutil.copyfile(self.upload_path(source, kind), destination)

    def remove_audit_files(self, audit_id: uuid.UUID) -> None:
        shutil.rmtree(self.audit_dir(audit_id), ignore_errors=True)


async def receive_upload(request: Request, destination: Path, max_bytes: int) -> ReceivedUpload:
    """Stream a ``multipart/form-data`` body's ``file`` part to ``destination``.

    Never holds the file in memory and stops reading at ``max_bytes``; on any error the
    partial file is removed before the error propagates.
    """
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise InvalidInput(
            "send the dataset as multipart/form-data with a 'file' part (curl -F file=@data.csv)",
            code="not_multipart",
        )
    received = ReceivedUpload(path=destination)
    collector = _PartCollector(received, max_bytes)
    parser = MultipartParser(options[b"boundary"], collector.callbacks())
    handle = destination.open("wb")
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        collector.handle = handle
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if parser.state != MultipartState.END:
            raise FormParserError("it ends before its closing boundary (cut short?)")
        if not collector.saw_file:
            raise InvalidInput("the request has no 'file' part", code="missing_file")
        handle.flush()
    except BaseException as exc:
        destination.unlink(missing_ok=True)
        handle.close()
        if isinstance(exc, FormParserError):
            message = f"malformed multipart body: {exc}"
            raise InvalidInput(message, code="not_multipart") from None
        raise
    received.lock = handle
    return received


class _PartCollector:
    """python-multipart callbacks: the ``file`` part goes to disk, other parts to fields."""

    def __init__(self, received: ReceivedUpload, max_bytes: int) -> None:
        self.received = received
        self.max_bytes = max_bytes
        self.handle: BinaryIO | None = None
        self.saw_file = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._field = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._field = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = self._name == "file"
        if self._is_file:
            if self.saw_file:
                raise InvalidInput("send one 'file' part per upload", code="too_many_files")
            self.saw_file = True
            self.received.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._is_file:
            if len(self._field) + end - start > MAX_FIELD_BYTES:
                raise InvalidInput(
                    f"form field {self._name!r} is over {MAX_FIELD_BYTES // 1024} KiB",
                    code="field_too_large",
                )
            self._field += data[start:end]
            return
        self.received.size += end - start
        if self.received.size > self.max_bytes:
            raise PayloadTooLarge(
                f"the upload is over the limit of {self.max_bytes} bytes "
                "(LABELAUDIT_MAX_UPLOAD_BYTES)",
                details={"limit_bytes": self.max_bytes},
            )
        assert self.handle is not None
        self.handle.write(data[start:end])

    def _part_end(self) -> None:
        if not self._is_file:
            self.received.fields[self._name] = self._field.decode("utf-8", "replace")
