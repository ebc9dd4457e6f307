"""CIFAR-10N (real crowd-worker label noise) on EfficientNet-Lite0 features: our modes
against cleanlab on the same features, in the same run.

    OMP_NUM_THREADS=1 python -m bench.real_noise aggre,random1,worse pooled,checked

Prints one JSON line per labels set and method: F1, precision, recall, flags, AUPRC, the hits
among the N most suspicious for N = the true count, and our estimated count. The features
are computed once (about 6 minutes on two CPU threads) and kept under ``bench/.cache``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import cast

import numpy as np
import torch
from sklearn.metrics import average_precision_score

from bench.on_features import datalab_label_issues, logistic_label_issues
from formats import Dataset
from formats.options import Mode
from worker.engine import AuditConfig
from worker.engine.features import image_features
from worker.engine.flagging import flag_recorded
from worker.engine.history import TrainingHistory
from worker.engine.neighbours import record_neighbours
from worker.engine.reading import READINGS
from worker.engine.tensors import prepare_tensors
from worker.engine.train import record_training

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar-10n"
CACHE = Path(__file__).resolve().parent / ".cache" / "cifar10n-efficientnet-lite0.npy"
SEED = 7


def features(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    if CACHE.exists():
        return np.load(CACHE)
    ids = np.arange(len(images)).astype(str)
    dataset = Dataset(images, labels, classes, ids, "image")
    computed = image_features(dataset, "efficientnet-lite0", device=torch.device("cpu"))
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.save(CACHE, computed)
    return computed


def score(flagged: np.ndarray, ranking: np.ndarray, wrong: np.ndarray) -> dict:
    hits = int((flagged & wrong).sum())
    precision = hits / max(int(flagged.sum()), 1)
    recall = hits / max(int(wrong.sum()), 1)
    top = np.argsort(-ranking, kind="stable")[: int(wrong.sum())]
    return {
        "f1": round(2 * precision * recall / max(precision + recall, 1e-9), 3),
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "flagged": int(flagged.sum()),
        "auprc": round(float(average_precision_score(wrong, ranking)), 3),
        "hits_at_true": int(wrong[top].sum()),
    }


def ours(history: TrainingHistory, labels: np.ndarray, wrong: np.ndarray, reading) -> dict:
    flags = flag_recorded(history, labels, reading=reading)
    return score(flags.flagged, flags.score, wrong) | {
        "estimated": int(flags.estimated_errors.sum())
    }


def rows_of(table: np.ndarray, labels: np.ndarray, wrong: np.ndarray, modes: list[Mode]) -> dict:
    tensors = prepare_tensors(table, labels, 10, device=torch.device("cpu"))
    rows: dict[str, dict] = {}
    for mode in modes:
        config = AuditConfig(seed=SEED, mode=mode, backbone="none")
        started = time.perf_counter()
        history = record_training(tensors, config.plan(len(labels), is_image=False), config)
        seconds = round(time.perf_counter() - started, 1)
        name = f"labelaudit {mode}" + (" (default)" if mode == "pooled" else "")
        rows[name] = ours(history, labels, wrong, READINGS[mode]) | {"seconds": seconds}
        if mode == "pooled":
            averaged = TrainingHistory(history.views, "combined")
            no_check = dataclasses.replace(READINGS["combined"], learned_flip_check=False)
            rows["labelaudit combined (no check)"] = ours(averaged, labels, wrong, no_check)
    view = record_neighbours(tensors.data, labels, 10, neighbours=10)
    neighbours = TrainingHistory((view,), "neighbours")
    rows["labelaudit neighbours"] = ours(neighbours, labels, wrong, READINGS["neighbours"])
    flagged, ranking, _ = datalab_label_issues(table, labels, 10)
    rows["cleanlab Datalab kNN on our features"] = score(flagged, ranking, wrong)
    flagged, ranking, _ = logistic_label_issues(table, labels, seed=SEED)
    rows["cleanlab on logistic regression of our features"] = score(flagged, ranking, wrong)
    return rows


def main() -> None:
    label_sets = sys.argv[1].split(",")
    modes = [cast(Mode, mode) for mode in sys.argv[2].split(",")]
    with np.load(SHARED / "cifar10n-train-10000-19999.npz") as stored:
        images, clean = stored["X"], stored["clean"].astype(np.int64)
        classes = tuple(str(name) for name in stored["classes"])
        given = {name: stored[name].astype(np.int64) for name in label_sets}
    table = features(images, clean, classes)
    for name, labels in given.items():
        wrong = labels != clean
        for method, row in rows_of(table, labels, wrong, modes).items():
            line = {"labels": name, "true_errors": int(wrong.sum()), "method": method, **row}
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
