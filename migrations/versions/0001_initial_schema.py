"""Initial schema: audits, samples, review log, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def timestamp(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        timestamp("created_at", nullable=False),
        timestamp("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
    )
    op.create_table(
        "audits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("corrections", JSON, nullable=True),
        sa.Column("upload_filename", sa.String(255), nullable=False),
        sa.Column("upload_kind", sa.String(16), nullable=False),
        sa.Column("upload_size", sa.BigInteger(), nullable=False),
        sa.Column("dataset_kind", sa.String(16), nullable=False),
        sa.Column("class_names", JSON, nullable=True),
        sa.Column("progress", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("summary", JSON, nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        timestamp("created_at", nullable=False),
        timestamp("started_at", nullable=True),
        timestamp("finished_at", nullable=True),
        timestamp("heartbeat_at", nullable=True),
        sa.Column("worker_host", sa.String(255), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["audits.id"],
            name=op.f("fk_audits_parent_id_audits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audits")),
    )
    op.create_index("ix_audits_created_at_id", "audits", ["created_at", "id"])
    op.create_index(op.f("ix_audits_parent_id"), "audits", ["parent_id"])
    op.create_index(op.f("ix_audits_status"), "audits", ["status"])

    op.create_table(
        "review_events",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("sample_id", sa.String(1024), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", JSON, nullable=False),
        sa.Column("after", JSON, nullable=False),
        timestamp("created_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audits.id"],
            name=op.f("fk_review_events_audit_id_audits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_events")),
    )
    op.create_index("ix_review_events_audit_id_id", "review_events", ["audit_id", "id"])

    op.create_table(
        "samples",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(1024), nullable=False),
        sa.Column("given_label", sa.String(255), nullable=False),
        sa.Column("suggested_label", sa.String(255), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("image_path", sa.String(1024), nullable=True),
        sa.Column("review_action", sa.String(16), nullable=True),
        sa.Column("final_label", sa.String(255), nullable=True),
        sa.Column("reviewed_by", sa.String(100), nullable=True),
        timestamp("reviewed_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audits.id"],
            name=op.f("fk_samples_audit_id_audits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_samples")),
        sa.UniqueConstraint("audit_id", "row_index", name="uq_samples_audit_id_row_index"),
        sa.UniqueConstraint("audit_id", "sample_id", name="uq_samples_audit_id_sample_id"),
    )
    op.create_index(
        "ix_samples_audit_score",
        "samples",
        ["audit_id", sa.literal_column("score DESC"), "row_index"],
    )
    op.create_index(
        "ix_samples_audit_flagged_score",
        "samples",
        ["audit_id", "flagged", sa.literal_column("score DESC"), "row_index"],
    )


def downgrade() -> None:
    op.drop_table("samples")
    op.drop_table("review_events")
    op.drop_table("audits")
    op.drop_table("api_keys")
