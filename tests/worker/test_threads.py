"""Training threads from the CPUs this process may really use, not the host's count."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.threads import available_cpus, cgroup_cpu_limit, training_threads


def cgroup_tree(tmp_path: Path, membership: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    proc = tmp_path / "proc-cgroup"
    proc.write_text(membership)
    return root, proc


def test_a_cgroup_v2_quota_on_the_process_or_above_it_bounds_the_cpus(tmp_path):
    root, proc = cgroup_tree(
        tmp_path,
        "0::/jobs/audit\n",
        {"jobs/cpu.max": "150000 100000\n", "jobs/audit/cpu.max": "max 100000\n"},
    )
    assert cgroup_cpu_limit(root, proc) == pytest.approx(1.5)
    assert available_cpus(root, proc) == 1


def test_a_cgroup_v1_quota_bounds_the_cpus_and_minus_one_is_none(tmp_path):
    files = {
        "cpu,cpuacct/cpu.cfs_quota_us": "200000\n",
        "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
    }
    root, proc = cgroup_tree(tmp_path, "4:cpu,cpuacct:/\n3:memory:/x\n", files)
    assert cgroup_cpu_limit(root, proc) == pytest.approx(2.0)
    assert available_cpus(root, proc) == min(2, len(os.sched_getaffinity(0)))
    (root / "cpu,cpuacct/cpu.cfs_quota_us").write_text("-1\n")
    assert cgroup_cpu_limit(root, proc) is None


def test_the_affinity_mask_bounds_the_cpus_without_a_quota(tmp_path):
    root, proc = cgroup_tree(tmp_path, "0::/\n", {"cpu.max": "max 100000\n"})
    assert available_cpus(root, proc) == len(os.sched_getaffinity(0))


def test_a_setting_wins_over_omp_num_threads_which_wins_over_the_cpus():
    assert training_threads(3, {"OMP_NUM_THREADS": "1"}) == 3
    assert training_threads(None, {"OMP_NUM_THREADS": "2"}) == 2
    assert training_threads(None, {"OMP_NUM_THREADS": "many"}) == available_cpus()


def test_a_pinned_worker_trains_with_its_cpus_and_passive_waiting():
    # Pinned to one CPU, no OMP_NUM_THREADS: torch gets one thread, and threads sleep.
    script = (
        "from worker.threads import configure_training_threads\n"
        "n = configure_training_threads()\n"
        "import os, torch\n"
        "print(n, torch.get_num_threads(), os.environ['OMP_WAIT_POLICY'])\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert completed.stdout.split() == ["1", "1", "PASSIVE"]
