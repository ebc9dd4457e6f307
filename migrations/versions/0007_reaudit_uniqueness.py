"""One re-audit per request, enforced by the database: unique per parent and
Idempotency-Key, and without a key per parent and fingerprint among the re-audits still
handed out (queued, running, succeeded). SQLite ignores the FOR UPDATE that kept twins
out before, so twins may exist: the newest of each keeps its key or fingerprint (the one
the service handed out for it), the others lose theirs and stay as audits.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

REUSABLE = "('queued', 'running', 'succeeded')"
REUSABLE_WITHOUT_KEY = f"idempotency_key IS NULL AND status IN {REUSABLE}"
# Whether a row of ``audits`` has a newer twin of the same parent (``newer``).
HAS_NEWER_TWIN = """EXISTS (
    SELECT 1 FROM audits AS newer
    WHERE newer.parent_id = audits.parent_id AND newer.{column} = audits.{column}
      AND (newer.created_at > audits.created_at
           OR (newer.created_at = audits.created_at AND newer.id > audits.id)){also})"""


def upgrade() -> None:
    # Keys first: a twin that loses its key may then be a twin by fingerprint.
    twin_by_key = HAS_NEWER_TWIN.format(column="idempotency_key", also="")
    op.execute(
        "UPDATE audits SET idempotency_key = NULL "
        f"WHERE idempotency_key IS NOT NULL AND parent_id IS NOT NULL AND {twin_by_key}"
    )
    twin_by_fingerprint = HAS_NEWER_TWIN.format(
        column="reaudit_fingerprint",
        also=f" AND newer.idempotency_key IS NULL AND newer.status IN {REUSABLE}",
    )
    op.execute(
        "UPDATE audits SET reaudit_fingerprint = NULL "
        "WHERE reaudit_fingerprint IS NOT NULL AND parent_id IS NOT NULL "
        f"AND {REUSABLE_WITHOUT_KEY} AND {twin_by_fingerprint}"
    )
    op.create_index(
        "uq_audits_parent_id_idempotency_key",
        "audits",
        ["parent_id", "idempotency_key"],
        unique=True,
    )
    op.create_index(
        "uq_audits_parent_id_reaudit_fingerprint",
        "audits",
        ["parent_id", "reaudit_fingerprint"],
        unique=True,
        postgresql_where=sa.text(REUSABLE_WITHOUT_KEY),
        sqlite_where=sa.text(REUSABLE_WITHOUT_KEY),
    )


def downgrade() -> None:
    op.drop_index("uq_audits_parent_id_reaudit_fingerprint", table_name="audits")
    op.drop_index("uq_audits_parent_id_idempotency_key", table_name="audits")
