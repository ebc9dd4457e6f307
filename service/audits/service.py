"""Creating, reading, cancelling, deleting and re-running audits."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from formats.contract import AuditSummary
from formats.options import ConfigError
from formats.worth_a_look import WorthALook

from ..auth.schemas import Principal
from ..config import Settings
from ..db import on_commit, on_rollback, utcnow
from ..errors import Conflict, InvalidInput, NotFound
from ..pagination import decode_cursor, encode_cursor
from ..queue import AuditQueue
from ..storage import ReceivedUpload, Storage
from . import repository
from .models import FINISHED, Audit
from .schemas import (
    AuditConfigIn,
    AuditOptions,
    AuditOut,
    AuditPage,
    DatasetOut,
    ProgressOut,
    SummaryOut,
)
from .validation import inspect_upload


def create_audit(
    session: Session,
    storage: Storage,
    queue: AuditQueue,
    settings: Settings,
    received: ReceivedUpload,
    principal: Principal,
    abandoned: threading.Event | None = None,
) -> Audit:
    """Check a received upload, keep it under the new audit's folder and queue the audit.

    Whatever goes wrong, the upload is removed and no row is left behind; the check stops
    at its next chunk once ``abandoned`` is set (the client disconnected).
    """
    try:
        config = parse_config(received.fields.get("config"))
        summary = inspect_upload(
            received.path,
            received.filename,
            label_column=config.label_column,
            id_column=config.id_column,
            limits=settings.limits,
            abandoned=abandoned,
            engine=config.engine_config(),
        )
    except BaseException:
        received.path.unlink(missing_ok=True)
        raise
    on_rollback(session, lambda: received.path.unlink(missing_ok=True))
    audit = Audit(
        id=uuid.uuid4(),
        name=config.name or PurePosixPath(received.filename.replace("\\", "/")).name,
        status="queued",
        config=config.stored(),
        upload_filename=received.filename[:255],
        upload_kind=summary.format,
        upload_size=received.size,
        dataset_kind=summary.kind,
        class_names=list(summary.class_counts),
        created_by=principal.name,
        queue=queue.default_queue,
    )
    session.add(audit)
    session.flush()
    on_rollback(session, lambda: storage.remove_audit_files(audit.id))
    storage.adopt_upload(received.path, audit.id, summary.format)
    # Sent before the commit, so an unreachable broker leaves no audit behind; the task
    # waits briefly for the row to become visible (see worker.tasks).
    queue.enqueue(audit.id, audit.queue)
    return audit


def parse_config(raw: str | None) -> AuditOptions:
    """The ``config`` form field: a JSON object of options, validated like the engine does."""
    try:
        options = json.loads(raw) if raw and raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"config is not valid JSON: {exc}", code="invalid_config") from None
    except RecursionError:
        raise InvalidInput("config is nested too deeply", code="invalid_config") from None
    if not isinstance(options, dict):
        raise InvalidInput("config must be a JSON object of options", code="invalid_config")
    return validate_config(options)


def validate_config(options: dict[str, Any]) -> AuditOptions:
    try:
        return AuditConfigIn.model_validate(options)
    except ValidationError as exc:
        problems = [_config_problem(error) for error in exc.errors()]
        summary = "; ".join(
            p["message"]
            if p["message"].startswith(f"{p['option']} ")
            else f"{p['option']}: {p['message']}"
            for p in problems
        )
        raise InvalidInput(
            f"invalid config: {summary}", code="invalid_config", details=problems
        ) from None


def _config_problem(error: Any) -> dict[str, str]:
    """A validation error as the option it concerns and what is wrong with it; the engine's
    own rules (ranges, the window) name their option themselves."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):
        return {"option": cause.option or "config", "message": str(cause)}
    return {
        "option": ".".join(str(part) for part in error["loc"]) or "config",
        "message": error["msg"],
    }


def require_audit(session: Session, audit_id: uuid.UUID, *, for_update: bool = False) -> Audit:
    audit = repository.get_audit(session, audit_id, for_update=for_update)
    if audit is None:
        raise NotFound(f"no audit {audit_id}", code="audit_not_found")
    return audit


def require_succeeded(session: Session, audit_id: uuid.UUID, *, for_update: bool = False) -> Audit:
    audit = require_audit(session, audit_id, for_update=for_update)
    if audit.status != "succeeded":
        raise Conflict(
            f"audit {audit_id} is {audit.status}; this needs a succeeded audit",
            code="audit_not_succeeded",
            details={"status": audit.status},
        )
    return audit


def describe(session: Session, audit: Audit) -> AuditOut:
    return to_out(audit, repository.review_counts(session, [audit.id]).get(audit.id, {}))


def list_page(session: Session, *, limit: int, cursor: str | None, status: str | None) -> AuditPage:
    after = None
    if cursor is not None:
        created_at, audit_id = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(created_at), uuid.UUID(audit_id))
        except (TypeError, ValueError):
            raise InvalidInput("the cursor is not valid", code="invalid_cursor") from None
        # Cursors this API writes carry UTC; a naive time cannot be compared with stored ones.
        if after[0].tzinfo is None:
            raise InvalidInput("the cursor is not valid", code="invalid_cursor")
    audits = repository.list_audits(session, limit=limit + 1, after=after, status=status)
    page, more = audits[:limit], len(audits) > limit
    counts = repository.review_counts(session, [audit.id for audit in page])
    next_cursor = None
    if more:
        last = page[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), str(last.id)])
    return AuditPage(
        items=[to_out(audit, counts.get(audit.id, {})) for audit in page], next_cursor=next_cursor
    )


def cancel_audit(session: Session, audit_id: uuid.UUID) -> Audit:
    """Stop a queued or running audit; its worker notices at its next progress report."""
    audit = require_audit(session, audit_id, for_update=True)
    if audit.status in FINISHED:
        raise Conflict(f"audit {audit_id} is already {audit.status}", code="audit_finished")
    audit.status = "cancelled"
    audit.finished_at = utcnow()
    session.flush()
    return audit


def delete_audit(session: Session, storage: Storage, audit_id: uuid.UUID) -> None:
    """Remove the audit, its samples and reviews (cascade), then its files."""
    require_audit(session, audit_id, for_update=True)
    repository.delete_audit(session, audit_id)
    session.flush()
    on_commit(session, lambda: storage.remove_audit_files(audit_id))


def worth_a_look_of(summary: AuditSummary) -> WorthALook:
    """The worth-a-look list a stored summary's counts call for (formats.worth_a_look)."""
    return WorthALook.of(summary.samples, summary.flagged, summary.estimated_errors)


def to_out(audit: Audit, reviews: dict[str, int]) -> AuditOut:
    stored = audit.stored_summary()
    summary = None
    if stored is not None:
        look = worth_a_look_of(stored)
        summary = SummaryOut.model_validate(
            {
                **stored.model_dump(exclude={"feature_names", "reference_examples"}),
                "reviewed": sum(reviews.values()),
                "reviews": reviews,
                "expected_errors": look.expected,
                "worth_a_look": look.size,
                "few_flagged": look.few,
            }
        )
    corrections = audit.stored_corrections()
    progress = audit.stored_progress()
    return AuditOut(
        id=audit.id,
        name=audit.name,
        status=audit.status,  # type: ignore[arg-type]
        config=audit.config,
        dataset=DatasetOut(
            filename=audit.upload_filename,
            format=audit.upload_kind,
            size_bytes=audit.upload_size,
            kind=audit.dataset_kind,  # type: ignore[arg-type]
            class_names=audit.class_names,
        ),
        progress=None if progress is None else ProgressOut.model_validate(progress.model_dump()),
        error=audit.error,
        summary=summary,
        parent_id=audit.parent_id,
        corrections=None
        if corrections is None
        else {"relabeled": len(corrections.relabel), "excluded": len(corrections.exclude)},
        created_by=audit.created_by,
        created_at=audit.created_at,
        started_at=audit.started_at,
        finished_at=audit.finished_at,
        attempt=audit.attempt,
        worker_host=audit.worker_host,
    )
