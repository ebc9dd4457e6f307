"""One training run: a model, its optimiser and robust loss on a subset of the samples,
which trains an epoch at a time, predicts in eval mode, prunes and checkpoints."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from formats.options import AuditConfig
from formats.plan import Plan, Recipe

from .checkpoint import Checkpoint
from .losses import RobustLoss
from .models import MLP, SmallResNet, augment_images
from .tensors import TrainingTensors

EVAL_BATCH = 2048


class TrainingRun:
    """One model, optimiser and loss, training on a subset of the samples.

    Parameters
    ----------
    tensors : TrainingTensors
    plan : Plan
        The audit's optimiser settings.
    recipe : Recipe
        How this kind of model trains (loss, epochs, augmentation).
    loss_options : AuditConfig
        The loss's parameters (q, beta, ...) and the holdout fraction.
    train_index : ndarray, (m,) int
        The samples it trains on.
    batch_size : int
    seed : int
    """

    def __init__(
        self,
        tensors: TrainingTensors,
        plan: Plan,
        recipe: Recipe,
        loss_options: AuditConfig,
        train_index: np.ndarray,
        batch_size: int,
        *,
        seed: int,
    ) -> None:
        torch.manual_seed(seed)
        self.tensors = tensors
        self.device = tensors.device
        self.generator = torch.Generator().manual_seed(seed)
        self.model = build_model(tensors).to(self.device)
        self.loss = RobustLoss(loss_options, recipe.loss, tensors.n_samples, seed=seed)
        self.loss.to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=plan.learning_rate, weight_decay=plan.weight_decay
        )
        # Cosine decay: the last epochs, which flagging reads, are those of a settled model.
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, T_max=recipe.epochs, eta_min=plan.schedule_floor
        )
        self.batch_size = batch_size
        self.augment = recipe.augment
        holdout_size = int(round(loss_options.holdout_fraction * train_index.size))
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


def build_model(tensors: TrainingTensors) -> nn.Module:
    if tensors.is_image:
        channels, size = tensors.image_shape
        return SmallResNet(channels, tensors.n_classes, image_size=size)
    return MLP(tensors.n_features, tensors.n_classes)
