"""Detection benchmark: labelaudit against cleanlab on the same data and seeds.

    python -m bench.detect --datasets digits --seeds 7,8,9
    python -m bench.detect --datasets neu-300,neu-600 --noise "none,symmetric 10%" --seeds 7,8
    python -m bench.detect --datasets neu --methods labelaudit,cleanlab-features --seeds 7
    python -m bench.detect --datasets neu --methods labelaudit-scratch --seeds 7
    python -m bench.detect --datasets neu --seeds 7 --records ~/.cache/labelaudit-records

With ``--records`` each training run's records are kept, and a later invocation with the
same folder, data and options reads them instead of training: a change to the flagging rule
is re-scored on every row in seconds.

On images labelaudit audits a pretrained backbone's features as a table, as the audit does;
the features are computed once per set and kept under ``bench/.cache`` (noise does not
change them), and ``cleanlab-features`` reads the same ones. ``labelaudit-scratch`` (opt-in)
and ``cleanlab`` (5-fold CE) train networks from scratch on the pixels.

Noise is injected with the row's seed; the true labels are used only in scoring. The methods
that train (ours, and cleanlab's 5-fold reference) train the same network for the same number
of epochs. Rows (one per dataset, noise, method and seed) are merged into
``bench/results/detect.json``, and the Markdown table (mean ± sd over the seeds) is
rewritten from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score

from bench import datasets, embeddings, noise
from bench.detection import Detection, Method, RowInputs
from bench.features import PretrainedFeatures, pretrained_features
from bench.methods import cleanlab_reference, labelaudit, labelaudit_scratch
from bench.on_features import cleanlab_features
from bench.report import write_detection_markdown
from formats import Dataset
from worker.engine import AuditConfig
from worker.engine.tensors import resolve_device

RESULTS = Path(__file__).resolve().parent / "results"
# The Fashion-MNIST rows' subset size, unless --fashion-limit or --fashion-full says otherwise.
FASHION_SUBSET = 10_000
# Images per class of the NEU subsets.
NEU_SUBSETS = {"neu-300": 50, "neu-600": 100}


METHODS: dict[str, Method] = {
    "labelaudit": labelaudit,
    "cleanlab-features": cleanlab_features,
    "cleanlab": cleanlab_reference,
    # Opt-in: the networks trained from scratch on the pixels take minutes per row on a CPU.
    "labelaudit-scratch": labelaudit_scratch,
}
DEFAULT_METHODS = "labelaudit,cleanlab-features,cleanlab"


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
    if name.startswith("neu") and name != "neu-longtail":
        data = datasets.neu(args.neu_size, cache)
        what = "NEU-DET"
        if name in NEU_SUBSETS:
            data = datasets.stratified(data, NEU_SUBSETS[name], seed=seed)
            what = f"NEU-DET, {NEU_SUBSETS[name]} per class (seeded)"
        elif name != "neu":
            raise SystemExit(f"unknown dataset {name!r}")
        return data, f"{what}, {data.n_samples:,} images; {_neu_inputs(args.neu_size)}"
    if name == "neu-longtail":
        data = datasets.long_tailed(datasets.neu(args.neu_size, cache), ratio=20, seed=seed)
        return data, (
            f"NEU-DET long-tailed (largest/smallest 20), {data.n_samples:,} images; "
            f"{_neu_inputs(args.neu_size)}"
        )
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


def _neu_inputs(side: int) -> str:
    """What each kind of method reads of NEU's images."""
    return (
        "labelaudit and cleanlab-features: EfficientNet-Lite0 features at 224 px (MLP); "
        f"from scratch: {side} px (ResNet)"
    )


def merge_row(store: Path, row: dict) -> list[dict]:
    """The stored rows with ``row`` replacing the one of the same dataset, noise, method and
    seed; read afresh each time, so that invocations running side by side keep each other's."""
    rows = json.loads(store.read_text())["rows"] if store.exists() else []
    key = (row["dataset"], row["noise"], row["method"], row["seed"])
    return [r for r in rows if (r["dataset"], r["noise"], r["method"], r["seed"]) != key] + [row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="digits,neu,neu-longtail,fashion-mnist")
    parser.add_argument("--methods", default=DEFAULT_METHODS, help=", ".join(METHODS))
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
    cache = RESULTS.parent / ".cache"
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
            inputs = RowInputs(
                args.records,
                functools.cache(
                    functools.partial(_features, dataset, name, device=args.device, cache_dir=cache)
                ),
            )
            for setting, inject in noise_settings(dataset, name, seed=seed).items():
                if args.noise and setting not in args.noise.split(","):
                    continue
                noisy = inject(dataset.labels)
                noisy_dataset = dataclasses.replace(dataset, labels=noisy)
                for method in args.methods.split(","):
                    for label, detection in METHODS[method](noisy_dataset, config, inputs).items():
                        row = {
                            "dataset": name,
                            "data": description,
                            "noise": setting,
                            "method": label,
                            "seed": seed,
                            "device": detection.device,
                            "backbone": detection.backbone,
                            **score(detection, dataset.labels, noisy),
                        }
                        print(json.dumps(row), flush=True)
                        rows = merge_row(store, row)
                        store.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
                        write_detection_markdown(args.out / "detect.md", meta, rows)


def _features(
    dataset: Dataset, name: str, backbone: str, *, device: str, cache_dir: Path
) -> PretrainedFeatures:
    return pretrained_features(
        dataset, name, backbone, device=resolve_device(device), cache_dir=cache_dir
    )


if __name__ == "__main__":
    main()
