"""The methods on features: the Datalab recipe matches cleanlab's own label-issue manager."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from cleanlab.datalab.internal.issue_manager.label import LabelIssueManager

from bench.on_features import datalab_label_issues, logistic_label_issues


def _clusters(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three Gaussian clusters of 40 points, 12 labels flipped; the true labels too."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(3), 40)
    features = rng.normal(size=(truth.size, 8)) + 4.0 * np.eye(3, 8)[truth]
    labels = truth.copy()
    flipped = rng.choice(truth.size, 12, replace=False)
    labels[flipped] = (truth[flipped] + 1) % 3
    return features.astype(np.float32), labels, truth


def test_datalab_recipe_matches_cleanlabs_label_issue_manager() -> None:
    features, labels, _ = _clusters(0)
    # What the manager reads of a Datalab, which needs the `datasets` package to build.
    lab = SimpleNamespace(
        labels=labels, _label_map={0: "a", 1: "b", 2: "c"}, get_info=lambda name: {}
    )
    manager = LabelIssueManager(lab, k=10)
    manager.find_issues(features=features)
    flagged, score, suggested = datalab_label_issues(features, labels, 3, k=10)
    assert np.array_equal(flagged, manager.issues["is_label_issue"].to_numpy())
    assert np.allclose(score, 1.0 - manager.issues["label_score"].to_numpy())
    assert np.array_equal(suggested, manager.info["predicted_label"])


def test_logistic_recipe_finds_the_flipped_labels() -> None:
    features, labels, truth = _clusters(1)
    flagged, score, _ = logistic_label_issues(features, labels, seed=7)
    wrong = labels != truth
    assert (flagged & wrong).sum() >= 10
    assert score[wrong].mean() > score[~wrong].mean()
