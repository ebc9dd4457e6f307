"""``labelaudit audit`` on a loaded machine: a CPU burner beside it, as a second audit or
any other work would be, with the default training threads and with one.

A 400-row digits table (10% of the labels flipped, seed 0), 20 epochs, as the issue ran it.
Each checkout (this one, and with ``--before`` another, e.g. the unmodified one) runs its
own CLI in a subprocess, bounded by a timeout; the seconds are the CLI's own (from the
decoded table to the flags) and the wall time of the whole command (with Python and torch
starting). The flags of each run are compared with those of the same checkout on one thread.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_digits

from bench import report
from bench.noise import symmetric_noise
from worker.threads import available_cpus, cgroup_cpu_limit

ROOT = Path(__file__).resolve().parents[1]
ROWS, EPOCHS, BURNERS = 400, 20, 1
SUMMARY = re.compile(r"(\d+) flagged .*; ([\d.]+) s on (.+) in \w+ mode")
THREADINGS = {"default": {}, "one thread": {"OMP_NUM_THREADS": "1"}}


def digits_csv(path: Path) -> None:
    features, labels = load_digits(return_X_y=True)
    rows = np.random.default_rng(0).permutation(labels.size)[:ROWS]
    noisy = symmetric_noise(labels[rows], 10, 0.1, seed=0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "label", *(f"px{i}" for i in range(features.shape[1]))])
        for row, label in zip(rows, noisy, strict=True):
            writer.writerow([f"d{row}", int(label), *(int(v) for v in features[row])])


def machine() -> dict[str, Any]:
    """The host, and the CPUs this process may use (what the default thread count reads)."""
    return {
        **report.machine(),
        "note": "the audits and the CPU burner share these cores",
        "available_cpus": available_cpus(),
        "cgroup_cpu_limit": cgroup_cpu_limit(),
    }


def run_once(
    root: Path, data: Path, out: Path, threads: dict[str, str], timeout_s: float
) -> dict[str, Any]:
    """One CLI audit beside the burners; its seconds, device and flags."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OMP_") and name != "LABELAUDIT_TRAINING_THREADS"
    }
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(BURNERS)]
    load = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        command = [sys.executable, "-m", "labelaudit", "audit", str(data), "-o", str(out)]
        completed = subprocess.run(
            [*command, "--epochs", str(EPOCHS), "--all"],
            cwd=root,
            env={**environment, **threads},
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return {"timed_out": True, "wall_seconds": round(time.perf_counter() - started, 1)}
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    wall = time.perf_counter() - started
    found = SUMMARY.search(completed.stdout)
    if completed.returncode != 0 or found is None:
        raise RuntimeError(f"the audit failed in {root}: {completed.stderr[-2000:]}")
    with out.open() as handle:
        flagged = sorted(
            row["sample_id"] for row in csv.DictReader(handle) if row["flagged"] == "True"
        )
    return {
        "timed_out": False,
        "seconds": float(found.group(2)),
        "wall_seconds": round(wall, 1),
        "device": found.group(3),
        "flagged": int(found.group(1)),
        "load_before": round(load, 2),
        "flagged_ids": flagged,
    }


def loaded_rows(before: Path | None, *, timeout_s: float, repeats: int) -> dict[str, Any]:
    """Each checkout's runs, default threads then one thread, ``repeats`` times in turn (the
    other load on the machine varies: the rounds show by how much)."""
    checkouts = {"after": ROOT} | ({"before": before.resolve()} if before else {})
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "digits_400.csv"
        digits_csv(data)
        for repeat, (checkout, root) in itertools.product(range(repeats), checkouts.items()):
            runs = {
                name: run_once(root, data, Path(folder) / "out.csv", threads, timeout_s)
                for name, threads in THREADINGS.items()
            }
            one = runs["one thread"].get("flagged_ids")
            for name, run in runs.items():
                ids = run.pop("flagged_ids", None)
                differ = None if ids is None or one is None else len(set(ids) ^ set(one))
                rows.append(
                    {
                        "round": repeat + 1,
                        "checkout": checkout,
                        "threads": name,
                        **run,
                        "flags_differ": differ,
                    }
                )
    return {
        "data": f"scikit-learn digits, {ROWS} rows, 10% labels flipped; {EPOCHS} epochs",
        "burners": BURNERS,
        "machine": machine(),
        "command": f"python -m labelaudit audit digits_400.csv --epochs {EPOCHS} --all",
        "rows": rows,
    }


def markdown(results: dict[str, Any]) -> list[str]:
    host = results["machine"]
    return [
        "## On a loaded machine",
        "",
        f"Generated by `python -m bench.speed --loaded --before <checkout>`: `{results['command']}`"
        f" on {results['data']}, beside {results['burners']} CPU burner(s) "
        f"(`python -c 'while True: pass'`), on {host['cpu']}: {host['nproc']} CPUs, "
        f"{host['available_cpus']} available to the process (cgroup limit "
        f"{host['cgroup_cpu_limit']}). Seconds: the CLI's (table to flags); wall: the whole "
        "command. Load before: the 1-minute load average as the run started; other work than "
        "the burner (other processes of the machine's users) shared the CPUs and varied, so "
        "the rounds differ. Flags differ: samples flagged by one run and not by the same "
        "checkout's one-thread run.",
        "",
        "| round | checkout | threads | device | seconds | wall s | load before | flagged "
        "| flags differ |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['round']} | {r['checkout']} | {r['threads']} | {r.get('device', '-')} | "
            f"{'timed out' if r['timed_out'] else r['seconds']} | {r['wall_seconds']} | "
            f"{r.get('load_before', '-')} | {r.get('flagged', '-')} | {r['flags_differ']} |"
            for r in results["rows"]
        ),
        "",
    ]
