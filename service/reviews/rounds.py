"""Re-audit rounds: the decisions a re-audit carries from every round before it."""

from __future__ import annotations

from typing import Any

from ..audits.models import Audit
from .actions import corrected_label


def carried_corrections(parent: Audit, decisions: list[Any]) -> dict[str, Any]:
    """The parent's corrections with its own ``decisions`` (sample_id, action, given_label,
    final_label, reviewed_by, as :func:`.rounds_repository.decisions` reads them) laid over
    them: a re-audit reads the original upload, so every earlier round's relabels and
    exclusions must come along."""
    earlier = parent.corrections or {}
    parent_round = earlier.get("round", 1)
    relabel: dict[str, str] = dict(earlier.get("relabel", {}))
    exclude = set(earlier.get("exclude", []))
    reviews: dict[str, dict[str, Any]] = dict(earlier.get("reviews", {}))
    for sample_id, action, given, final, reviewed_by in decisions:
        reviews[sample_id] = {
            "action": action,
            "label": final,
            "reviewed_by": reviewed_by,
            "round": parent_round,
        }
        label = corrected_label(action, given, final)
        if label is None:
            exclude.add(sample_id)
        elif label != given:
            relabel[sample_id] = label
    return {
        "relabel": relabel,
        "exclude": sorted(exclude),
        "reviews": reviews,
        "round": parent_round + 1,
    }
