"""`labelaudit audit DATASET`: run the engine on a file and write the suspects as CSV."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from formats.csv_rows import (
    LEADING_SUSPECT_COLUMNS,
    boolean_cell,
    csv_writer,
    neutralised,
    suspect_cells,
)
from formats.options import (
    backbone_text,
    default_epochs_text,
    default_image_size_text,
    mode_text,
    option_specs,
)
from formats.stages import count_text, stage_text
from formats.worth_a_look import WORTH_A_LOOK_TITLE, WorthALook, worth_a_look_rows

# The engine's options the command line offers; their types, choices and defaults are
# AuditConfig's, and so are their ranges, checked when the config is built.
CLI_OPTIONS = (
    "loss",
    "k",
    "q",
    "epochs",
    "window",
    "mode",
    "folds",
    "device",
    "seed",
    "image_size",
    "backbone",
)
HELP = {
    "k": "flag when the confidence in the given label stays below k (default: chosen per "
    "class from the estimated number of wrong labels)",
    "q": "Lq exponent",
    "epochs": f"default: {default_epochs_text()}",
    "window": "epochs a flag must persist",
    "mode": mode_text(),
    "folds": "held-out folds (default: 5 in crossval mode, otherwise 2)",
    "image_size": f"side images are resized to (default: {default_image_size_text()})",
    "backbone": backbone_text(),
}
# The API's suspects export's leading columns, then whether the sample is flagged (--all).
CSV_COLUMNS = (*LEADING_SUSPECT_COLUMNS, "flagged")


def add_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "audit",
        help="find wrong labels in a CSV, Parquet, npz or image dataset",
        description="Train a model with a noise-robust loss and list the samples whose "
        "confidence in their given label stays below k.",
    )
    parser.add_argument("dataset", type=Path, help="CSV, Parquet, .npz, image .zip or folder")
    parser.add_argument("-o", "--output", type=Path, default=Path("suspects.csv"))
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--id-column", default="id")
    for spec in option_specs(CLI_OPTIONS):
        parser.add_argument(
            f"--{spec.name.replace('_', '-')}",
            type=spec.value_type,
            default=spec.default,
            choices=spec.choices,
            help=HELP.get(spec.name),
        )
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads to train with (default: OMP_NUM_THREADS if set, else the CPUs this "
        "process may use, by its affinity and cgroup quota)",
    )
    parser.add_argument("--cache-dir", type=Path, help="where decoded images are cached")
    parser.add_argument("--all", action="store_true", help="write every sample, not only flags")
    parser.set_defaults(run=run_audit)


def run_audit(args: argparse.Namespace) -> int:
    from worker.threads import configure_training_threads

    if args.threads is not None and args.threads < 1:
        print("labelaudit: error: --threads must be at least 1", file=sys.stderr)
        return 2
    # Before torch is imported (by the engine): OpenMP reads its settings then.
    configure_training_threads(args.threads)
    from formats import DatasetError
    from formats.options import AuditConfig, ConfigError
    from worker.engine import audit, load_for_audit

    started = time.perf_counter()
    bar = ProgressBar(sys.stderr)
    try:
        config = AuditConfig(**{name: getattr(args, name) for name in CLI_OPTIONS})
        dataset = load_for_audit(
            args.dataset,
            config,
            label_column=args.label_column,
            id_column=args.id_column,
            cache_dir=args.cache_dir,
        )
        result = audit(dataset, config, progress=bar.update)
    except (ConfigError, DatasetError) as exc:
        bar.close()
        print(f"labelaudit: error: {exc}", file=sys.stderr)
        return 2
    bar.close()
    rows = write_suspects(args.output, result, include_all=args.all)
    errors = ", ".join(f"{name}={n}" for name, n in result.estimated_errors.items())
    thresholds = ", ".join(f"{name}={k:.3g}" for name, k in result.thresholds.items())
    look = WorthALook.of(dataset.n_samples, result.n_flagged, result.estimated_errors)
    print(
        f"{dataset.n_samples} samples, {look.describe()} ({rows} rows in "
        f"{args.output}); estimated errors per class: {errors}; k per class: {thresholds}; "
        f"{time.perf_counter() - started:.1f} s on {result.device}{features_text(result)}; "
        f"{result.plan.describe()}"
    )
    if look.few:
        print("\n".join(worth_a_look_lines(result, look.size)))
    return 0


def worth_a_look_lines(result: Any, size: int) -> list[str]:
    """The worth-a-look samples as a table (:mod:`formats.worth_a_look`): what a reviewer
    checks before reading few flags as a clean set. Ids and labels are printed escaped
    where they hold what a terminal would act on."""
    flags = result.flags
    chosen = worth_a_look_rows(flags.score, flags.flagged, size)
    if not chosen.size:
        return [f"{WORTH_A_LOOK_TITLE}: none, every sample is flagged."]
    names = result.class_names
    table = [("row", "sample id", "given", "suggested", "confidence", "score")]
    table += [
        (
            str(i),
            _shown(str(result.sample_ids[i])),
            _shown(names[result.given[i]]),
            _shown(names[flags.suggested[i]]),
            f"{flags.confidence[i]:.1%}",
            f"{flags.score[i]:.3f}",
        )
        for i in chosen
    ]
    widths = [max(map(len, column)) for column in zip(*table, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        for cells in table
    ]
    heading = (
        f"{WORTH_A_LOOK_TITLE} ({chosen.size}, most suspicious first; --all writes every "
        "sample to the CSV):"
    )
    return [heading, *(f"  {line}".rstrip() for line in lines)]


def _shown(text: str, *, limit: int = 40) -> str:
    """``text`` for a terminal's table: control characters escaped, cut at ``limit``."""
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def features_text(result: Any) -> str:
    """How long the backbone took, where the audit used one."""
    if result.plan.backbone == "none":
        return ""
    return f" ({result.feature_seconds:.1f} s of it computing {result.plan.backbone} features)"


def write_suspects(path: Path, result: Any, *, include_all: bool) -> int:
    """Write one row per flagged sample (every sample with ``include_all``), by score, as
    the API's suspects export writes its rows: full-precision scores, and ids and labels a
    spreadsheet would run as formulas neutralised (see :mod:`formats.csv_rows`)."""
    flags = result.flags
    order = np.argsort(-flags.score, kind="stable")
    if not include_all:
        order = order[flags.flagged[order]]
    names = result.class_names
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv_writer(handle)
        writer.writerow(CSV_COLUMNS)
        for i in order:
            cells = suspect_cells(
                result.sample_ids[i],
                i,
                names[result.given[i]],
                names[flags.suggested[i]],
                flags.confidence[i],
                flags.score[i],
            )
            writer.writerow(neutralised((*cells, boolean_cell(flags.flagged[i]))))
    return int(order.size)


class ProgressBar:
    """A one-line bar with the stage as the audits list names it (:func:`formats.stages.
    stage_text`), the epoch and an ETA, drawn only on a terminal."""

    def __init__(self, stream: TextIO, *, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = stream.isatty()
        self.started = time.perf_counter()
        self.drawn = False
        # The longest line drawn: a shorter one is padded to cover what it left behind.
        self.longest = 0

    def update(self, progress: Any) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        fraction = min(max(progress.fraction, 0.0), 1.0)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        filled = int(self.width * fraction)
        epoch = (
            f" {count_text(progress.stage, progress.epoch, progress.epochs)}"
            if progress.epochs
            else ""
        )
        line = (
            f"{stage_text(progress.stage)} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{fraction:4.0%}{epoch} ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        )
        self.stream.write(f"\r{line:<{self.longest}}")
        self.stream.flush()
        self.longest = max(self.longest, len(line))
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
