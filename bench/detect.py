"""Detection benchmark: labelaudit against cleanlab on the same data, seeds and network.

    python -m bench.detect --datasets digits --seeds 7,8,9
    python -m bench.detect --datasets neu,neu-longtail --noise "symmetric 10%" --seeds 7,8
    python -m bench.detect --datasets neu --methods labelaudit --seeds 7
    python -m bench.detect --datasets neu --seeds 7 --records ~/.cache/labelaudit-records

With ``--records`` each training run's records are kept, and a later invocation with the
same folder, data and options reads them instead of training: a change to the flagging rule
is re-scored on every row in seconds.

Noise is injected with the row's seed; the true labels are used only in scoring. Every
method trains the same network for the same number of epochs. Rows (one per dataset, noise,
method and seed) are merged into ``bench/results/detect.json``, and the Markdown table
(mean ± sd over the seeds) is rewritten from it.
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
from sklearn.metrics import average_precision_score

from bench import datasets, embeddings, noise
from bench.records import recorded_training
from bench.report import write_detection_markdown
from formats import Dataset
from formats.options import Mode
from worker.engine import AuditConfig
from worker.engine.flagging import flag_recorded
from worker.engine.reading import READINGS, Reading
from worker.engine.tensors import describe_device, prepare_tensors, resolve_device
from worker.engine.train import TrainingHistory

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT = "labelaudit (default)"
# What each mode is called in a row where it is not the default.
MODE_LABELS = {
    "combined": "labelaudit combined",
    "checked": "labelaudit checked",
    "dynamics": "labelaudit dynamics alone",
}
HELD_OUT = "labelaudit held-out half alone"
# The default on images before it looked for learned flips: the averaged views alone.
AVERAGED_ONLY = "labelaudit combined without the learned-flip check"
CLEANLAB_ON_OURS = "cleanlab on our held-out probabilities"
REFERENCE = "cleanlab (5-fold CE)"
# The Fashion-MNIST rows' subset size, unless --fashion-limit or --fashion-full says otherwise.
FASHION_SUBSET = 10_000


@dataclass(frozen=True)
class Detection:
    flagged: np.ndarray
    score: np.ndarray
    suggested: np.ndarray
    estimated_errors: int
    seconds: float
    # Samples times epochs trained on, summed over every model the method trains.
    sample_epochs: int
    device: str


Method = Callable[[Dataset, AuditConfig, Path | None], dict[str, Detection]]


def labelaudit(dataset: Dataset, config: AuditConfig, records: Path | None) -> dict[str, Detection]:
    """Our default, the other modes that train in-sample, the held-out half alone, and
    cleanlab on that half's probabilities: read from one run in combined mode, and on tables
    one in checked mode. Where the default is combined mode, also its averaged views without
    the learned-flip check (the default before it).

    Combined mode's in-sample run is the same run, with the same seed, as dynamics mode's
    and checked mode's, so each view is what the mode that reads it would record.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    device = resolve_device(config.device)
    tensors = prepare_tensors(dataset.features, dataset.labels, dataset.n_classes, device=device)
    combined = dataclasses.replace(config, mode="combined")
    history = recorded_training(dataset, tensors, combined, folder=records)
    in_sample, held_out = history.views
    plans = {
        mode: dataclasses.replace(config, mode=mode).plan(
            dataset.n_samples, is_image=tensors.is_image
        )
        for mode in READINGS
    }
    epochs = plans["combined"].epochs
    one_run = dataset.n_samples * epochs
    default_mode = config.plan(dataset.n_samples, is_image=tensors.is_image).mode

    def ours(history: TrainingHistory, runs: float, reading: Reading) -> Detection:
        started = time.perf_counter()
        flags = flag_recorded(history, dataset.labels, reading=reading)
        return Detection(
            flags.flagged,
            flags.score,
            flags.suggested,
            int(flags.estimated_errors.sum()),
            history.seconds + time.perf_counter() - started,
            round(runs * one_run),
            describe_device(device),
        )

    histories: dict[Mode, TrainingHistory] = {
        "combined": history,
        "dynamics": TrainingHistory((in_sample,), "dynamics"),
    }
    if not tensors.is_image:
        # Checked mode's held-out models train fewer epochs than combined mode's: its own
        # run (seconds on a table; on images, where it is not the default, it is not run).
        checked = dataclasses.replace(config, mode="checked")
        histories["checked"] = recorded_training(dataset, tensors, checked, folder=records)
    held_out_runs = plans["combined"].training_runs - 1
    started = time.perf_counter()
    probabilities = held_out.window_mean.copy()
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    flagged = find_label_issues(dataset.labels, probabilities)
    cleanlab_on_ours = Detection(
        flagged,
        1.0 - get_label_quality_scores(dataset.labels, probabilities),
        probabilities.argmax(axis=1),
        int(flagged.sum()),
        held_out.seconds + time.perf_counter() - started,
        round(held_out_runs * one_run),
        describe_device(device),
    )
    detections = {
        **{
            DEFAULT if mode == default_mode else MODE_LABELS[mode]: ours(
                view, plans[mode].training_runs, READINGS[mode]
            )
            for mode, view in histories.items()
        },
        HELD_OUT: ours(
            TrainingHistory((held_out,), "crossval"), held_out_runs, READINGS["crossval"]
        ),
        CLEANLAB_ON_OURS: cleanlab_on_ours,
    }
    if default_mode == "combined":
        # The default's row of the reading table, without its learned-flip check.
        without_check = dataclasses.replace(READINGS["combined"], learned_flip_check=False)
        detections[AVERAGED_ONLY] = ours(history, plans["combined"].training_runs, without_check)
    return detections


def cleanlab_reference(
    dataset: Dataset, config: AuditConfig, records: Path | None
) -> dict[str, Detection]:
    """cleanlab's find_label_issues on 5-fold out-of-fold probabilities of a CE-trained net,
    trained the usual way for held-out predictions (with augmentation on images)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    device = resolve_device(config.device)
    tensors = prepare_tensors(dataset.features, dataset.labels, dataset.n_classes, device=device)
    ce = dataclasses.replace(config, loss="ce", mode="crossval", folds=5, window=1, augment=True)
    history = recorded_training(dataset, tensors, ce, folder=records)
    started = time.perf_counter()
    probabilities = history.view("held-out").window_mean  # a window of one epoch
    flagged = find_label_issues(dataset.labels, probabilities)
    score = 1.0 - get_label_quality_scores(dataset.labels, probabilities)
    epochs = ce.plan(dataset.n_samples, is_image=tensors.is_image).epochs
    return {
        REFERENCE: Detection(
            flagged,
            score,
            probabilities.argmax(1),
            int(flagged.sum()),
            history.seconds + time.perf_counter() - started,
            4 * dataset.n_samples * epochs,
            describe_device(device),
        )
    }


METHODS: dict[str, Method] = {
    "labelaudit": labelaudit,
    "cleanlab": cleanlab_reference,
}


def score(detection: Detection, true_labels: np.ndarray, noisy: np.ndarray) -> dict:
    wrong = true_labels != noisy
    flagged = detection.flagged
    hits = int((flagged & wrong).sum())
    precision = hits / max(int(flagged.sum()), 1)
    recall = hits / max(int(wrong.sum()), 1)
    caught = flagged & wrong
    per_class_recall = {
        int(c): round(float(flagged[wrong & (true_labels == c)].mean()), 4)
        for c in np.unique(true_labels[wrong])
    }
    given_classes = np.unique(noisy)
    flagged_share = {int(c): round(float(flagged[noisy == c].mean()), 4) for c in given_classes}
    wrong_share = {int(c): round(float(wrong[noisy == c].mean()), 4) for c in given_classes}
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if hits else 0.0,
        "auprc": float(average_precision_score(wrong, detection.score)) if wrong.any() else None,
        "flagged": int(flagged.sum()),
        "true_errors": int(wrong.sum()),
        "estimated_errors": detection.estimated_errors,
        "suggestion_accuracy": float((detection.suggested[caught] == true_labels[caught]).mean())
        if caught.any()
        else None,
        "recall_per_true_class": per_class_recall,
        # A rare class flagged wholesale shows as a flagged share far above its wrong share.
        "flagged_share_per_given_class": flagged_share,
        "wrong_share_per_given_class": wrong_share,
        "seconds": detection.seconds,
        "sample_epochs": detection.sample_epochs,
    }


def noise_settings(dataset: Dataset, name: str, *, seed: int) -> dict[str, Callable]:
    """Every noise the table reports, by name: none, symmetric and class-dependent."""
    n_classes = dataset.n_classes
    pairs = (
        noise.FASHION_PAIRS
        if name.startswith("fashion")
        else noise.permutation_pairs(n_classes, seed=seed)
    )
    settings: dict[str, Callable] = {"none": lambda y: y.copy()}
    for rate in (0.02, 0.1, 0.2, 0.4):
        settings[f"symmetric {rate:.0%}"] = lambda y, r=rate: noise.symmetric_noise(
            y, n_classes, r, seed=seed
        )
    for rate in (0.2, 0.4):
        settings[f"class-dependent {rate:.0%}"] = lambda y, r=rate: noise.class_dependent_noise(
            y, pairs, r, seed=seed
        )
    return settings


def load(name: str, args: argparse.Namespace, *, seed: int) -> tuple[Dataset, str]:
    cache = RESULTS.parent / ".cache"
    if name == "digits":
        return datasets.digits(), "sklearn digits, 1,797 samples, 8x8 as 64 features (MLP)"
    if name == "fashion-mnist":
        limit = None if args.fashion_full else args.fashion_limit
        data = datasets.fashion_mnist(limit, seed=seed)
        return data, f"Fashion-MNIST train, {data.n_samples:,} images 28x28 (ResNet)"
    if name == "neu":
        data = datasets.neu(args.neu_size, cache)
        return data, f"NEU-DET, {data.n_samples:,} images at {args.neu_size} px (ResNet)"
    if name == "neu-longtail":
        data = datasets.long_tailed(datasets.neu(args.neu_size, cache), ratio=20, seed=seed)
        return data, f"NEU-DET long-tailed (largest/smallest 20), {args.neu_size} px (ResNet)"
    if name == "fashion-mnist-embeddings":
        data = embeddings.fashion_embeddings(args.fashion_limit, seed=seed, cache_dir=cache)
        return data, (
            f"Fashion-MNIST train, {data.n_samples:,} images as 128-d embeddings of a ResNet "
            "trained on the test set (MLP)"
        )
    if name == "fashion-mnist-longtail":
        full = datasets.fashion_mnist(None, seed=seed)
        data = datasets.long_tailed(full, ratio=20, seed=seed, largest=args.fashion_limit // 5)
        return data, "Fashion-MNIST long-tailed (largest/smallest 20), 28x28 (ResNet)"
    raise SystemExit(f"unknown dataset {name!r}")


def merge_row(store: Path, row: dict) -> list[dict]:
    """The stored rows with ``row`` replacing the one of the same dataset, noise, method and
    seed; read afresh each time, so that invocations running side by side keep each other's."""
    rows = json.loads(store.read_text())["rows"] if store.exists() else []
    key = (row["dataset"], row["noise"], row["method"], row["seed"])
    return [r for r in rows if (r["dataset"], r["noise"], r["method"], r["seed"]) != key] + [row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="digits,neu,neu-longtail,fashion-mnist")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--noise", default="", help="only these settings, comma-separated")
    parser.add_argument("--seeds", default="7,8", help="noise, subset and training seeds")
    parser.add_argument("--fashion-limit", type=int, default=FASHION_SUBSET)
    parser.add_argument("--fashion-full", action="store_true", help="all 60,000 images")
    parser.add_argument("--neu-size", type=int, default=64)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--records",
        type=Path,
        help="keep training records here and reuse them: re-scores a flagging rule without "
        "training again (a record does not know the code that made it)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    store = args.out / "detect.json"
    meta = {
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "config": dataclasses.asdict(AuditConfig()),
    }
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in args.datasets.split(","):
            dataset, description = load(name, args, seed=seed)
            if name.startswith("neu") and args.neu_size != 64:
                name = f"{name}-{args.neu_size}px"
            # Rows of another subset size are other rows, not new seeds of the 10k ones.
            other_size = args.fashion_full or args.fashion_limit != FASHION_SUBSET
            if name.startswith("fashion") and other_size:
                name = f"{name}-{'full' if args.fashion_full else args.fashion_limit}"
            config = AuditConfig(seed=seed, device=args.device)
            for setting, inject in noise_settings(dataset, name, seed=seed).items():
                if args.noise and setting not in args.noise.split(","):
                    continue
                noisy = inject(dataset.labels)
                noisy_dataset = dataclasses.replace(dataset, labels=noisy)
                for method in args.methods.split(","):
                    for label, detection in METHODS[method](
                        noisy_dataset, config, args.records
                    ).items():
                        row = {
                            "dataset": name,
                            "data": description,
                            "noise": setting,
                            "method": label,
                            "seed": seed,
                            "device": detection.device,
                            **score(detection, dataset.labels, noisy),
                        }
                        print(json.dumps(row), flush=True)
                        rows = merge_row(store, row)
                        store.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
                        write_detection_markdown(args.out / "detect.md", meta, rows)


if __name__ == "__main__":
    main()
