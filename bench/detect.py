"""Detection benchmark: our configurations against cleanlab on the same data, seeds and network.

    python -m bench.detect [--datasets digits,fashion,neu] [--fashion-limit 10000]

Noise is injected with a recorded seed; the true labels are used only in scoring. Every
method trains the same network for the same number of epochs. Rows are merged into
``bench/results/detect.json`` and the Markdown table is rewritten from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from bench import datasets, noise
from bench.report import write_markdown
from worker.engine import AuditConfig, Dataset, audit
from worker.engine.tensors import describe_device, prepare_tensors, resolve_device
from worker.engine.train import crossval_probabilities

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Detection:
    flagged: np.ndarray
    score: np.ndarray
    suggested: np.ndarray
    seconds: float
    device: str


def ours(loss: str) -> Callable[[Dataset, AuditConfig], Detection]:
    def run(dataset: Dataset, config: AuditConfig) -> Detection:
        result = audit(dataset, dataclasses.replace(config, loss=loss))
        flags = result.flags
        return Detection(flags.flagged, flags.score, flags.suggested, result.seconds, result.device)

    return run


def cleanlab_reference(dataset: Dataset, config: AuditConfig) -> Detection:
    """cleanlab's find_label_issues on 5-fold out-of-fold probabilities of a CE-trained net."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    started = time.perf_counter()
    device = resolve_device(config.device)
    tensors = prepare_tensors(dataset.features, dataset.labels, dataset.n_classes, device=device)
    ce = dataclasses.replace(config, loss="ce", mode="crossval", folds=5)
    probabilities = crossval_probabilities(tensors, ce)
    flagged = find_label_issues(dataset.labels, probabilities)
    score = 1.0 - get_label_quality_scores(dataset.labels, probabilities)
    seconds = time.perf_counter() - started
    return Detection(flagged, score, probabilities.argmax(1), seconds, describe_device(device))


METHODS: dict[str, Callable[[Dataset, AuditConfig], Detection]] = {
    "labelaudit tgce (default)": ours("tgce"),
    "labelaudit gce": ours("gce"),
    "cleanlab (5-fold CE)": cleanlab_reference,
}


def score(detection: Detection, true_labels: np.ndarray, noisy: np.ndarray) -> dict[str, float]:
    wrong = true_labels != noisy
    flagged = detection.flagged
    hits = int((flagged & wrong).sum())
    precision = hits / max(int(flagged.sum()), 1)
    recall = hits / max(int(wrong.sum()), 1)
    caught = flagged & wrong
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if hits else 0.0,
        "auprc": float(average_precision_score(wrong, detection.score)),
        "auroc": float(roc_auc_score(wrong, detection.score)),
        "flagged": int(flagged.sum()),
        "true_errors": int(wrong.sum()),
        "suggestion_accuracy": float((detection.suggested[caught] == true_labels[caught]).mean())
        if caught.any()
        else 0.0,
        "seconds": detection.seconds,
    }


def noise_settings(name: str, n_classes: int, *, seed: int) -> dict[str, Callable]:
    pairs = (
        noise.FASHION_PAIRS
        if name == "fashion-mnist"
        else noise.permutation_pairs(n_classes, seed=seed)
    )
    rates = (0.1, 0.2, 0.4) if name == "neu" else (0.2, 0.4)
    settings: dict[str, Callable] = {}
    for rate in rates:
        settings[f"symmetric {rate:.0%}"] = lambda y, r=rate: noise.symmetric_noise(
            y, n_classes, r, seed=seed
        )
    for rate in (0.2, 0.4):
        settings[f"class-dependent {rate:.0%}"] = lambda y, r=rate: noise.class_dependent_noise(
            y, pairs, r, seed=seed
        )
    return settings


def load(name: str, args: argparse.Namespace) -> tuple[Dataset, str]:
    if name == "digits":
        return datasets.digits(), "sklearn digits, 1,797 samples, 8x8 as 64 features (MLP)"
    if name == "fashion-mnist":
        limit = None if torch.cuda.is_available() else args.fashion_limit
        data = datasets.fashion_mnist(limit, seed=args.seed)
        return data, f"Fashion-MNIST train, {data.n_samples:,} images 28x28 (ResNet)"
    data = datasets.neu(args.neu_size, RESULTS.parent / ".cache")
    return data, f"NEU-DET, {data.n_samples:,} images at {args.neu_size}x{args.neu_size} (ResNet)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="digits,fashion-mnist,neu")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--fashion-limit", type=int, default=10_000)
    parser.add_argument("--neu-size", type=int, default=64)
    parser.add_argument("--noise", default="", help="only these settings, e.g. 'symmetric 20%%'")
    parser.add_argument("--seed", type=int, default=2026, help="noise, subset and training seed")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "detect.json"
    rows = json.loads(store.read_text())["rows"] if store.exists() else []
    for name in args.datasets.split(","):
        dataset, description = load(name, args)
        config = AuditConfig(seed=args.seed)
        for setting, inject in noise_settings(name, dataset.n_classes, seed=args.seed).items():
            if args.noise and setting not in args.noise.split(","):
                continue
            noisy = inject(dataset.labels)
            noisy_dataset = dataclasses.replace(dataset, labels=noisy)
            for method in args.methods.split(","):
                detection = METHODS[method](noisy_dataset, config)
                row = {
                    "dataset": name,
                    "data": description,
                    "noise": setting,
                    "method": method,
                    "device": detection.device,
                    **score(detection, dataset.labels, noisy),
                }
                print(json.dumps(row), flush=True)
                rows = [
                    r
                    for r in rows
                    if (r["dataset"], r["noise"], r["method"]) != (name, setting, method)
                ] + [row]
                meta = {
                    "seed": args.seed,
                    "torch": torch.__version__,
                    "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
                    "config": dataclasses.asdict(config),
                }
                store.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
                write_markdown(args.out / "detect.md", meta, rows)


if __name__ == "__main__":
    main()
