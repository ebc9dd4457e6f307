"""``neighbours`` mode's view: each sample's class frequencies among its nearest
neighbours in feature space, itself left out (SimiFeat, Zhu et al. 2022; cleanlab Datalab's
label issues). Nothing is trained: a wrong label is one its look-alikes do not share.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .history import RecordedView

# Rows of cosine similarities held at once: about 256 MB of float32 whatever n is.
SIMILARITY_BUDGET = 64 * 1024 * 1024


def record_neighbours(
    features: torch.Tensor, labels: np.ndarray, n_classes: int, *, neighbours: int
) -> RecordedView:
    """Leave-one-out kNN class frequencies, by exact cosine search in blocks of rows.

    Parameters
    ----------
    features : Tensor, (n, d)
    labels : ndarray, (n,) int
    n_classes : int
    neighbours : int
        ``k``; fewer when the dataset has fewer other samples.

    Returns
    -------
    RecordedView
        A one-epoch window: the given label's frequency ``(1, n)`` and the frequencies
        ``(n, c)``.
    """
    started = time.perf_counter()
    n_samples = features.shape[0]
    k = min(neighbours, n_samples - 1)
    unit = torch.nn.functional.normalize(features.float(), dim=1)
    labels_t = torch.as_tensor(labels, dtype=torch.int64, device=unit.device)
    frequencies = np.empty((n_samples, n_classes), dtype=np.float32)
    block = max(1, SIMILARITY_BUDGET // max(n_samples, 1))
    for start in range(0, n_samples, block):
        rows = torch.arange(start, min(start + block, n_samples), device=unit.device)
        similarity = unit[rows] @ unit.T
        # Leave each sample itself out.
        similarity[torch.arange(rows.numel()), rows] = -float("inf")
        nearest = similarity.topk(k, dim=1).indices
        counts = torch.zeros(rows.numel(), n_classes, device=unit.device)
        counts.scatter_add_(1, labels_t[nearest], torch.ones_like(nearest, dtype=counts.dtype))
        frequencies[start : start + rows.numel()] = (counts / k).cpu().numpy()
    given = frequencies[np.arange(n_samples), np.asarray(labels, dtype=np.int64)][None, :]
    return RecordedView(given, frequencies, 1, time.perf_counter() - started)
