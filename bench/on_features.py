"""The methods that read a set's features and train no network: cleanlab's two usual
recipes on pretrained features, and our rule on each sample's nearest neighbours.

On images the features are a pretrained backbone's (the one the audit's plan names); on a
table, its own columns.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from bench.detection import Detection, RowInputs
from bench.features import PretrainedFeatures, feature_table
from formats import Dataset
from formats.defaults import NEIGHBOURS
from worker.engine import AuditConfig
from worker.engine.flagging import flag_recorded
from worker.engine.history import TrainingHistory
from worker.engine.neighbours import record_neighbours
from worker.engine.reading import READINGS
from worker.engine.tensors import describe_device, prepare_tensors, resolve_device

DATALAB_KNN = "cleanlab Datalab kNN on our features"
LOGISTIC = "cleanlab on logistic regression of our features"
NEIGHBOURS_ROW = "labelaudit neighbours"
FOLDS = 5


def features_of(
    dataset: Dataset, config: AuditConfig, inputs: RowInputs
) -> tuple[Dataset, PretrainedFeatures]:
    """The table a method on features reads, and the features: the backbone's that
    ``config`` plans for images; a table's own columns (no extraction)."""
    plan = config.plan(dataset.n_samples, is_image=dataset.kind == "image")
    if plan.backbone == "none":
        if dataset.kind == "image":
            raise SystemExit("a method on features needs a backbone for images")
        return dataset, PretrainedFeatures(dataset.features, "none", 0.0)
    features = inputs.features(plan.backbone)
    return feature_table(dataset, features), features


def cleanlab_features(
    dataset: Dataset, config: AuditConfig, inputs: RowInputs
) -> dict[str, Detection]:
    """cleanlab on the features: Datalab's label issues from a kNN classifier, and
    ``find_label_issues`` on 5-fold logistic-regression probabilities. Each row's seconds
    include the features' extraction once."""
    table, features = features_of(dataset, config, inputs)
    labels = table.labels
    device = describe_device(resolve_device(config.device))

    def detection(flagged: np.ndarray, score: np.ndarray, suggested: np.ndarray, started: float):
        seconds = features.seconds + time.perf_counter() - started
        return Detection(
            flagged, score, suggested, int(flagged.sum()), seconds, 0, device, features.backbone
        )

    started = time.perf_counter()
    flagged, score, suggested = datalab_label_issues(table.features, labels, table.n_classes)
    knn = detection(flagged, score, suggested, started)
    started = time.perf_counter()
    flagged, score, suggested = logistic_label_issues(table.features, labels, seed=config.seed)
    return {DATALAB_KNN: knn, LOGISTIC: detection(flagged, score, suggested, started)}


def datalab_label_issues(
    features: np.ndarray, labels: np.ndarray, n_classes: int, *, k: int = NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What ``Datalab(data={"label": labels}, label_name="label").find_issues(features=...,
    issue_types={"label": {"k": k}})`` finds, by cleanlab 2.9.0's own recipe
    (``LabelIssueManager``): a Euclidean ``KNeighborsClassifier`` of ``k + 1`` neighbours,
    each sample's own vote taken out, then ``CleanLearning.find_label_issues``. Datalab
    itself needs the ``datasets`` package (cleanlab's ``datalab`` extra), which this
    project does not install.

    Returns
    -------
    is_label_issue, score, predicted_label : ndarray, (n,)
        The score is 1 − Datalab's ``label_score``.
    """
    from cleanlab.classification import CleanLearning
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=k + 1).fit(features, labels)
    votes = knn.predict_proba(features)
    if votes.shape[1] != n_classes:
        raise SystemExit("every class needs a sample for the kNN's columns")
    own = np.eye(n_classes)[labels]
    probabilities = (votes - own / (k + 1)) * (k + 1) / k
    issues = CleanLearning().find_label_issues(labels=labels, pred_probs=probabilities)
    return (
        issues["is_label_issue"].to_numpy(),
        1.0 - issues["label_quality"].to_numpy(),
        issues["predicted_label"].to_numpy(),
    )


def logistic_label_issues(
    features: np.ndarray, labels: np.ndarray, *, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``find_label_issues`` on 5-fold out-of-fold probabilities of a logistic regression
    of the standardised features (the scaler fitted on each fold's training part)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(model, features, labels, cv=folds, method="predict_proba")
    return (
        find_label_issues(labels, probabilities),
        1.0 - get_label_quality_scores(labels, probabilities),
        probabilities.argmax(axis=1),
    )


def labelaudit_neighbours(table: Dataset, config: AuditConfig) -> Detection:
    """Our rule on each row's leave-one-out nearest-neighbour class frequencies
    (``neighbours`` mode: nothing trained), on the standardised columns the audit reads."""
    neighbours = dataclasses.replace(config, mode="neighbours")
    plan = neighbours.plan(table.n_samples, is_image=False)
    device = resolve_device(config.device)
    tensors = prepare_tensors(table.features, table.labels, table.n_classes, device=device)
    view = record_neighbours(
        tensors.data, table.labels, table.n_classes, neighbours=plan.neighbours
    )
    started = time.perf_counter()
    flags = flag_recorded(
        TrainingHistory((view,), "neighbours"), table.labels, reading=READINGS["neighbours"]
    )
    return Detection(
        flags.flagged,
        flags.score,
        flags.suggested,
        int(flags.estimated_errors.sum()),
        view.seconds + time.perf_counter() - started,
        0,
        describe_device(device),
    )
