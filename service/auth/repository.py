from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session

from .models import ApiKey


def find_key_by_hash(session: Session, key_hash: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash)).one_or_none()


def find_key_by_name(session: Session, name: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.name == name)).one_or_none()


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))


def count_keys(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ApiKey)) or 0


def delete_key(session: Session, name: str) -> bool:
    result = cast("CursorResult[Any]", session.execute(delete(ApiKey).where(ApiKey.name == name)))
    return result.rowcount > 0


def record_use(session: Session, key_id: int, now: datetime, stale_before: datetime) -> None:
    """Set the key's ``last_used_at`` if it is older than ``stale_before``, unless another
    request holds the key's row right now (``SKIP LOCKED``; SQLite has no row locks).

    Waiting on that lock deadlocked the API under concurrent requests with one key: each
    waiter holds a worker thread, and the holder needs one to finish its request and commit.
    """
    free = (
        select(ApiKey.id)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale_before),
        )
        .with_for_update(skip_locked=True)
    )
    session.execute(
        update(ApiKey).where(ApiKey.id.in_(free)).values(last_used_at=now),
        execution_options={"synchronize_session": False},
    )
