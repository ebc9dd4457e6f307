"""Re-audits: another training run on the parent's upload with the decisions of every
round so far applied, made once per request."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from formats import Limits
from formats.options import AuditConfig
from formats.training_memory import check_training_memory

from ..auth.schemas import Principal
from ..db import on_rollback
from ..errors import Conflict, InvalidInput
from ..queue import AuditQueue
from ..reviews import rounds_repository
from ..reviews.rounds import carried_corrections
from ..storage import Storage
from . import reaudits_repository
from .models import REUSABLE, Audit
from .schemas import READING_OPTIONS, ReauditCreate
from .service import require_succeeded, validate_config
from .validation import dataset_errors, inspect_upload


def reaudit(
    session: Session,
    storage: Storage,
    queue: AuditQueue,
    parent_id: uuid.UUID,
    request: ReauditCreate,
    principal: Principal,
    *,
    limits: Limits,
    idempotency_key: str | None = None,
) -> tuple[Audit, bool]:
    """A new audit of the parent's upload with the decisions of every round so far applied
    (relabels replace the given labels, excluded samples are dropped), and whether it is new.

    Repeating a request returns the re-audit it made: the same ``idempotency_key``, or
    without one, the same decisions and options while that re-audit has not failed. Options
    that change how the upload is read (its columns) are checked as an upload's are.
    """
    parent = require_succeeded(session, parent_id)
    if idempotency_key is not None:
        # A retry (the client timed out, say) gets its re-audit without checking it again.
        made = reaudits_repository.reaudit_by_key(session, parent.id, idempotency_key)
        if made is not None:
            return made, False
    options = validate_config({**parent.config, **request.config})
    config = options.stored()
    # Before the lock: checking a large upload takes minutes.
    classes = _reread_classes(storage, parent, config, limits, options.engine_config())
    if classes is None:
        _check_training_memory(parent, options.engine_config(), limits)
    # Locked on PostgreSQL, so that identical requests wait for each other and the parent
    # is not deleted meanwhile; the unique indexes keep twins out on SQLite too (see
    # reaudits_repository.insert_unless_twin).
    parent = require_succeeded(session, parent_id, for_update=True)
    corrections = carried_corrections(parent, rounds_repository.decisions(session, parent.id))
    if classes is not None:
        _check_relabels(corrections, classes, config["label_column"])
    fingerprint = hashlib.sha256(
        json.dumps([request.name, config, corrections], sort_keys=True).encode()
    ).hexdigest()

    def made_before() -> Audit | None:
        return reaudits_repository.reaudit_of(
            session,
            parent.id,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            reusable_statuses=REUSABLE,
        )

    existing = made_before()
    if existing is not None:
        return existing, False
    audit = reaudits_repository.insert_unless_twin(
        session,
        {
            "id": uuid.uuid4(),
            "name": request.name or f"{parent.name} (re-audit)",
            "status": "queued",
            "config": config,
            "corrections": corrections,
            "upload_filename": parent.upload_filename,
            "upload_kind": parent.upload_kind,
            "upload_size": parent.upload_size,
            "dataset_kind": parent.dataset_kind,
            "class_names": parent.class_names if classes is None else classes,
            "parent_id": parent.id,
            "created_by": principal.name,
            "queue": queue.default_queue,
            "idempotency_key": idempotency_key,
            "reaudit_fingerprint": fingerprint,
        },
    )
    if audit is None:  # an identical request made it meanwhile
        twin = made_before()
        if twin is None:  # and it failed already
            raise Conflict(
                "an identical re-audit was started and stopped meanwhile; retry",
                code="reaudit_conflict",
            )
        return twin, False
    on_rollback(session, lambda: storage.remove_audit_files(audit.id))
    storage.share_upload(parent.id, audit.id, parent.upload_kind)
    queue.enqueue(audit.id, audit.queue)
    return audit, True


def _reread_classes(
    storage: Storage, parent: Audit, config: dict[str, Any], limits: Limits, engine: AuditConfig
) -> list[str] | None:
    """Where the options read the upload another way (other columns), the classes the same
    check as an upload's finds (the training-memory budget with the re-audit's options
    included), refusing (422, the upload's codes) what the worker could not load; None where
    they read it as the parent did."""
    if all(config[option] == parent.config.get(option) for option in READING_OPTIONS):
        return None
    # The name the user knows, where its ending names the format the upload was read as.
    name = parent.upload_filename
    if not name.lower().endswith(f".{parent.upload_kind}"):
        name = f"upload.{parent.upload_kind}"
    summary = inspect_upload(
        storage.upload_path(parent.id, parent.upload_kind),
        name,
        label_column=config["label_column"],
        id_column=config["id_column"],
        limits=limits,
        engine=engine,
    )
    return list(summary.class_counts)


def _check_training_memory(parent: Audit, engine: AuditConfig, limits: Limits) -> None:
    """The upload's budget check with the re-audit's options (another mode or more epochs
    can need more memory than the parent's), on the samples the parent read."""
    summary = parent.stored_summary()
    # A succeeded audit has both.
    assert summary is not None and parent.class_names is not None
    with dataset_errors():
        samples = summary.samples
        plan = engine.plan(samples, is_image=parent.dataset_kind == "image")
        check_training_memory(
            samples, len(parent.class_names), plan, budget=limits.max_training_bytes
        )


def _check_relabels(corrections: dict[str, Any], classes: list[str], label_column: str) -> None:
    """Refuse (422, the worker's code) carried relabels to classes the label column lacks,
    which the worker could not apply."""
    unknown = sorted(set(corrections["relabel"].values()) - set(classes))
    if unknown:
        raise InvalidInput(
            f"relabel to unknown class(es): {', '.join(unknown)}; with label_column "
            f"{label_column!r} the classes are {', '.join(classes)}",
            code="unknown_class",
            details={"labels": unknown, "classes": classes},
        )
