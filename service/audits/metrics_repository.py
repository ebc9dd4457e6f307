"""The queries behind the service's metrics: audits by status, how long they took, how many
samples they read."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Audit


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Audit.status, func.count()).group_by(Audit.status))
    return {status: count for status, count in rows}


def finished_durations(session: Session) -> list[float]:
    """Seconds from start to finish of every succeeded audit (for the duration histogram)."""
    rows = session.execute(
        select(Audit.started_at, Audit.finished_at).where(
            Audit.status == "succeeded",
            Audit.started_at.is_not(None),
            Audit.finished_at.is_not(None),
        )
    )
    return [
        (finished - started).total_seconds() for started, finished in rows if started and finished
    ]


def samples_audited(session: Session) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.sum(Audit.summary["samples"].as_integer()), 0)).where(
                Audit.status == "succeeded"
            )
        )
        or 0
    )
