"""Re-audits remember what made them (idempotent requests), and samples the decision an
earlier round made on them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("reaudit_fingerprint", sa.String(64), nullable=True))
    with op.batch_alter_table("samples") as batch:
        batch.add_column(sa.Column("prior_review", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("prior_review")
    with op.batch_alter_table("audits") as batch:
        batch.drop_column("reaudit_fingerprint")
        batch.drop_column("idempotency_key")
