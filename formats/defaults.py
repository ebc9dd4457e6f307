"""How the options an audit leaves unset are chosen from its data, each rule with the
measurement behind it (``bench/results/detect-notes.md``). :func:`formats.plan.resolve_plan`
is the only caller: everything else reads the :class:`~formats.plan.Plan` it returns."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .options import AuditConfig, Backbone, Loss, Mode

# Epochs left to the data give the network about TARGET_STEPS optimiser steps, within
# EPOCH_BOUNDS: the default batch holds 1/40 of the samples, so a set of up to ~10,000
# trains 40 epochs (a small image set needs them to fit its hard clean samples, which would
# otherwise be flagged with the wrong ones) and one of 20,000 or more trains 20.
TARGET_STEPS = 1600
EPOCH_BOUNDS = (20, 40)
# A training batch is 1/BATCH_SHARE of the samples a model trains on, within BATCH_BOUNDS.
BATCH_SHARE = 40
BATCH_BOUNDS = (32, 256)
# Without augmentation a network memorises a small image set's wrong labels before
# truncated Lq prunes them; on a larger one augmentation keeps it from fitting the hard
# clean samples, which are then flagged with the wrong ones.
AUGMENT_BELOW = 1000
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 5e-4
# The cosine schedule ends at the learning rate over this: the last epochs, which flagging
# reads, are those of a settled model.
SCHEDULE_FLOOR_RATIO = 50
# Crossval mode's folds; combined and checked mode hold out halves, so their held-out models
# cost one training run.
CROSSVAL_FOLDS = 5
HELD_OUT_FOLDS = 2
# Combined and checked mode's held-out models train with plain cross-entropy and augment
# images, the usual recipe for held-out predictions: a robust loss would not fit the hard
# clean samples that the in-sample run misses either, so the two would err together.
HELD_OUT_LOSS: Loss = "ce"
# Left unset, `image_size` is the images' median side up to this limit for the device
# that trains. On NEU's 200 px photos, 128 px found more of the wrong labels than 64 px did
# (F1 +0.01 to +0.03 in combined mode) at four times the compute: seconds on a GPU, but on
# a CPU it turns a 5-minute audit into 20.
MAX_IMAGE_SIDE: dict[str, int] = {"cpu": 64, "cuda": 128}


# Each backbone's input side and feature width (worker.engine.backbones loads them).
BACKBONE_SHAPES: dict[str, tuple[int, int]] = {"efficientnet-lite0": (224, 1280)}
# Neighbours a sample's kNN class frequencies count (cleanlab Datalab's default k).
NEIGHBOURS = 10


def default_backbone(*, is_image: bool) -> Backbone:
    """Images are audited on the features of an ImageNet-pretrained EfficientNet-Lite0:
    on NEU, its features audited as a table found the wrong labels better (F1 0.96 to 0.98
    on seeds the table does not use) than a network trained from scratch on the pixels
    (0.94 to 0.95), and a network trained from scratch never learns a few hundred factory
    photos well enough to contradict their labels. A table has no images."""
    return "efficientnet-lite0" if is_image else "none"


def default_mode(*, is_image: bool, backbone: Backbone) -> Mode:
    """Images trained on their pixels are audited in ``combined`` mode: a CNN's in-sample
    dynamics miss clean samples it finds hard (an unusually lit photo), and models that
    never saw them often do not. A table's MLP is audited in ``checked`` mode: held-out MLPs
    trained on half the rows are weaker than the in-sample one, and averaging with them
    lowered F1 on every digits row, but when the features blur two classes (an embedding
    that confuses shirts with T-shirts) the in-sample MLP's estimate of the wrong labels
    overshoots and theirs does not. Images' pretrained features are audited in ``pooled``
    mode: on NEU subsets of 50 and 100 images per class the smaller of the two views' counts
    missed wrong labels (F1 0.83 and 0.95 at symmetric 10%), the count of the pooled views
    did not (0.89 and 0.96), at no cost on the full set (0.98 either way;
    ``bench/results/features-tuning.md``)."""
    if not is_image:
        return "checked"
    return "combined" if backbone == "none" else "pooled"


def default_folds(mode: Mode) -> int:
    return CROSSVAL_FOLDS if mode == "crossval" else HELD_OUT_FOLDS


def batch_size(config: AuditConfig, trained: int) -> int:
    """The batch of a model that trains on ``trained`` samples."""
    if config.batch_size is not None:
        return config.batch_size
    low, high = BATCH_BOUNDS
    return min(max(trained // BATCH_SHARE, low), high)


def default_epochs(n_samples: int, batch: int) -> int:
    """About :data:`TARGET_STEPS` steps of ``batch`` over ``n_samples``."""
    low, high = EPOCH_BOUNDS
    return min(max(math.ceil(TARGET_STEPS / math.ceil(n_samples / batch)), low), high)


def fold_size(n_samples: int, folds: int, fold: int) -> int:
    """The samples of ``fold``: :func:`worker.engine.train.stratified_folds` deals the
    samples out in turn, class after class, so the folds differ by one at most."""
    return n_samples // folds + int(fold < n_samples % folds)


def held_out_epochs(mode: Mode, epochs: int, window: int) -> int:
    """The epochs of ``combined`` and ``checked`` mode's held-out models. In ``checked``
    mode they only count the wrong labels, and on tables models trained for half the epochs
    counted as well as, or better than, full ones at a quarter less of the audit's
    compute."""
    return max(epochs // 2, window) if mode == "checked" else epochs


def default_first_pruned_epoch(epochs: int, *, is_image: bool) -> int:
    """The MLP on a table memorises wrong labels within a few epochs, so truncated Lq
    prunes after the second; a CNN on images is still learning its clean samples then
    (pruning would drop the hard ones for good) and memorises later, so it prunes after a
    third of training."""
    return max(1, epochs // 3) if is_image else 2
