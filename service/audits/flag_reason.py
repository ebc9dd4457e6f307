"""The sentence a review card shows for why a sample was (or was not) flagged, written here
once from what the audit stored, and served as the sample resource's ``flag_reason``.

It is built by the API, not stored by the worker: every input is already on the sample or
the audit (the flag, the labels, the deciding view's history and suggestion, the class's
k), a million sentences would cost about 120 MB of rows, and a change of wording reaches
audits that ran before it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..text import isolated
from .models import Sample

# A class name inside the sentence is cut short past this many characters (the card's
# labels show it whole); the dashboard's ``named`` cuts names at the same length.
NAME_CHARS = 60


def flag_reason(
    sample: Sample,
    *,
    window_history: Sequence[float],
    threshold: float | None,
    suggested_probability: float | None,
) -> str:
    """The card's sentence: "Confidence in “patches” never above k = 0.31 in the last 5
    epochs (at most 4%); the model says “inclusion” at 91%."

    The first half follows the stored flag rather than comparing the history with k again:
    the history is kept to 1/255, so a sample just below k can read just above it.

    Parameters
    ----------
    sample : Sample
        Its flag, labels and the view that decided it (``deciding_view``).
    window_history : sequence of float
        Its given-label probability in each epoch of the flag window, from that view.
    threshold : float, optional
        k of its given class; None for an audit that did not record it.
    suggested_probability : float, optional
        The suggestion's mean probability over the window, from that view.
    """
    given = _named(sample.given_label)
    highest = _percent(max(window_history))
    count = len(window_history)
    epochs = f"{count:,} epoch{'' if count == 1 else 's'}"
    k = "k" if threshold is None else f"k = {threshold:.2f}"
    if sample.flagged:
        confidence = f"never above {k} in the last {epochs} (at most {highest})"
    else:
        confidence = f"reached {highest} in the last {epochs}, above {k}"
    # Models that never saw the sample decided it: a learned flip, or a cross-validated audit.
    held_out = sample.deciding_view == "held-out"
    model = "the models that never saw it" if held_out else "the model"
    if sample.suggested_label == sample.given_label:
        verdict = f"{model} {'agree' if held_out else 'agrees'} with “{given}”"
    else:
        verdict = f"{model} {'say' if held_out else 'says'} “{_named(sample.suggested_label)}”"
    at = "" if suggested_probability is None else f" at {_percent(suggested_probability)}"
    return f"Confidence in “{given}” {confidence}; {verdict}{at}."


def _named(label: str) -> str:
    """A class name for the sentence: cut short with "…", and isolated when it holds
    right-to-left text, so that its direction cannot reorder the sentence's numbers."""
    cut = label if len(label) <= NAME_CHARS else f"{label[: NAME_CHARS - 1]}…"
    return isolated(cut)


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"
