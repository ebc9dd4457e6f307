"""The options of an audit: one frozen dataclass, validated on construction. The engine
runs with it and the API and the CLI derive their options from it, so it imports no torch."""

from __future__ import annotations

import math
import types
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

Loss = Literal[
    "ce",
    "mae",
    "gce",
    "tgce",
    "bootstrap_hard",
    "bootstrap_soft",
    "sce",
    "bitempered",
    "focal",
    "peer",
    "gw",
]
LOSSES: tuple[str, ...] = get_args(Loss)
Mode = Literal["combined", "checked", "dynamics", "crossval"]
Device = Literal["auto", "cpu", "cuda"]
# Epochs left to the data give the network about TARGET_STEPS optimiser steps, within
# EPOCH_BOUNDS: the default batch holds 1/40 of the samples, so a set of up to ~10,000
# trains 40 epochs (a small image set needs them to fit its hard clean samples, which would
# otherwise be flagged with the wrong ones) and one of 20,000 or more trains 20.
TARGET_STEPS = 1600
AUGMENT_BELOW = 1000
EPOCH_BOUNDS = (20, 40)
MAX_SEED = 2**32 - 1
# Left unset, `image_size` is the images' median side up to this limit for the device
# that trains. On NEU's 200 px photos, 128 px found more of the wrong labels than 64 px did
# (F1 +0.01 to +0.03 in combined mode, bench/results/detect-notes.md) at four times the
# compute: seconds on a GPU, but on a CPU it turns a 5-minute audit into 20.
MAX_IMAGE_SIDE: dict[str, int] = {"cpu": 64, "cuda": 128}


def default_epochs_text() -> str:
    """What epochs left unset mean, for help texts."""
    low, high = EPOCH_BOUNDS
    return f"{high} up to about 10,000 samples, fewer for larger sets (at least {low})"


def mode_text() -> str:
    """What each mode means and which one an unset mode is, for help texts."""
    return (
        "combined: the mean of a model trained on every sample and held-out models that "
        "never saw it (default for images); checked: the trained model alone, each class's "
        "count of wrong labels the smaller of its and the held-out models' estimates "
        "(default for tables); dynamics: the trained model alone; crossval: held-out models "
        "alone"
    )


def default_image_size_text() -> str:
    """What an unset image_size means, for help texts."""
    cpu, cuda = MAX_IMAGE_SIDE["cpu"], MAX_IMAGE_SIDE["cuda"]
    return f"the images' median side, at most {cpu} px on a CPU and {cuda} px on a GPU"


class ConfigError(ValueError):
    """An audit option is unknown or out of range; the message names it."""

    @property
    def option(self) -> str | None:
        """The option the message starts with (``k must be in (0, 1)``), if it does."""
        first = str(self).split(" ", 1)[0]
        return first if first in {field.name for field in fields(AuditConfig)} else None


@dataclass(frozen=True)
class AuditConfig:
    """Options of one audit.

    ``epochs``, ``batch_size`` and ``image_size`` left as ``None`` are chosen from the
    dataset, so the same config suits a table and an image set. ``k`` left as ``None`` is
    chosen per class from the estimated number of wrong labels (see
    :func:`worker.engine.flagging.automatic_thresholds`).
    """

    loss: Loss = "tgce"
    k: float | None = None
    q: float = 0.7
    epochs: int | None = None
    window: int = 5
    # None: combined for images, checked for tables (see `mode_for`).
    mode: Mode | None = None
    # None: 2 in combined and checked mode (their held-out half then costs one run), 5 in
    # crossval mode.
    folds: int | None = None
    seed: int = 0
    device: Device = "auto"
    image_size: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    # Image augmentation (crops and flips) in training; None: see `augments`.
    augment: bool | None = None
    # Truncated Lq (Zhang & Sabuncu 2018): every `prune_every` epochs from `prune_start`, the
    # samples whose given-label probability is below `prune_k` stop contributing. None: the
    # default of :func:`worker.engine.train.first_pruned_epoch`.
    prune_k: float = 0.5
    prune_start: int | None = None
    prune_every: int = 2
    # Bootstrap beta, symmetric CE alpha/beta/A, bi-tempered t1/t2, focal gamma, peer alpha,
    # Gaussian-weighted CE's standard deviation.
    beta: float = 0.8
    sce_alpha: float = 0.1
    sce_beta: float = 1.0
    sce_log_clip: float = -4.0
    t1: float = 0.8
    t2: float = 1.2
    gamma: float = 2.0
    peer_alpha: float = 0.5
    gw_sigma: float = 0.1 * math.e
    holdout_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}; got {self.loss!r}")
        if self.k is not None:
            _check_open_unit("k", self.k)
        _check_open_unit("prune_k", self.prune_k)
        for name in ("prune_start", "prune_every"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 1000:
                raise ConfigError(f"{name} must be between 1 and 1000; got {value}")
        if not 0.0 < self.q <= 1.0:
            raise ConfigError(f"q must be in (0, 1]; got {self.q}")
        if self.epochs is not None and not 1 <= self.epochs <= 1000:
            raise ConfigError(f"epochs must be between 1 and 1000; got {self.epochs}")
        if not 1 <= self.window <= 1000:
            raise ConfigError(f"window must be between 1 and 1000; got {self.window}")
        if self.epochs is not None and self.mode != "crossval" and self.window > self.epochs:
            raise ConfigError(f"window ({self.window}) cannot exceed epochs ({self.epochs})")
        if self.mode is not None and self.mode not in get_args(Mode):
            modes = ", ".join(get_args(Mode))
            raise ConfigError(f"mode must be one of {modes}; got {self.mode!r}")
        if self.folds is not None and not 2 <= self.folds <= 20:
            raise ConfigError(f"folds must be between 2 and 20; got {self.folds}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda; got {self.device!r}")
        if self.image_size is not None and not 8 <= self.image_size <= 512:
            raise ConfigError(f"image_size must be between 8 and 512; got {self.image_size}")
        if self.batch_size is not None and not 1 <= self.batch_size <= 65536:
            raise ConfigError(f"batch_size must be between 1 and 65536; got {self.batch_size}")
        if self.learning_rate is not None and not 0.0 < self.learning_rate <= 10.0:
            raise ConfigError(f"learning_rate must be in (0, 10]; got {self.learning_rate}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed must be between 0 and {MAX_SEED}; got {self.seed}")
        _check_open_unit("beta", self.beta, closed_right=True)
        _check_open_unit("holdout_fraction", self.holdout_fraction, open_left=False)
        if not 0.0 <= self.t1 <= 1.0 or self.t2 < 1.0:
            raise ConfigError(
                f"bi-tempered needs 0 <= t1 <= 1 <= t2; got t1={self.t1}, t2={self.t2}"
            )
        if self.gamma < 0:
            raise ConfigError(f"gamma must be >= 0; got {self.gamma}")
        if not self.gw_sigma > 0:
            raise ConfigError(f"gw_sigma must be > 0; got {self.gw_sigma}")

    def augments(self, n_samples: int) -> bool:
        """Whether training on ``n_samples`` images augments them.

        Left to the data, only sets under :data:`AUGMENT_BELOW` images are: without it a
        network memorises a small set's wrong labels before truncated Lq prunes them, while
        on a larger one augmentation keeps it from fitting the hard clean samples, which are
        then flagged with the wrong ones (``bench/results/detect-notes.md``).
        """
        return self.augment if self.augment is not None else n_samples < AUGMENT_BELOW

    def mode_for(self, *, is_image: bool) -> Mode:
        """The mode an audit of images, or of a table, runs in.

        Left to the data, images are audited in ``combined`` mode: a CNN's in-sample
        dynamics miss clean samples it finds hard (an unusually lit photo), and models that
        never saw them often do not. A table's MLP is audited in ``checked`` mode: held-out
        MLPs trained on half the rows are weaker than the in-sample one, and averaging with
        them lowered F1 on every digits row, but when the features blur two classes (an
        embedding that confuses shirts with T-shirts) the in-sample MLP's estimate of the
        wrong labels overshoots and theirs does not (``bench/results/detect-notes.md``).
        """
        if self.mode is not None:
            return self.mode
        return "combined" if is_image else "checked"

    def fold_count(self, mode: Mode) -> int:
        """The folds of ``crossval`` mode and of the held-out half of the other two-view
        modes."""
        if self.folds is not None:
            return self.folds
        return 5 if mode == "crossval" else 2

    def held_out_epochs(self, mode: Mode, epochs: int) -> int:
        """The epochs a held-out fold's model trains for when the audit trains ``epochs``.

        In ``checked`` mode the held-out models only count the wrong labels, and on tables
        models trained for half the epochs counted as well as, or better than, full ones
        (``bench/results/detect-notes.md``) at a quarter less of the audit's compute.
        """
        if mode != "checked":
            return epochs
        return max(epochs // 2, min(self.window, epochs))

    def training_runs(self, mode: Mode, *, epochs: int) -> float:
        """The compute of an audit in ``mode``, in training runs of ``epochs`` over every
        sample: each held-out fold's model trains on all the other folds."""
        if mode == "dynamics":
            return 1.0
        held_out = (self.fold_count(mode) - 1) * self.held_out_epochs(mode, epochs) / epochs
        return held_out + (0.0 if mode == "crossval" else 1.0)

    def held_out_config(self) -> AuditConfig:
        """How ``combined`` and ``checked`` mode train the models that record the folds they
        do not see.

        Plain cross-entropy with augmentation, the usual recipe for held-out predictions:
        a robust loss would not fit the hard clean samples that the in-sample run misses
        either, so the two would err together (``bench/results/detect-notes.md``).
        """
        return replace(self, loss="ce", augment=True)

    def batch_size_for(self, n_samples: int) -> int:
        """The training batch for ``n_samples``: 1/40 of them, between 32 and 256."""
        return self.batch_size or min(max(n_samples // 40, 32), 256)

    def epochs_for(self, n_samples: int) -> int:
        """The epochs an audit of ``n_samples`` trains for (see :data:`TARGET_STEPS`)."""
        if self.epochs is not None:
            return self.epochs
        steps_per_epoch = math.ceil(n_samples / self.batch_size_for(n_samples))
        low, high = EPOCH_BOUNDS
        return min(max(math.ceil(TARGET_STEPS / steps_per_epoch), low), high)

    @classmethod
    def from_mapping(cls, options: dict[str, Any]) -> AuditConfig:
        """Build a config from user options, naming any unknown key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"unknown option(s): {', '.join(unknown)}")
        try:
            return cls(**options)
        except TypeError as exc:
            raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class OptionSpec:
    """One option of :class:`AuditConfig` as a form or a command line offers it.

    Attributes
    ----------
    name : str
    annotation : type
        The field's type (``float | None``, ``Literal[...]`` ...).
    default : object
    value_type : type
        What one value is: ``int``, ``float``, ``str`` or ``bool`` (None stripped).
    choices : tuple or None
        The allowed values of a ``Literal`` option.
    """

    name: str
    annotation: Any
    default: Any
    value_type: type
    choices: tuple[Any, ...] | None


def option_specs(names: tuple[str, ...]) -> list[OptionSpec]:
    """The named options of :class:`AuditConfig`, in the given order, as declared there."""
    hints = get_type_hints(AuditConfig)
    declared = {field.name: field for field in fields(AuditConfig)}
    specs = []
    for name in names:
        annotation = hints[name]
        default = declared[name].default
        if default is MISSING:
            raise TypeError(f"option {name} has no default")
        present = [t for t in _members(annotation) if t is not type(None)][0]
        choices = get_args(present) if get_origin(present) is Literal else None
        value_type = type(choices[0]) if choices else present
        specs.append(OptionSpec(name, annotation, default, value_type, choices))
    return specs


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def _check_open_unit(
    name: str, value: float, *, open_left: bool = True, closed_right: bool = False
) -> None:
    low_ok = value > 0.0 if open_left else value >= 0.0
    high_ok = value <= 1.0 if closed_right else value < 1.0
    if not (low_ok and high_ok):
        left = "(" if open_left else "["
        right = "]" if closed_right else ")"
        raise ConfigError(f"{name} must be in {left}0, 1{right}; got {value}")
