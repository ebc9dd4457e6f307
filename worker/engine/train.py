"""Training runs that record each sample's predicted probabilities.

:func:`record_training` records, after every epoch and in eval mode, the probability vectors
of the samples a model trains on (``dynamics``), of the fold it does not (``crossval``), or
the mean of the two (``combined``).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from formats.options import AuditConfig, Mode

from .checkpoint import Checkpoint
from .losses import RobustLoss
from .models import MLP, SmallResNet, augment_images
from .progress import Progress, ProgressCallback
from .tensors import TrainingTensors, resolve_device

EVAL_BATCH = 2048


@dataclass(frozen=True)
class RecordedView:
    """What the runs of one view recorded: in-sample, or held out from the models.

    Attributes
    ----------
    given_probability : ndarray, (epochs, n) float32
        Probability of each sample's given label after every epoch.
    window_probabilities : ndarray, (window, n, c) float32
        Full probability vectors of the last ``window`` epochs.
    seconds : float
        Time the view's runs took.
    """

    given_probability: np.ndarray
    window_probabilities: np.ndarray
    seconds: float


@dataclass(frozen=True)
class TrainingHistory:
    """What an audit's training runs recorded, per view and averaged over the views.

    ``views`` holds one view, or in ``combined`` mode two: the in-sample run's first, the
    held-out models' second. The audit reads the mean of the views.
    """

    views: tuple[RecordedView, ...]

    @cached_property
    def given_probability(self) -> np.ndarray:
        """``(epochs, n)``: the views' mean probability of each given label."""
        return _mean([view.given_probability for view in self.views])

    @cached_property
    def window_probabilities(self) -> np.ndarray:
        """``(window, n, c)``: the views' mean probability vectors over the window."""
        return _mean([view.window_probabilities for view in self.views])

    @property
    def seconds(self) -> float:
        return sum(view.seconds for view in self.views)


def _mean(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.asarray(np.mean(arrays, axis=0), np.float32)


@dataclass(frozen=True)
class _Span:
    """Which part of the whole audit's progress a training run covers."""

    stage: str
    start: float
    width: float


@dataclass(frozen=True)
class _Part:
    """One training run of an audit: whom it trains on and records, and how.

    ``view`` 0 holds in-sample records (or out-of-sample ones in ``crossval`` mode), 1 the
    held-out records of ``combined`` mode; the audit's history is the mean of the views.
    """

    trained: np.ndarray
    recorded: np.ndarray
    config: AuditConfig
    view: int
    stage: str


def first_pruned_epoch(config: AuditConfig, *, is_image: bool, epochs: int) -> int:
    """The epoch after which truncated Lq first prunes.

    The MLP on a table memorises wrong labels within a few epochs, so it prunes after the
    second; a CNN on images is still learning its clean samples then (pruning would drop
    the hard ones for good), and memorises later, so it prunes after a third of training.
    """
    if config.prune_start is not None:
        return config.prune_start
    return max(1, epochs // 3) if is_image else 2


def record_training(
    tensors: TrainingTensors,
    config: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
    checkpoint: Checkpoint | None = None,
) -> TrainingHistory:
    """Train, recording every sample's probabilities after every epoch.

    ``dynamics`` mode trains once on all samples and records them all (in-sample);
    ``crossval`` mode trains one model per stratified fold and records, after each of its
    epochs, the fold it does not train on (out-of-sample), so every sample gets a trajectory
    from a model that never saw its label; ``combined`` mode does both, the held-out models
    trained as :meth:`AuditConfig.held_out_config` says, and its history is their mean.

    Parameters
    ----------
    tensors : TrainingTensors
        The dataset prepared for training (see :func:`prepare_tensors`).
    config : AuditConfig
    progress : callable, optional
        Called with a :class:`Progress` after every epoch.
    checkpoint : Checkpoint, optional
        Resume from it when it holds a valid state, and save to it after every epoch.

    Returns
    -------
    TrainingHistory
        Per view and averaged: ``given_probability`` ``(epochs, n)``,
        ``window_probabilities`` ``(W, n, c)``.
    """
    epochs = config.epochs_for(tensors.n_samples)
    window = min(config.window, epochs)
    mode = config.mode_for(is_image=tensors.is_image)
    parts = _training_parts(tensors.labels_np, config, mode)
    spans = _spans(parts)
    first_pruned = first_pruned_epoch(config, is_image=tensors.is_image, epochs=epochs)
    views = 1 + max(part.view for part in parts)
    given = np.empty((views, epochs, tensors.n_samples), dtype=np.float32)
    recent = np.empty((views, window, tensors.n_samples, tensors.n_classes), dtype=np.float32)
    first_part, saved = 0, checkpoint.load(mode) if checkpoint is not None else None
    if saved is not None:
        first_part = int(saved["part"])
        given[:] = saved["given"].numpy()
        recent[:] = saved["recent"].numpy()
    seconds = np.zeros(views)
    for index in range(first_part, len(parts)):
        part, span = parts[index], spans[index]
        started = time.perf_counter()
        run = _Run(tensors, part.config, part.trained, epochs=epochs, seed=config.seed + index)
        done = 0
        if saved is not None and index == first_part:
            done = run.restore(saved["run"])
            _report(progress, span, done, epochs, resumed=True)
        for epoch in range(done + 1, epochs + 1):
            run.train_epoch(checkpoint)
            probabilities = run.predict(part.recorded)
            given[part.view, epoch - 1, part.recorded] = probabilities[
                np.arange(part.recorded.size), tensors.labels_np[part.recorded]
            ]
            if epoch > epochs - window:
                recent[part.view, epoch - (epochs - window) - 1, part.recorded] = probabilities
            if _prunes_after(part.config, epoch, first=first_pruned):
                in_sample = part.recorded is part.trained
                run.prune(given[part.view, epoch - 1] if in_sample else None)
            if checkpoint is not None:
                state = {
                    "part": index,
                    "given": torch.from_numpy(given),
                    "recent": torch.from_numpy(recent),
                }
                checkpoint.save(mode, {"run": run.state(epoch), **state})
            _report(progress, span, epoch, epochs)
        seconds[part.view] += time.perf_counter() - started
    return TrainingHistory(
        tuple(RecordedView(given[v], recent[v], float(seconds[v])) for v in range(views))
    )


def _prunes_after(config: AuditConfig, epoch: int, *, first: int) -> bool:
    since = epoch - first
    return since >= 0 and since % config.prune_every == 0


def _training_parts(labels: np.ndarray, config: AuditConfig, mode: Mode) -> list[_Part]:
    """The training runs of an audit in ``mode``, in order."""
    everyone = np.arange(labels.size)
    in_sample = _Part(everyone, everyone, config, 0, "training")
    if mode == "dynamics":
        return [in_sample]
    folds = config.fold_count(mode)
    assignment = stratified_folds(labels, folds, seed=config.seed)
    held_out = config if mode == "crossval" else config.held_out_config()
    view, prefix = (0, "fold") if mode == "crossval" else (1, "held-out fold")
    fold_parts = [
        _Part(
            np.flatnonzero(assignment != fold),
            np.flatnonzero(assignment == fold),
            held_out,
            view,
            f"{prefix} {fold + 1}/{folds}",
        )
        for fold in range(folds)
    ]
    return fold_parts if mode == "crossval" else [in_sample, *fold_parts]


def _spans(parts: list[_Part]) -> list[_Span]:
    """Each run's share of the audit's progress: its share of the samples trained on."""
    sizes = np.array([part.trained.size for part in parts], dtype=np.float64)
    starts = np.concatenate([[0.0], np.cumsum(sizes)[:-1]]) / sizes.sum()
    return [
        _Span(part.stage, float(start), float(size / sizes.sum()))
        for part, start, size in zip(parts, starts, sizes, strict=True)
    ]


def stratified_folds(labels: np.ndarray, n_folds: int, *, seed: int) -> np.ndarray:
    """Assign each sample of ``labels`` ``(n,)`` a fold in ``[0, n_folds)``, class-balanced."""
    rng = np.random.default_rng(seed)
    folds = np.empty(labels.shape[0], dtype=np.int64)
    offset = 0
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        folds[members] = (np.arange(members.size) + offset) % n_folds
        offset += members.size
    return folds


def _report(
    progress: ProgressCallback | None,
    span: _Span,
    epoch: int,
    epochs: int,
    *,
    resumed: bool = False,
) -> None:
    if progress is not None:
        fraction = span.start + span.width * epoch / epochs
        progress(
            Progress(span.stage, epoch, epochs, fraction, resumed_at=epoch if resumed else None)
        )


class _Run:
    """One model, optimiser and loss, training on a subset of the samples."""

    def __init__(
        self,
        tensors: TrainingTensors,
        config: AuditConfig,
        train_index: np.ndarray,
        *,
        epochs: int,
        seed: int,
    ) -> None:
        torch.manual_seed(seed)
        self.tensors = tensors
        self.config = config
        self.device = tensors.device
        self.generator = torch.Generator().manual_seed(seed)
        self.model = _build_model(tensors).to(self.device)
        self.loss = RobustLoss(config, tensors.n_samples, seed=seed).to(self.device)
        lr = config.learning_rate or 1e-3
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=5e-4)
        # Cosine decay: the last epochs, which flagging reads, are those of a settled model.
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, T_max=epochs, eta_min=lr / 50
        )
        self.batch_size = config.batch_size_for(train_index.size)
        self.augment = tensors.is_image and config.augments(tensors.n_samples)
        holdout_size = int(round(config.holdout_fraction * train_index.size))
        shuffled = np.random.default_rng(seed).permutation(train_index)
        self.holdout = np.sort(shuffled[:holdout_size])
        self.train_index = torch.as_tensor(np.sort(shuffled[holdout_size:]))
        self.best_accuracy = -1.0
        self.best_state: dict[str, Tensor] | None = None

    def train_epoch(self, checkpoint: Checkpoint | None = None) -> None:
        """One pass over the training samples; ``checkpoint`` may interrupt it between batches."""
        self.model.train()
        order = self.train_index[torch.randperm(self.train_index.numel(), generator=self.generator)]
        # Drop a trailing batch of one sample: batch norm cannot train on it.
        for start in range(0, order.numel(), self.batch_size):
            batch = order[start : start + self.batch_size]
            if batch.numel() < 2:
                continue
            if checkpoint is not None:
                checkpoint.check_stop()
            inputs, labels = self.tensors.batch(batch)
            if self.augment:
                inputs = augment_images(inputs, self.generator)
            with self.tensors.autocast():
                logits = self.model(inputs)
            loss = self.loss(logits.float(), labels, batch.to(self.device))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        self.schedule.step()
        self._remember_if_best()

    def state(self, epoch: int) -> dict[str, Any]:
        """Everything the next epoch depends on, after ``epoch`` epochs."""
        return {
            "epoch": epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "loss": self.loss.state_dict(),
            "loss_generator": self.loss.generator.get_state(),
            "generator": self.generator.get_state(),
            # Dropout draws from the global generator of the device.
            "global_generator": torch.get_rng_state(),
            "cuda_generator": (
                torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
            ),
            "best_accuracy": self.best_accuracy,
            "best_state": self.best_state,
        }

    def restore(self, state: dict[str, Any]) -> int:
        """Load what :meth:`state` saved; returns the number of epochs it had done."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        self.loss.load_state_dict(state["loss"])
        self.loss.generator.set_state(state["loss_generator"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["global_generator"])
        if self.device.type == "cuda" and state["cuda_generator"] is not None:
            torch.cuda.set_rng_state(state["cuda_generator"], self.device)
        self.best_accuracy = float(state["best_accuracy"])
        best = state["best_state"]
        self.best_state = None if best is None else {k: v.to(self.device) for k, v in best.items()}
        return int(state["epoch"])

    @torch.inference_mode()
    def predict(self, index: np.ndarray, model: nn.Module | None = None) -> np.ndarray:
        """Probabilities ``(len(index), c)`` in eval mode, without augmentation."""
        net = model or self.model
        net.eval()
        out = np.empty((index.size, self.tensors.n_classes), dtype=np.float32)
        for start in range(0, index.size, EVAL_BATCH):
            batch = torch.as_tensor(index[start : start + EVAL_BATCH])
            inputs, _ = self.tensors.batch(batch)
            with self.tensors.autocast():
                logits = net(inputs)
            out[start : start + batch.numel()] = torch.softmax(logits.float(), 1).cpu().numpy()
        return out

    def prune(self, given_probability: np.ndarray | None) -> None:
        """Truncated Lq's pruning step over the training samples.

        ``given_probability`` ``(n,)`` is this model's, when the caller already has it; the
        best model on the holdout, when there is one, predicts its own.
        """
        if self.loss.truncated is None:
            return
        trained = self.train_index.numpy()
        if given_probability is None or self.best_state is not None:
            model = None
            if self.best_state is not None:
                model = copy.deepcopy(self.model)
                model.load_state_dict(self.best_state)
            probabilities = self.predict(trained, model)
            values = probabilities[np.arange(trained.size), self.tensors.labels_np[trained]]
        else:
            values = given_probability[trained]
        self.loss.truncated.prune(torch.as_tensor(values), torch.as_tensor(trained))

    def _remember_if_best(self) -> None:
        if self.holdout.size == 0 or self.loss.truncated is None:
            return
        predicted = self.predict(self.holdout).argmax(axis=1)
        accuracy = float((predicted == self.tensors.labels_np[self.holdout]).mean())
        if accuracy > self.best_accuracy:
            self.best_accuracy = accuracy
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}


def _build_model(tensors: TrainingTensors) -> nn.Module:
    if tensors.is_image:
        channels, size = tensors.image_shape
        return SmallResNet(channels, tensors.n_classes, image_size=size)
    return MLP(tensors.n_features, tensors.n_classes)


__all__ = [
    "RecordedView",
    "TrainingHistory",
    "record_training",
    "resolve_device",
    "stratified_folds",
]
