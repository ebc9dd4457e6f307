"""The decisions a reviewer makes on a sample, and the label each leaves it with.

The one home of both: the API's types and filters, the review log, the exports and the
re-audit rounds read them here, and the dashboard gets them rendered into its pages (see
``service/dashboard/vocabulary.py``).
"""

from __future__ import annotations

from typing import Literal, cast, get_args

# What a sample's review can hold.
Decision = Literal["accept", "relabel", "keep", "exclude"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)
# What a review may send: a decision, or "clear" to make the sample pending again (what the
# dashboard's undo sends for a sample that had no decision).
Action = Literal[Decision, "clear"]
CLEAR: Action = "clear"
RELABEL: Decision = "relabel"
EXCLUDE: Decision = "exclude"
# Where the label a decision gives the sample comes from: the sample's suggested or given
# label, the label the review names ("label", with relabel), or none (excluded, cleared).
FINAL_LABEL_FROM: dict[Action, Literal["suggested_label", "given_label", "label"] | None] = {
    "accept": "suggested_label",
    "relabel": "label",
    "keep": "given_label",
    "exclude": None,
    "clear": None,
}


def decision_of(action: Action) -> Decision | None:
    """What a sample's review holds after ``action``: nothing once cleared (pending again)."""
    return None if action == CLEAR else cast("Decision", action)


def final_label(
    action: Action, *, given_label: str, suggested_label: str, label: str | None = None
) -> str | None:
    """The label ``action`` gives a sample (see :data:`FINAL_LABEL_FROM`)."""
    source = FINAL_LABEL_FROM[action]
    labels = {"given_label": given_label, "suggested_label": suggested_label, "label": label}
    return None if source is None else labels[source]


def corrected_label(action: str | None, given_label: str, final: str | None) -> str | None:
    """A sample's label in the corrected dataset: none when its decision excludes it, else
    the label its decision gave it, or its given label while undecided."""
    if action == EXCLUDE:
        return None
    return final or given_label
