"""How many threads training uses, and how they wait: set before torch is imported.

PyTorch starts one OpenMP thread per core of the host (``os.cpu_count()``), and OpenMP's
threads spin between parallel regions. Where the process may use fewer cores (a CPU
affinity mask, a container's CPU quota) or other work shares them, the spinning threads
take the cores from the ones with work to do: on a 2-core machine with other work running,
a 400-row table audit took 81 s with torch's defaults and 3.9 s with passive waiting
(``bench/results/speed.md``). So training uses as many threads as this process may really
run on, and its threads sleep when they have nothing to do.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, membership: Path = PROC_CGROUP) -> float | None:
    """The CPUs the cgroup quota of this process allows (``1.5`` for 150 ms per 100 ms),
    the smallest along its cgroup's path, cgroup v2 or v1; None when there is no quota."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    limits = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2: "0::/path", cpu.max reads "max 100000" or "150000 100000"
            folders = [root / path.lstrip("/")]
            files: tuple[str, ...] = ("cpu.max",)
        elif "cpu" in controllers.split(","):  # v1: cfs_quota_us -1 is no quota
            base = root / controllers
            folders = [base / path.lstrip("/"), base]
            files = ("cpu.cfs_quota_us", "cpu.cfs_period_us")
        else:
            continue
        for folder in _with_parents(folders, root):
            limit = _quota(folder, files)
            if limit is not None:
                limits.append(limit)
    return min(limits) if limits else None


def available_cpus(root: Path = CGROUP_ROOT, membership: Path = PROC_CGROUP) -> int:
    """The CPUs this process may run on: its affinity mask, within its cgroup's quota."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = cgroup_cpu_limit(root, membership)
    if limit is not None:
        # More threads than the quota allows get throttled together for the rest of each period.
        cpus = min(cpus or 1, max(1, math.floor(limit)))
    return max(1, cpus or 1)


def training_threads(requested: int | None, environ: Mapping[str, str] = os.environ) -> int:
    """``requested`` (``LABELAUDIT_TRAINING_THREADS``, ``--threads``), else the user's
    ``OMP_NUM_THREADS``, else :func:`available_cpus`."""
    if requested is not None:
        return requested
    value = environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return available_cpus()


def configure_training_threads(requested: int | None = None) -> int:
    """Set the threads training uses, and passive waiting (``OMP_WAIT_POLICY``, unless the
    user set it); returns the number of threads.

    OpenMP reads its environment when torch is imported, so call this first; on a torch
    imported already it still sets the number of threads.
    """
    threads = training_threads(requested)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    return threads


def _quota(folder: Path, files: tuple[str, ...]) -> float | None:
    try:
        if len(files) == 1:
            quota, period = (folder / files[0]).read_text().split()[:2]
        else:
            quota, period = ((folder / name).read_text().strip() for name in files)
    except (OSError, ValueError):
        return None
    if quota in ("max", "-1") or int(period) <= 0:
        return None
    return int(quota) / int(period)


def _with_parents(folders: list[Path], root: Path) -> list[Path]:
    """The folders and every folder above them up to ``root``: a quota anywhere applies."""
    seen: list[Path] = []
    for folder in folders:
        while folder not in seen:
            seen.append(folder)
            if folder == root or root not in folder.parents:
                break
            folder = folder.parent
    return seen
