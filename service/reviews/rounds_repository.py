"""Queries of re-audit rounds: the decisions a round carries over, and how a round's flags
compare with its parent's."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..audits.models import Sample


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
