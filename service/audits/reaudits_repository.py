"""Queries of re-audit requests: finding and inserting the re-audit a request made (once,
on SQLite too). The rounds' own queries are the reviews domain's (reviews.rounds_repository)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import Audit


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
