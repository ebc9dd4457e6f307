"""Speed benchmark: the default audit end to end, and where an epoch's time goes.

    python -m bench.speed                              # full Fashion-MNIST train set
    python -m bench.speed --limit 10000 --device cpu

Times ``audit(dataset, AuditConfig(seed=7))`` from the decoded arrays to the flags (the
worker's part of an audit; decoding an upload is timed by the upload benchmark), each
training run of it (from its progress reports), and then one epoch of each kind of run split
into its training pass and its recording pass (the probabilities of the samples it records,
in eval mode). Reports samples per second: samples × epochs trained per second of training.
Results: ``bench/results/speed.{json,md}`` with the device named.

    python -m bench.speed --loaded --before ../base     # on a loaded machine (bench.loaded)

adds the rows of ``labelaudit audit`` on a busy machine, this checkout's and another's, with
the default training threads and with one (see :mod:`bench.loaded`); each part of the
results is kept when the other one is run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench import datasets, loaded
from bench.report import write_results
from formats import Dataset
from formats.options import Device
from formats.stages import FLAGGING
from worker.engine import AuditConfig, Progress, audit
from worker.engine.run import TrainingRun
from worker.engine.tensors import TrainingTensors, describe_device, prepare_tensors, resolve_device

RESULTS = Path(__file__).resolve().parent / "results"


def timed(action: Callable[[], Any], device: torch.device) -> float:
    """Seconds ``action`` takes, queued GPU work included."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    action()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


def end_to_end(dataset: Dataset, config: AuditConfig) -> dict[str, Any]:
    """The default audit, and the seconds from its start to the last report of each stage."""
    reports: dict[str, float] = {}
    started = time.perf_counter()

    def record(progress: Progress) -> None:
        if progress.stage != FLAGGING:
            reports[progress.stage] = time.perf_counter() - started

    result = audit(dataset, config, progress=record)
    total = time.perf_counter() - started
    stages, previous = {}, 0.0
    for stage, at in reports.items():
        stages[stage] = round(at - previous, 2)
        previous = at
    stages["flagging and results"] = round(total - previous, 2)
    plan = result.plan
    training = total - stages["flagging and results"]
    return {
        "seconds": round(total, 2),
        "stages": stages,
        "epochs": plan.epochs,
        "mode": plan.mode,
        "samples_per_second": round(
            plan.training_runs * dataset.n_samples * plan.epochs / training
        ),
        "flagged": int(result.flags.flagged.sum()),
        "device": result.device,
    }


def epoch_profile(tensors: TrainingTensors, config: AuditConfig, *, held_out: bool) -> dict:
    """One warm epoch of a run (the in-sample run, or a held-out half's), split in two."""
    everyone = np.arange(tensors.n_samples)
    trained, recorded = (everyone[::2], everyone[1::2]) if held_out else (everyone, everyone)
    plan = dataclasses.replace(config, mode="combined").plan(
        tensors.n_samples, is_image=tensors.is_image
    )
    recipe = plan.held_out if held_out else plan.in_sample
    assert recipe is not None  # combined mode trains both
    batch = recipe.batch_sizes[0]
    run = TrainingRun(tensors, plan, recipe, config, trained, batch, seed=config.seed)
    run.train_epoch()
    run.predict(recorded)
    train_s = timed(run.train_epoch, tensors.device)
    record_s = timed(lambda: run.predict(recorded), tensors.device)
    return {
        "run": "held-out half" if held_out else "in-sample",
        "batch_size": run.batch_size,
        "augments": run.augment,
        "train_seconds": round(train_s, 3),
        "record_seconds": round(record_s, 3),
        "train_samples_per_second": round(trained.size / train_s),
        "record_samples_per_second": round(recorded.size / record_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None, help="a subset of the train set")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--loaded", action="store_true", help="the loaded-machine rows only")
    parser.add_argument("--before", type=Path, help="with --loaded: a checkout to compare")
    parser.add_argument("--timeout", type=float, default=300.0, help="with --loaded: per run")
    parser.add_argument("--repeats", type=int, default=2, help="with --loaded: rounds")
    args = parser.parse_args()
    stored = args.out / "speed.json"
    results = json.loads(stored.read_text()) if stored.exists() else {}
    if args.loaded:
        results["loaded"] = loaded.loaded_rows(
            args.before, timeout_s=args.timeout, repeats=args.repeats
        )
    else:
        results.update(default_audit(args.limit, args.device))
    lines = ["# Speed", ""]
    if "end_to_end" in results:
        lines += default_audit_lines(results)
    if "loaded" in results:
        lines += loaded.markdown(results["loaded"])
    write_results(args.out, "speed", results, lines)
    print("\n".join(lines), flush=True)


def default_audit(limit: int | None, requested_device: Device) -> dict[str, Any]:
    dataset = datasets.fashion_mnist(limit, seed=7)
    config = AuditConfig(seed=7, device=requested_device)
    device = resolve_device(requested_device)
    whole = end_to_end(dataset, config)
    tensors = prepare_tensors(dataset.features, dataset.labels, dataset.n_classes, device=device)
    profiles = [epoch_profile(tensors, config, held_out=h) for h in (False, True)]
    return {
        "data": f"Fashion-MNIST train, {dataset.n_samples:,} images 28x28",
        "device": describe_device(device),
        "torch": torch.__version__,
        "config": dataclasses.asdict(config),
        "end_to_end": whole,
        "epoch_profile": profiles,
    }


def default_audit_lines(results: dict[str, Any]) -> list[str]:
    whole, profiles = results["end_to_end"], results["epoch_profile"]
    return [
        "## The default audit end to end",
        "",
        f"Generated by `python -m bench.speed`; {results['data']}, on {results['device']},",
        f"torch {results['torch']}. From decoded arrays to flags (the worker's part).",
        "",
        f"- **{whole['seconds']} s** end to end ({whole['mode']} mode, {whole['epochs']} "
        f"epochs): {whole['samples_per_second']:,} samples × epochs per second of training.",
        *(f"- {stage}: {seconds} s" for stage, seconds in whole["stages"].items()),
        "",
        "One warm epoch of each run, its training pass against its recording pass:",
        "",
        "| run | batch | augments | train s | record s | train samples/s | record samples/s |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {p['run']} | {p['batch_size']} | {p['augments']} | {p['train_seconds']} "
            f"| {p['record_seconds']} | {p['train_samples_per_second']:,} "
            f"| {p['record_samples_per_second']:,} |"
            for p in profiles
        ),
        "",
    ]


if __name__ == "__main__":
    main()
