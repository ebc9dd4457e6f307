"""Training runs that record each sample's predicted probabilities.

:func:`train_dynamics` trains once and records, after every epoch and in eval mode, every
sample's probability vector; :func:`crossval_probabilities` produces out-of-fold
probabilities over K stratified folds (what cleanlab expects).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

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
) -> TrainingHistory:
    """Train once on all samples, recording probabilities after every epoch.

    Parameters
    ----------
    tensors : TrainingTensors
        The dataset prepared for training (see :func:`prepare_tensors`).
    config : AuditConfig
    progress : callable, optional
        Called with a :class:`Progress` after every epoch.

    Returns
    -------
    TrainingHistory
        ``given_probability`` is ``(epochs, n)``, ``window_probabilities`` ``(W, n, c)``.
    """
    started = time.perf_counter()
    epochs = default_epochs(config, is_image=tensors.is_image)
    window = min(config.window, epochs)
    run = _Run(tensors, config, np.arange(tensors.n_samples), epochs=epochs, seed=config.seed)
    given = np.empty((epochs, tensors.n_samples), dtype=np.float32)
    recent: list[np.ndarray] = []
    prune_start = config.prune_start if config.prune_start is not None else max(1, epochs // 3)
    for epoch in range(1, epochs + 1):
        run.train_epoch()
        probabilities = run.predict(np.arange(tensors.n_samples))
        given[epoch - 1] = probabilities[np.arange(tensors.n_samples), tensors.labels_np]
        recent = [*recent[-(window - 1) :], probabilities] if window > 1 else [probabilities]
        if epoch >= prune_start and (epoch - prune_start) % config.prune_every == 0:
            run.prune(given[epoch - 1])
        _report(progress, _Span("training", 0.0, 1.0), epoch, epochs)
    return TrainingHistory(given, np.stack(recent), time.perf_counter() - started)


def crossval_probabilities(
    tensors: TrainingTensors,
    config: AuditConfig,
    *,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities over ``config.folds`` stratified folds.

    Returns
    -------
    ndarray, (n, c) float32
        Row i comes from the model that did not train on sample i.
    """
    epochs = default_epochs(config, is_image=tensors.is_image)
    folds = stratified_folds(tensors.labels_np, config.folds, seed=config.seed)
    out_of_fold = np.zeros((tensors.n_samples, tensors.n_classes), dtype=np.float32)
    for fold in range(config.folds):
        held_out = np.flatnonzero(folds == fold)
        run = _Run(
            tensors, config, np.flatnonzero(folds != fold), epochs=epochs, seed=config.seed + fold
        )
        span = _Span(f"fold {fold + 1}/{config.folds}", fold / config.folds, 1 / config.folds)
        for epoch in range(1, epochs + 1):
            run.train_epoch()
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


def _report(progress: ProgressCallback | None, span: _Span, epoch: int, epochs: int) -> None:
    if progress is not None:
        fraction = span.start + span.width * epoch / epochs
        progress(Progress(span.stage, epoch, epochs, fraction))


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

    def train_epoch(self) -> None:
        self.model.train()
        order = self.train_index[torch.randperm(self.train_index.numel(), generator=self.generator)]
        # Drop a trailing batch of one sample: batch norm cannot train on it.
        for start in range(0, order.numel(), self.batch_size):
            batch = order[start : start + self.batch_size]
            if batch.numel() < 2:
                continue
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
