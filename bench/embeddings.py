"""Fashion-MNIST as a table of embeddings, the way teams upload the features of a backbone
trained elsewhere (an ``.npz`` of vectors): a small ResNet trained once, with cross-entropy
and augmentation, on the clean Fashion-MNIST *test* set, which no row audits, embeds the
train images as 128-d vectors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from bench import datasets
from formats import Dataset
from worker.engine import AuditConfig
from worker.engine.models import SmallResNet
from worker.engine.run import TrainingRun
from worker.engine.tensors import TrainingTensors, prepare_tensors

BACKBONE_EPOCHS = 15
BATCH = 2048


def fashion_embeddings(limit: int | None, *, seed: int, cache_dir: Path) -> Dataset:
    """The train set (or a random subset of ``limit``, as :func:`datasets.fashion_mnist`)
    as ``(n, 128)`` float32 embeddings, ``kind="table"``."""
    images = datasets.fashion_mnist(limit, seed=seed)
    backbone, reference = _backbone(cache_dir)
    tensors = prepare_tensors(
        images.features, images.labels, images.n_classes, device=torch.device("cpu")
    )
    # The backbone's own input normalisation, as a pretrained network's preprocessing.
    tensors = dataclasses.replace(tensors, mean=reference.mean, std=reference.std)
    features = np.empty((images.n_samples, backbone.head.in_features), dtype=np.float32)
    backbone.eval()
    with torch.inference_mode():
        for start in range(0, images.n_samples, BATCH):
            index = torch.arange(start, min(start + BATCH, images.n_samples))
            inputs, _ = tensors.batch(index)
            features[start : start + index.numel()] = backbone.embed(inputs).numpy()
    return dataclasses.replace(images, features=features, kind="table")


def _backbone(cache_dir: Path) -> tuple[SmallResNet, TrainingTensors]:
    """The trained backbone (cached in ``cache_dir``) and the test set's tensors."""
    test = datasets.fashion_mnist(None, seed=0, split="t10k")
    tensors = prepare_tensors(
        test.features, test.labels, test.n_classes, device=torch.device("cpu")
    )
    config = AuditConfig(loss="ce", augment=True, epochs=BACKBONE_EPOCHS, seed=0, mode="dynamics")
    plan = config.plan(test.n_samples, is_image=True, image_side=tensors.image_shape[1])
    assert plan.in_sample is not None  # dynamics mode trains on every sample
    recipe = plan.in_sample
    everyone = np.arange(test.n_samples)
    run = TrainingRun(tensors, plan, recipe, config, everyone, recipe.batch_sizes[0], seed=0)
    path = cache_dir / f"fashion-backbone-{BACKBONE_EPOCHS}.pt"
    if path.exists():
        run.model.load_state_dict(torch.load(path, weights_only=True))
    else:
        for _ in range(BACKBONE_EPOCHS):
            run.train_epoch()
        cache_dir.mkdir(parents=True, exist_ok=True)
        torch.save(run.model.state_dict(), path)
    assert isinstance(run.model, SmallResNet)
    return run.model, tensors
