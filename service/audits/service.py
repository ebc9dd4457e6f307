"""Creating, reading, cancelling, deleting and re-running audits."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from formats.options import ConfigError

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
    ConfusionCount,
    DatasetOut,
    ProgressOut,
    ReauditCreate,
    RoundSummary,
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
) -> Audit:
    """Check a received upload, keep it under the new audit's folder and queue the audit.

    Whatever goes wrong, the upload is removed and no row is left behind.
    """
    try:
        config = parse_config(received.fields.get("config"))
        summary = inspect_upload(
            received.path,
            received.filename,
            label_column=config.label_column,
            id_column=config.id_column,
            limits=settings.limits,
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


def reaudit(
    session: Session,
    storage: Storage,
    queue: AuditQueue,
    parent_id: uuid.UUID,
    request: ReauditCreate,
    principal: Principal,
    *,
    idempotency_key: str | None = None,
) -> tuple[Audit, bool]:
    """A new audit of the parent's upload with the decisions of every round so far applied
    (relabels replace the given labels, excluded samples are dropped), and whether it is new.

    Repeating a request returns the re-audit it made: the same ``idempotency_key``, or
    without one, the same decisions and options while that re-audit has not failed.
    """
    # Locked, so that two identical requests at once make one re-audit.
    parent = require_succeeded(session, parent_id, for_update=True)
    config = validate_config({**parent.config, **request.config}).stored()
    corrections = carried_corrections(parent, repository.decisions(session, parent.id))
    fingerprint = hashlib.sha256(
        json.dumps([request.name, config, corrections], sort_keys=True).encode()
    ).hexdigest()
    existing = repository.reaudit_of(
        session,
        parent.id,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        reusable_statuses=("queued", "running", "succeeded"),
    )
    if existing is not None:
        return existing, False
    audit = Audit(
        id=uuid.uuid4(),
        name=request.name or f"{parent.name} (re-audit)",
        status="queued",
        config=config,
        corrections=corrections,
        upload_filename=parent.upload_filename,
        upload_kind=parent.upload_kind,
        upload_size=parent.upload_size,
        dataset_kind=parent.dataset_kind,
        class_names=parent.class_names,
        parent_id=parent.id,
        created_by=principal.name,
        queue=queue.default_queue,
        idempotency_key=idempotency_key,
        reaudit_fingerprint=fingerprint,
    )
    session.add(audit)
    session.flush()
    on_rollback(session, lambda: storage.remove_audit_files(audit.id))
    storage.share_upload(parent.id, audit.id, parent.upload_kind)
    queue.enqueue(audit.id, audit.queue)
    return audit, True


def carried_corrections(parent: Audit, decisions: list[Any]) -> dict[str, Any]:
    """The parent's corrections with its own decisions laid over them: a re-audit reads the
    original upload, so every earlier round's relabels and exclusions must come along."""
    earlier = parent.corrections or {}
    parent_round = earlier.get("round", 1)
    relabel: dict[str, str] = dict(earlier.get("relabel", {}))
    exclude = set(earlier.get("exclude", []))
    reviews: dict[str, dict[str, Any]] = dict(earlier.get("reviews", {}))
    for sample_id, action, given, final, reviewed_by in decisions:
        reviews[sample_id] = {
            "action": action,
            "label": final,
            "reviewed_by": reviewed_by,
            "round": parent_round,
        }
        if action == "exclude":
            exclude.add(sample_id)
        elif final is not None and final != given:
            relabel[sample_id] = final
    return {
        "relabel": relabel,
        "exclude": sorted(exclude),
        "reviews": reviews,
        "round": parent_round + 1,
    }


def to_out(audit: Audit, reviews: dict[str, int]) -> AuditOut:
    summary = None
    if audit.summary is not None:
        stored = audit.summary
        summary = SummaryOut(
            samples=stored["samples"],
            flagged=stored["flagged"],
            estimated_errors=stored["estimated_errors"],
            thresholds=stored.get("thresholds", {}),
            confusion=[ConfusionCount(**cell) for cell in stored["confusion"]],
            reviewed=sum(reviews.values()),
            reviews=reviews,
            seconds=stored["seconds"],
            device=stored["device"],
            epochs=stored.get("epochs"),
            mode=stored.get("mode"),
            image_size=stored.get("image_size"),
            rounds=RoundSummary(**stored["rounds"]) if stored.get("rounds") else None,
            window=stored.get("window"),
        )
    corrections = None
    if audit.corrections is not None:
        corrections = {
            "relabeled": len(audit.corrections.get("relabel", {})),
            "excluded": len(audit.corrections.get("exclude", [])),
        }
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
        progress=ProgressOut(**audit.progress) if audit.progress else None,
        error=audit.error,
        summary=summary,
        parent_id=audit.parent_id,
        corrections=corrections,
        created_by=audit.created_by,
        created_at=audit.created_at,
        started_at=audit.started_at,
        finished_at=audit.finished_at,
        attempt=audit.attempt,
        worker_host=audit.worker_host,
    )
