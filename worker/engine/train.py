"""Training runs that record each sample's predicted probabilities.

:func:`train_dynamics` trains once and records, after every epoch and in eval mode, every
sample's probability vector; :func:`crossval_probabilities` produces out-of-fold
probabilities over K stratified folds (what cleanlab expects).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .checkpoint import Checkpoint
from .config import AuditConfig
from .losses import RobustLoss
from .models import MLP, SmallResNet, augment_images
from .progress import Progress, ProgressCallback
from .tensors import TrainingTensors, resolve_device

EVAL_BATCH = 2048


@dataclass(frozen=True)
class TrainingHistory:
    """What one training run recorded.

    Attributes
    ----------
    given_probability : ndarray, (epochs, n) float32
        Probability of each sample's given label after every epoch.
    window_probabilities : ndarray, (window, n, c) float32
        Full probability vectors of the last ``window`` epochs.
    seconds : float
    """

    given_probability: np.ndarray
    window_probabilities: np.ndarray
    seconds: float


@dataclass(frozen=True)
class _Span:
    """Which part of the whole audit's progress a training run covers."""

    stage: str
    start: float
    width: float


def default_epochs(config: AuditConfig, *, is_image: bool) -> int:
    if config.epochs is not None:
        return config.epochs
    return 20 if is_image else 40


def train_dynamics(
    tensors: TrainingTensors,
    config: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
    checkpoint: Checkpoint | None = None,
) -> TrainingHistory:
    """Train once on all samples, recording probabilities after every epoch.

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
        ``given_probability`` is ``(epochs, n)``, ``window_probabilities`` ``(W, n, c)``.
    """
    started = time.perf_counter()
    epochs = default_epochs(config, is_image=tensors.is_image)
    window = min(config.window, epochs)
    everyone = np.arange(tensors.n_samples)
    run = _Run(tensors, config, everyone, epochs=epochs, seed=config.seed)
    given = np.empty((epochs, tensors.n_samples), dtype=np.float32)
    recent: list[np.ndarray] = []
    done = 0
    saved = checkpoint.load("dynamics") if checkpoint is not None else None
    if saved is not None:
        done = run.restore(saved["run"])
        given[:done] = saved["given"].numpy()
        recent = list(saved["recent"].numpy())
        _report(progress, _Span("training", 0.0, 1.0), done, epochs, resumed=True)
    prune_start = config.prune_start if config.prune_start is not None else max(1, epochs // 3)
    for epoch in range(done + 1, epochs + 1):
        run.train_epoch(checkpoint)
        probabilities = run.predict(everyone)
        given[epoch - 1] = probabilities[everyone, tensors.labels_np]
        recent = [*recent[-(window - 1) :], probabilities] if window > 1 else [probabilities]
        if epoch >= prune_start and (epoch - prune_start) % config.prune_every == 0:
            run.prune(given[epoch - 1])
        if checkpoint is not None:
            state = {
                "given": torch.from_numpy(given[:epoch]),
                "recent": torch.from_numpy(np.stack(recent)),
            }
            checkpoint.save("dynamics", {"run": run.state(epoch), **state})
        _report(progress, _Span("training", 0.0, 1.0), epoch, epochs)
    return TrainingHistory(given, np.stack(recent), time.perf_counter() - started)


def crossval_probabilities(
    tensors: TrainingTensors,
    config: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
    checkpoint: Checkpoint | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities over ``config.folds`` stratified folds.

    ``checkpoint`` works as in :func:`train_dynamics`, saving the fold in progress.

    Returns
    -------
    ndarray, (n, c) float32
        Row i comes from the model that did not train on sample i.
    """
    epochs = default_epochs(config, is_image=tensors.is_image)
    folds = stratified_folds(tensors.labels_np, config.folds, seed=config.seed)
    out_of_fold = np.zeros((tensors.n_samples, tensors.n_classes), dtype=np.float32)
    first_fold, saved = 0, checkpoint.load("crossval") if checkpoint is not None else None
    if saved is not None:
        first_fold = int(saved["fold"])
        out_of_fold[:] = saved["out_of_fold"].numpy()
    for fold in range(first_fold, config.folds):
        held_out = np.flatnonzero(folds == fold)
        run = _Run(
            tensors, config, np.flatnonzero(folds != fold), epochs=epochs, seed=config.seed + fold
        )
        span = _Span(f"fold {fold + 1}/{config.folds}", fold / config.folds, 1 / config.folds)
        done = 0
        if saved is not None and fold == first_fold:
            done = run.restore(saved["run"])
            _report(progress, span, done, epochs, resumed=True)
        for epoch in range(done + 1, epochs + 1):
            run.train_epoch(checkpoint)
            if checkpoint is not None:
                state = {"fold": fold, "out_of_fold": torch.from_numpy(out_of_fold)}
                checkpoint.save("crossval", {"run": run.state(epoch), **state})
            _report(progress, span, epoch, epochs)
        out_of_fold[held_out] = run.predict(held_out)
    return out_of_fold


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
        self.batch_size = config.batch_size or int(np.clip(train_index.size // 40, 32, 256))
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
            if self.tensors.is_image and self.config.augment:
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

    def prune(self, given_probability: np.ndarray) -> None:
        """Truncated Lq's pruning step, with the best model on the holdout when there is one."""
        if self.loss.truncated is None:
            return
        if self.best_state is not None:
            best = copy.deepcopy(self.model)
            best.load_state_dict(self.best_state)
            everyone = np.arange(self.tensors.n_samples)
            probabilities = self.predict(everyone, best)
            given_probability = probabilities[everyone, self.tensors.labels_np]
        self.loss.truncated.prune(torch.as_tensor(given_probability))

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
    "TrainingHistory",
    "crossval_probabilities",
    "default_epochs",
    "resolve_device",
    "stratified_folds",
    "train_dynamics",
]
