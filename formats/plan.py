"""An audit's plan: every value its training and flagging run with, resolved once.

:meth:`formats.options.AuditConfig.plan` fills what the user left unset from the data (how
many samples, images or a table, the images' decoded side). The engine runs from the plan
alone, the audit's summary stores it and the CLI prints it, so nothing downstream decides a
default of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .defaults import (
    AUGMENT_BELOW,
    BACKBONE_SHAPES,
    HELD_OUT_LOSS,
    LEARNING_RATE,
    NEIGHBOURS,
    SCHEDULE_FLOOR_RATIO,
    WEIGHT_DECAY,
    batch_size,
    default_backbone,
    default_epochs,
    default_first_pruned_epoch,
    default_folds,
    default_mode,
    fold_size,
    held_out_epochs,
)
from .options import Backbone, ConfigError, Loss, Mode

if TYPE_CHECKING:
    from .options import AuditConfig


@dataclass(frozen=True)
class Recipe:
    """How one kind of an audit's models trains.

    Attributes
    ----------
    loss : str
        The training loss (:data:`formats.options.LOSSES`).
    epochs : int
    augment : bool
        Random crops and flips of images (never on a table).
    batch_sizes : tuple of int
        One per model: the in-sample model's, or each fold's (a fold's model trains on the
        other folds, and its batch is :data:`formats.defaults.BATCH_SHARE`-th of them).
    """

    loss: Loss
    epochs: int
    augment: bool
    batch_sizes: tuple[int, ...]


@dataclass(frozen=True)
class Plan:
    """Every effective value of one audit.

    Attributes
    ----------
    mode : str
        What the flags read (:data:`worker.engine.reading.READINGS`).
    epochs : int
        The audit's epochs: the in-sample model's, or crossval's fold models'.
    window : int
        The last epochs the flag rule reads (at most ``epochs``).
    folds : int
        Held-out folds; 0 where no model is held out (``dynamics``).
    in_sample : Recipe or None
        The model trained on every sample; None in ``crossval`` mode.
    held_out : Recipe or None
        The fold models, each trained on the other folds; None in ``dynamics`` mode.
    first_pruned_epoch : int
        Truncated Lq first prunes after this epoch, then every ``prune_every``.
    prune_every : int
    learning_rate, weight_decay, schedule_floor : float
        AdamW's, and the learning rate the cosine schedule ends at.
    k : float or None
        One threshold for every class; None: chosen per class from its estimated errors.
    image_side : int or None
        The side images are decoded at; None for a table.
    backbone : str
        The pretrained network whose features of the images are audited as a table
        (``none``: the models train on the pixels, or on a table's own columns).
    feature_side, feature_width : int or None
        The side the backbone reads images at and the width of its features.
    neighbours : int
        The nearest neighbours ``neighbours`` mode counts.
    """

    mode: Mode
    epochs: int
    window: int
    folds: int
    in_sample: Recipe | None
    held_out: Recipe | None
    first_pruned_epoch: int
    prune_every: int
    learning_rate: float
    weight_decay: float
    schedule_floor: float
    k: float | None
    image_side: int | None
    backbone: Backbone
    feature_side: int | None
    feature_width: int | None
    neighbours: int

    @property
    def views(self) -> int:
        """Recorded views: 2 (in-sample, then held out) in ``combined`` and ``checked``
        mode, else 1."""
        return int(self.in_sample is not None) + int(self.held_out is not None)

    @property
    def training_runs(self) -> float:
        """The compute, in training runs of ``epochs`` over every sample: each fold's model
        trains on all the other folds."""
        runs = 0.0 if self.in_sample is None else 1.0
        if self.held_out is not None:
            runs += (self.folds - 1) * self.held_out.epochs / self.epochs
        return runs

    def describe(self) -> str:
        """One line for people: what the audit trains and how it flags."""
        parts = [f"{self.mode} mode"]
        if self.in_sample is not None:
            parts.append(f"{_recipe_text(self.in_sample)} on every sample")
        if self.held_out is not None:
            parts.append(f"{self.folds} held-out folds: {_recipe_text(self.held_out)}")
        parts.append(
            f"window {self.window}, learning rate {self.learning_rate:g}, "
            f"k {'per class' if self.k is None else f'{self.k:g}'}"
        )
        if self.backbone != "none":
            parts.append(f"{self.backbone} features of images at {self.feature_side} px")
        elif self.image_side is not None:
            parts.append(f"images at {self.image_side} px")
        if self.mode == "neighbours":
            parts.append(f"{self.neighbours} nearest neighbours")
        return "; ".join(parts)


def _recipe_text(recipe: Recipe) -> str:
    batches = sorted(set(recipe.batch_sizes))
    batch = "/".join(str(size) for size in batches)
    augmented = ", augmented" if recipe.augment else ""
    return f"{recipe.loss}, {recipe.epochs} epochs, batch {batch}{augmented}"


def resolve_plan(
    config: AuditConfig, n_samples: int, *, is_image: bool, image_side: int | None = None
) -> Plan:
    """:meth:`AuditConfig.plan`: ``config`` with what it leaves unset chosen for the data."""
    backbone = (
        config.backbone if config.backbone is not None else default_backbone(is_image=is_image)
    )
    if backbone != "none" and not is_image:
        raise ConfigError(f"backbone {backbone} reads images; this dataset is a table")
    if config.mode == "neighbours" and is_image and backbone == "none":
        raise ConfigError("mode neighbours compares features: set a backbone for images")
    # With a backbone the models train on its features, a table, not on the pixels.
    pixels = is_image and backbone == "none"
    feature_side, feature_width = BACKBONE_SHAPES.get(backbone, (None, None))
    mode = (
        config.mode
        if config.mode is not None
        else default_mode(is_image=is_image, backbone=backbone)
    )
    batch = batch_size(config, n_samples)
    epochs = config.epochs if config.epochs is not None else default_epochs(n_samples, batch)
    if mode == "neighbours":
        # One reading of the neighbours, no training.
        epochs = 1
    window = min(config.window, epochs)
    augment = pixels and (
        config.augment if config.augment is not None else n_samples < AUGMENT_BELOW
    )
    folds = 0 if mode in ("dynamics", "neighbours") else config.folds or default_folds(mode)
    fold_batches = tuple(
        batch_size(config, n_samples - fold_size(n_samples, folds, fold)) for fold in range(folds)
    )
    held_out = None
    if mode == "crossval":
        held_out = Recipe(config.loss, epochs, augment, fold_batches)
    elif folds:
        epochs_held_out = held_out_epochs(mode, epochs, window)
        held_out = Recipe(HELD_OUT_LOSS, epochs_held_out, pixels, fold_batches)
    learning_rate = config.learning_rate if config.learning_rate is not None else LEARNING_RATE
    return Plan(
        mode=mode,
        epochs=epochs,
        window=window,
        folds=folds,
        in_sample=(
            None
            if mode in ("crossval", "neighbours")
            else Recipe(config.loss, epochs, augment, (batch,))
        ),
        held_out=held_out,
        first_pruned_epoch=(
            config.prune_start
            if config.prune_start is not None
            else default_first_pruned_epoch(epochs, is_image=pixels)
        ),
        prune_every=config.prune_every,
        learning_rate=learning_rate,
        weight_decay=WEIGHT_DECAY,
        schedule_floor=learning_rate / SCHEDULE_FLOOR_RATIO,
        k=config.k,
        image_side=image_side if is_image else None,
        backbone=backbone,
        feature_side=feature_side,
        feature_width=feature_width,
        neighbours=NEIGHBOURS,
    )
