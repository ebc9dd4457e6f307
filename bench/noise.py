"""Label noise with a recorded seed, so the wrong labels are known when scoring."""

from __future__ import annotations

import numpy as np

# The truncated-Lq paper's class-dependent flips on Fashion-MNIST.
FASHION_PAIRS = {0: 6, 2: 4, 5: 7}  # T-shirt->Shirt, Pullover->Coat, Sandal->Sneaker


def symmetric_noise(labels: np.ndarray, n_classes: int, rate: float, *, seed: int) -> np.ndarray:
    """Flip a ``rate`` share of ``labels`` ``(n,)`` to a uniformly drawn other class."""
    rng = np.random.default_rng(seed)
    noisy = labels.copy()
    flip = rng.random(labels.size) < rate
    noisy[flip] = (labels[flip] + rng.integers(1, n_classes, flip.sum())) % n_classes
    return noisy


def class_dependent_noise(
    labels: np.ndarray, mapping: dict[int, int], rate: float, *, seed: int
) -> np.ndarray:
    """Flip each label of a class in ``mapping`` to its mapped class with probability ``rate``."""
    rng = np.random.default_rng(seed)
    noisy = labels.copy()
    flip = rng.random(labels.size) < rate
    for source, target in mapping.items():
        noisy[flip & (labels == source)] = target
    return noisy


def permutation_pairs(n_classes: int, *, seed: int) -> dict[int, int]:
    """A fixed random derangement of the classes: each class flips to another one."""
    rng = np.random.default_rng(seed)
    while True:
        order = rng.permutation(n_classes)
        if (order != np.arange(n_classes)).all():
            return {int(c): int(order[c]) for c in range(n_classes)}
