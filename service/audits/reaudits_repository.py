"""Queries of re-audit rounds: the decisions a round carries, finding and inserting the
re-audit a request made (once, on SQLite too), and how a round compares with its parent."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from .models import Audit, Sample


def decisions(session: Session, audit_id: uuid.UUID) -> list[Row[Any]]:
    """Every decided sample's (sample_id, action, given_label, final_label, reviewed_by), in
    row order: what a re-audit carries over."""
    return list(
        session.execute(
            select(
                Sample.sample_id,
                Sample.review_action,
                Sample.given_label,
                Sample.final_label,
                Sample.reviewed_by,
            )
            .where(Sample.audit_id == audit_id, Sample.review_action.is_not(None))
            .order_by(Sample.row_index)
        )
    )


def reaudit_of(
    session: Session,
    parent_id: uuid.UUID,
    *,
    idempotency_key: str | None,
    fingerprint: str,
    reusable_statuses: Sequence[str],
) -> Audit | None:
    """The parent's re-audit made by the same request: the one with this idempotency key,
    or without a key, the newest with this fingerprint that did not fail or stop."""
    if idempotency_key is not None:
        return reaudit_by_key(session, parent_id, idempotency_key)
    query = select(Audit).where(
        Audit.parent_id == parent_id,
        Audit.reaudit_fingerprint == fingerprint,
        Audit.status.in_(reusable_statuses),
    )
    return session.scalars(query.order_by(Audit.created_at.desc()).limit(1)).one_or_none()


def reaudit_by_key(session: Session, parent_id: uuid.UUID, idempotency_key: str) -> Audit | None:
    """The parent's re-audit made with this Idempotency-Key (one at most: a unique index)."""
    query = select(Audit).where(
        Audit.parent_id == parent_id, Audit.idempotency_key == idempotency_key
    )
    return session.scalars(query).one_or_none()


def insert_unless_twin(session: Session, values: dict[str, Any]) -> Audit | None:
    """Insert the re-audit ``values`` describe, unless the unique indexes on (parent,
    Idempotency-Key) and (parent, fingerprint) already hold one made by the same request;
    return it, or None for a twin.

    ``ON CONFLICT DO NOTHING`` rather than catching the IntegrityError: the request's unit
    of work goes on as it was, with no savepoint (whose release pysqlite would commit).
    PostgreSQL first waits for a twin's transaction to end, SQLite for its write lock, so a
    twin that is refused here is committed and readable.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Audit).values(values).on_conflict_do_nothing()
    if session.execute(statement.returning(Audit.id)).first() is None:
        return None
    return session.get(Audit, values["id"])


def round_comparison(session: Session, audit_id: uuid.UUID, parent_id: uuid.UUID) -> dict[str, int]:
    """A re-audit's flags against its parent's, sample by sample: resolved (flagged before,
    not now), still flagged, disputed (flagged again although a reviewer decided on it) and
    new suspects (flagged now, not before)."""
    child, parent = aliased(Sample), aliased(Sample)
    flagged_before = parent.flagged.is_(True)
    flagged_now = child.flagged.is_(True)
    not_flagged_before = or_(parent.id.is_(None), parent.flagged.is_(False))

    def count(condition: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(
            count(and_(flagged_before, child.flagged.is_(False))),
            count(and_(flagged_before, flagged_now)),
            count(and_(flagged_now, child.prior_review.is_not(None))),
            count(and_(flagged_now, not_flagged_before)),
        )
        .select_from(child)
        .outerjoin(parent, and_(parent.audit_id == parent_id, parent.sample_id == child.sample_id))
        .where(child.audit_id == audit_id)
    ).one()
    resolved, still_flagged, disputed, new_suspects = (int(value) for value in row)
    return {
        "resolved": resolved,
        "still_flagged": still_flagged,
        "disputed": disputed,
        "new_suspects": new_suspects,
    }
