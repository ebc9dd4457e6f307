"""An audit (one upload, its configuration and outcome) and the per-sample results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from formats.contract import AuditSummary, Corrections, ProgressReport
from formats.limits import MAX_ID_CHARS, MAX_LABEL_CHARS

from ..auth.models import MAX_NAME_CHARS
from ..db import Base, BigIdType, JsonType, NullableJsonType, utcnow

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
STATUSES: tuple[Status, ...] = get_args(Status)
FINISHED: tuple[Status, ...] = ("succeeded", "failed", "cancelled")
# Still on its way: the dashboard follows its progress.
ACTIVE = tuple(status for status in STATUSES if status not in FINISHED)
MAX_AUDIT_NAME_CHARS = 200
MAX_IDEMPOTENCY_KEY_CHARS = 200
# A re-audit in one of these is handed out again for a repeated request without an
# Idempotency-Key (one that failed or was cancelled is not).
REUSABLE = ("queued", "running", "succeeded")
# The rows of the unique index on re-audit fingerprints (migration 0007 spells it out).
REUSABLE_WITHOUT_KEY = "idempotency_key IS NULL AND status IN ({})".format(
    ", ".join(f"'{status}'" for status in REUSABLE)
)


class Audit(Base):
    __tablename__ = "audits"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(MAX_AUDIT_NAME_CHARS))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    config: Mapped[dict[str, Any]]
    # A re-audit's decisions carried over from the earlier rounds, and its round
    # (formats.contract.Corrections; read with stored_corrections).
    corrections: Mapped[dict[str, Any] | None]
    upload_filename: Mapped[str] = mapped_column(String(255))
    upload_kind: Mapped[str] = mapped_column(String(16))
    upload_size: Mapped[int] = mapped_column(BigInteger)
    dataset_kind: Mapped[str] = mapped_column(String(16))
    class_names: Mapped[list[str] | None]
    # formats.contract.ProgressReport, written by the worker (read with stored_progress).
    progress: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    # formats.contract.AuditSummary, written by the worker (read with stored_summary).
    summary: Mapped[dict[str, Any] | None]
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("audits.id", ondelete="SET NULL"), index=True
    )
    created_by: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # A running audit's worker renews its lease every few seconds; once it has expired,
    # a sweeper hands the audit to another worker (see worker_sweeps.requeue_expired).
    heartbeat_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    worker_host: Mapped[str | None] = mapped_column(String(255))
    # The fencing token: each claim increments it, and a worker's writes name its own.
    attempt: Mapped[int] = mapped_column(default=0)
    # The queue the audit was sent to, so a re-queued audit goes back to the same workers.
    queue: Mapped[str] = mapped_column(String(64), server_default="cpu")
    # When its task was last sent. A queued audit left unclaimed long after this, on a
    # queue holding fewer messages than queued audits, has lost its message and is sent
    # again (see worker_sweeps.resend_lost).
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A re-audit remembers the request that made it, so that repeating the request returns
    # it instead of a twin: the client's Idempotency-Key, and a digest of the parent's
    # decisions and the options.
    idempotency_key: Mapped[str | None] = mapped_column(String(MAX_IDEMPOTENCY_KEY_CHARS))
    reaudit_fingerprint: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audits_created_at_id", "created_at", "id"),
        Index("ix_audits_status_lease_expires_at", "status", "lease_expires_at"),
        # One re-audit per request, enforced by the database on SQLite as on PostgreSQL
        # (SQLite ignores FOR UPDATE): per Idempotency-Key, and without one per fingerprint
        # among the re-audits still handed out. NULLs are distinct: other audits pass.
        Index(
            "uq_audits_parent_id_idempotency_key",
            "parent_id",
            "idempotency_key",
            unique=True,
        ),
        Index(
            "uq_audits_parent_id_reaudit_fingerprint",
            "parent_id",
            "reaudit_fingerprint",
            unique=True,
            postgresql_where=text(REUSABLE_WITHOUT_KEY),
            sqlite_where=text(REUSABLE_WITHOUT_KEY),
        ),
    )

    def stored_summary(self) -> AuditSummary | None:
        """The summary the worker stored, read through the contract; None before it
        succeeded. Read once per value: a page of samples asks for it once a sample."""
        if self.summary is None:
            return None
        raw, read = self.__dict__.get("_summary_read", (None, None))
        if raw is not self.summary or read is None:
            read = AuditSummary.model_validate(self.summary)
            self.__dict__["_summary_read"] = (self.summary, read)
        return read

    def stored_corrections(self) -> Corrections | None:
        """A re-audit's corrections, read through the contract; None for an audit of an
        upload."""
        return None if self.corrections is None else Corrections.model_validate(self.corrections)

    def stored_progress(self) -> ProgressReport | None:
        """How far the worker got, as it last reported; None before it claimed the audit."""
        return None if self.progress is None else ProgressReport.model_validate(self.progress)


class Sample(Base):
    """One row of the dataset with its scores and its latest review."""

    __tablename__ = "samples"

    id: Mapped[int] = mapped_column(BigIdType, primary_key=True)
    audit_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"))
    row_index: Mapped[int]
    sample_id: Mapped[str] = mapped_column(String(MAX_ID_CHARS))
    given_label: Mapped[str] = mapped_column(String(MAX_LABEL_CHARS))
    suggested_label: Mapped[str] = mapped_column(String(MAX_LABEL_CHARS))
    confidence: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    flagged: Mapped[bool]
    image_path: Mapped[str | None] = mapped_column(String(MAX_ID_CHARS))
    # A table row's first feature values (names in the audit's summary), for reviewers.
    features: Mapped[list[float] | None] = mapped_column(JsonType)
    # Why it was flagged, packed by formats.evidence (a byte per epoch; 3 bytes per class):
    # the given label's probability after every epoch, and the top classes over the window.
    history: Mapped[bytes | None] = mapped_column(LargeBinary)
    top_classes: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Whose predictions decided the flag and the evidence above (formats.evidence.DECIDING_VIEWS).
    deciding_view: Mapped[str | None] = mapped_column(String(16))
    review_action: Mapped[str | None] = mapped_column(String(16))
    final_label: Mapped[str | None] = mapped_column(String(MAX_LABEL_CHARS))
    reviewed_by: Mapped[str | None] = mapped_column(String(MAX_NAME_CHARS))
    reviewed_at: Mapped[datetime | None]
    # Bumped by every review; a review naming an older version is a conflict.
    version: Mapped[int] = mapped_column(default=0)
    # In a re-audit: the decision an earlier round made on this sample
    # ({"action", "label", "reviewed_by", "round"}), NULL for samples nobody decided.
    prior_review: Mapped[dict[str, Any] | None] = mapped_column(NullableJsonType)

    __table_args__ = (
        UniqueConstraint("audit_id", "sample_id", name="uq_samples_audit_id_sample_id"),
        UniqueConstraint("audit_id", "row_index", name="uq_samples_audit_id_row_index"),
    )


# Keyset pagination by suspicion (score descending, then row), with and without the
# flagged filter.
Index("ix_samples_audit_score", Sample.audit_id, Sample.score.desc(), Sample.row_index)
Index(
    "ix_samples_audit_flagged_score",
    Sample.audit_id,
    Sample.flagged,
    Sample.score.desc(),
    Sample.row_index,
)
