"""What the dashboard's pages and scripts say about the server's vocabulary: the statuses,
the decisions, the stages, the near-threshold band and the worth-a-look list's title, each
taken from its one Python home and worded here once.

Every page carries it as JSON in the layout's ``data-vocabulary`` (beside the thumbnail
sizes), which ``static/js/vocabulary.js`` reads; templates get the parts they show rendered
in by :mod:`.pages`. No script or template keeps its own copy.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from formats import stages
from formats.worth_a_look import WORTH_A_LOOK_TITLE

from ..audits.models import ACTIVE, STATUSES
from ..audits.repository import NEAR_THRESHOLD_BAND
from ..reviews.actions import CLEAR, DECISIONS, FINAL_LABEL_FROM, RELABEL

STATUS_TEXT = {
    "queued": "Queued",
    "running": "Running",
    "succeeded": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
# Per decision: what a card says once it is made, what a re-audit's card says of an earlier
# round's, the button's word and its longer description ({given_label} and
# {suggested_label} are the sample's), the review queue's key, and the bulk bar's button.
DECISION_WORDS: dict[str, dict[str, str | None]] = {
    "accept": {
        "text": "Accepted",
        "prior": "Accepted as",
        "verb": "Accept",
        "describe": "Accept the suggested label",
        "key": "a",
        "bulk": "Accept suggestions",
    },
    "relabel": {
        "text": "Relabeled",
        "prior": "Relabeled to",
        "verb": "Relabel",
        "describe": "Relabel to",
        "key": None,
        "bulk": None,
    },
    "keep": {
        "text": "Kept",
        "prior": "Kept as",
        "verb": "Keep",
        "describe": "Keep the given label",
        "key": "k",
        "bulk": "Keep given labels",
    },
    "exclude": {
        "text": "Excluded",
        "prior": "Excluded",
        "verb": "Exclude",
        "describe": "Exclude the sample from the dataset",
        "key": "x",
        "bulk": "Exclude",
    },
}


def vocabulary() -> dict[str, Any]:
    """The payload the pages carry. Keyed by the server's own lists, so a status or a
    decision added there without words here fails at once (KeyError), not in a browser."""
    return {
        "statuses": {status: STATUS_TEXT[status] for status in STATUSES},
        "active_statuses": list(ACTIVE),
        "decisions": {
            decision: {**DECISION_WORDS[decision], "final_label_from": FINAL_LABEL_FROM[decision]}
            for decision in DECISIONS
        },
        "relabel": RELABEL,
        "clear": CLEAR,
        "stages": {
            "text": stages.STAGE_TEXT,
            "fold_pattern": stages.FOLD_STAGE_PATTERN,
            "fold_phases": stages.FOLD_PHASE_TEXT,
            "fold_text": stages.FOLD_TEXT,
            "count_text": stages.COUNT_TEXT,
            "stage_count_text": stages.STAGE_COUNT_TEXT,
        },
        "near_threshold_band": NEAR_THRESHOLD_BAND,
        "worth_a_look_title": WORTH_A_LOOK_TITLE,
    }


@cache
def vocabulary_json() -> str:
    return json.dumps(vocabulary(), separators=(",", ":"))
