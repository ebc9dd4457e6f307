"""Samples record which predictions decided them ("average", "in-sample" or "held-out";
see formats.evidence.DECIDING_VIEWS): their confidence, suggestion, history and top classes
are read from those. NULL for audits stored before it was kept.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.add_column(sa.Column("deciding_view", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("deciding_view")
