"""Snapshots of the detection rows' flags, to show that a change to the flag rule (or a
restructuring of it) flags the same samples.

    ROWS="digits:7:symmetric 10%;neu:7:class-dependent 40%"
    python -m bench.flag_snapshot save before.npz --rows "$ROWS" --records ~/.cache/records
    # ... change the code ...
    python -m bench.flag_snapshot save after.npz --rows "$ROWS" --records ~/.cache/records
    python -m bench.flag_snapshot compare before.npz after.npz

With the same ``--records`` folder the second run re-scores the first run's training records
(:mod:`bench.records`) instead of training: it compares the reading and flagging alone. A
fresh folder trains again, comparing training too. A row is ``dataset:seed:noise``, as
:mod:`bench.detect` names them; every labelaudit variant of the row is kept (flags, scores,
suggestions).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from bench import detect
from bench.methods import trained_views
from worker.engine import AuditConfig

ARRAYS = ("flagged", "score", "suggested")


def save(rows: str, records: Path | None, out: Path) -> None:
    # Any-valued: numpy's stubs type **kwargs as its own keyword arguments (allow_pickle).
    arrays: dict[str, Any] = {}
    options = argparse.Namespace(
        fashion_limit=detect.FASHION_SUBSET, fashion_full=False, neu_size=64
    )
    for row in rows.split(";"):
        name, seed_text, setting = row.split(":")
        seed = int(seed_text)
        dataset, _ = detect.load(name, options, seed=seed)
        noisy = detect.noise_settings(dataset, name, seed=seed)[setting](dataset.labels)
        noisy_dataset = dataclasses.replace(dataset, labels=noisy)
        # The networks trained on the rows' own inputs (pixels or table), as before backbones.
        config = AuditConfig(seed=seed, backbone="none")
        for label, detection in trained_views(noisy_dataset, config, records).items():
            for what in ARRAYS:
                arrays[f"{row}|{label}|{what}"] = getattr(detection, what)
            print(f"{row} | {label}: {int(detection.flagged.sum())} flagged", flush=True)
    np.savez(out, **arrays)


def compare(before: Path, after: Path) -> bool:
    """Print one line per row and variant; True when every array is identical."""
    with np.load(before) as old, np.load(after) as new:
        if set(old.files) != set(new.files):
            print(f"rows differ: {sorted(set(old.files) ^ set(new.files))}")
            return False
        variants = sorted({key.rsplit("|", 1)[0] for key in old.files})
        same = True
        for variant in variants:
            equal = all(
                np.array_equal(old[f"{variant}|{what}"], new[f"{variant}|{what}"])
                for what in ARRAYS
            )
            flagged = int(old[f"{variant}|flagged"].sum())
            print(f"| {variant} | {flagged} | {'identical' if equal else 'DIFFERENT'} |")
            same &= equal
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    saving = commands.add_parser("save")
    saving.add_argument("out", type=Path)
    saving.add_argument("--rows", required=True)
    saving.add_argument("--records", type=Path)
    comparing = commands.add_parser("compare")
    comparing.add_argument("before", type=Path)
    comparing.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        save(args.rows, args.records, args.out)
    elif not compare(args.before, args.after):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
