import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

# Every test here starts a `labelaudit` process.
pytestmark = pytest.mark.slow


def run_cli(*args: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labelaudit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **environment},
    )


def noisy_digits_csv(path: Path, *, rate: float, seed: int) -> set[str]:
    features, labels = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    wrong = rng.random(labels.size) < rate
    noisy = labels.copy()
    noisy[wrong] = (labels[wrong] + rng.integers(1, 10, wrong.sum())) % 10
    names = np.array([f"digit-{d}" for d in range(10)])
    table = pd.DataFrame(features, columns=[f"px{i}" for i in range(64)])
    table.insert(0, "id", [f"scan-{i:04d}" for i in range(labels.size)])
    table["label"] = names[noisy]
    table.to_csv(path, index=False)
    return {f"scan-{i:04d}" for i in np.flatnonzero(wrong)}


def test_audit_csv_end_to_end_finds_injected_errors(tmp_path):
    wrong = noisy_digits_csv(tmp_path / "digits.csv", rate=0.15, seed=21)
    completed = run_cli("audit", "digits.csv", "-o", "out.csv", "--epochs", "25", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "1797 samples" in completed.stdout and "flagged" in completed.stdout
    # The summary ends with the plan the audit ran: the mode and the values left to the data.
    assert "; checked mode; tgce, 25 epochs, batch 44 on every sample; 2 held-out folds: ce, " in (
        completed.stdout
    )
    # The summary is the first line: the worth-a-look samples may follow it.
    summary = completed.stdout.splitlines()[0]
    assert summary.endswith("window 5, learning rate 0.001, k per class")
    with (tmp_path / "out.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "sample_id",
        "row_index",
        "given_label",
        "suggested_label",
        "confidence",
        "score",
        "flagged",
    ]
    flagged = {row["sample_id"] for row in rows}
    assert all(row["flagged"] == "true" for row in rows)
    scores = [float(row["score"]) for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert rows[0]["given_label"].startswith("digit-")
    hits = len(flagged & wrong)
    assert 2 * hits / (len(flagged) + len(wrong)) > 0.85


def test_all_writes_every_sample(tmp_path):
    noisy_digits_csv(tmp_path / "digits.csv", rate=0.1, seed=22)
    completed = run_cli(
        "audit", "digits.csv", "--all", "--epochs", "3", "--window", "2", cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stderr
    assert len(pd.read_csv(tmp_path / "suspects.csv")) == 1797


def test_bad_input_exits_non_zero_with_one_line(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n3,4\n")
    completed = run_cli("audit", "bad.csv", cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0
    assert "label" in completed.stderr and "Traceback" not in completed.stderr


def test_out_of_range_option_exits_with_its_name(tmp_path):
    noisy_digits_csv(tmp_path / "digits.csv", rate=0.1, seed=23)
    completed = run_cli("audit", "digits.csv", "--k", "1.5", cwd=tmp_path)
    assert completed.returncode == 2
    assert "k must be in (0, 1)" in completed.stderr


def test_missing_dataset_is_named(tmp_path):
    completed = run_cli("audit", "nowhere.zip", cwd=tmp_path)
    assert completed.returncode == 2
    assert "nowhere.zip" in completed.stderr


def test_the_summary_names_the_threads_that_trained(tmp_path):
    noisy_digits_csv(tmp_path / "digits.csv", rate=0.1, seed=23)
    quick = ("audit", "digits.csv", "--epochs", "3", "--window", "2")
    # --threads wins over OMP_NUM_THREADS, which wins over the CPUs found.
    chosen = run_cli(*quick, "--threads", "2", cwd=tmp_path, OMP_NUM_THREADS="1")
    assert chosen.returncode == 0, chosen.stderr
    assert "on cpu (2 threads)" in chosen.stdout
    inherited = run_cli(*quick, cwd=tmp_path, OMP_NUM_THREADS="1")
    assert "on cpu (1 thread)" in inherited.stdout, inherited.stderr
    refused = run_cli(*quick, "--threads", "0", cwd=tmp_path)
    assert refused.returncode == 2 and "--threads must be at least 1" in refused.stderr
