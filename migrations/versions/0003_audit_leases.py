"""Audits hold a lease while they run, and remember the queue they were sent to.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        # Audits queued before this revision were sent to the default queue.
        batch.add_column(sa.Column("queue", sa.String(64), nullable=False, server_default="cpu"))
    op.create_index("ix_audits_status_lease_expires_at", "audits", ["status", "lease_expires_at"])


def downgrade() -> None:
    op.drop_index("ix_audits_status_lease_expires_at", table_name="audits")
    with op.batch_alter_table("audits") as batch:
        batch.drop_column("queue")
        batch.drop_column("lease_expires_at")
