"""Image features of a pretrained backbone, computed once per audit from the original
pixels and cached beside the decoded images.

The cache is a float32 memmap with a row per image of the upload (so an audit with
samples excluded reuses it) and a sidecar of the rows already computed: an audit stopped
while it computes them resumes where it stopped, and a 1,000,000-image set never holds its
features in RAM.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import numpy as np
import torch

from formats import Dataset
from formats.decoding import resize_images
from formats.defaults import BACKBONE_SHAPES
from formats.stages import FEATURES

from .backbones import embed, load_backbone
from .checkpoint import Checkpoint
from .progress import Progress, ProgressCallback

BATCH = 64
# The share of an audit's progress bar its features take: on a CPU they cost several times
# the training of the small networks that read them.
PROGRESS_SHARE = 0.8
# Save the computed rows' sidecar at most this often: each save writes one byte per image.
SAVE_EVERY_S = 10.0


def image_features(
    dataset: Dataset,
    backbone: str,
    *,
    device: torch.device,
    progress: ProgressCallback | None = None,
    checkpoint: Checkpoint | None = None,
) -> np.ndarray:
    """``(n, width)`` float32 features of ``dataset``'s images.

    Images read from files are decoded again from their originals at the backbone's side
    (RGB; grayscale replicated), and the features are cached when the dataset has a cache
    folder; arrays of pixels are resized.

    Parameters
    ----------
    dataset : Dataset
        ``n`` images.
    backbone : str
        One of :data:`formats.defaults.BACKBONE_SHAPES`.
    device : torch.device
    progress : callable, optional
        Receives a :data:`formats.stages.FEATURES` report after every batch: the images
        done of those to compute.
    checkpoint : Checkpoint, optional
        Asked between batches whether to stop (:class:`TrainingInterrupted`).
    """
    side, width = BACKBONE_SHAPES[backbone]
    network = load_backbone(backbone, device)
    source = dataset.originals
    everyone = np.arange(dataset.n_samples)
    if source is None:
        out = np.empty((dataset.n_samples, width), np.float32)
        resized = _resized(dataset.features, side)
        return _fill(out, everyone, resized, network, device, progress, checkpoint)
    rows = source.rows(dataset.image_paths)
    if source.cache_dir is None:
        out = np.empty((dataset.n_samples, width), np.float32)
        decoded = source.batches(rows, side, BATCH)
        return _fill(out, everyone, decoded, network, device, progress, checkpoint)
    key = source.cache_key(f"{backbone} features")
    cache = _Cache(source.cache_dir / f"{key}.f32", len(source.index.paths), width)
    missing = rows[~cache.done[rows]]
    decoded = source.batches(missing, side, BATCH)
    _fill(cache.features, missing, decoded, network, device, progress, checkpoint, cache)
    return np.asarray(cache.features[rows])


def _resized(images: np.ndarray, side: int) -> Iterator[np.ndarray]:
    """``(b, side, side, 3)`` uint8 batches of an array of pixels; gray replicated."""
    for start in range(0, images.shape[0], BATCH):
        chunk = resize_images(np.asarray(images[start : start + BATCH]), side)
        yield np.repeat(chunk, 3, axis=3) if chunk.shape[3] == 1 else chunk


class _Cache:
    """The features memmap of every image of an upload, and which rows are computed."""

    def __init__(self, path: Path, rows: int, width: int) -> None:
        self.done_path = path.with_suffix(".done.npy")
        reuse = path.exists() and path.stat().st_size == rows * width * 4
        self.features = np.memmap(
            path, dtype=np.float32, mode="r+" if reuse else "w+", shape=(rows, width)
        )
        self.done = np.zeros(rows, dtype=bool)
        if reuse:
            with suppress(OSError, ValueError):
                saved = np.load(self.done_path)
                if saved.shape == (rows,):
                    self.done = saved.astype(bool)
        self.saved_at = time.monotonic()

    def save(self, *, force: bool = False) -> None:
        if not force and time.monotonic() - self.saved_at < SAVE_EVERY_S:
            return
        # The features reach the disk before the sidecar that says they are there.
        self.features.flush()
        partial = self.done_path.with_suffix(".partial.npy")
        np.save(partial, self.done)
        os.replace(partial, self.done_path)
        self.saved_at = time.monotonic()


def _fill(
    out: np.ndarray,
    rows: np.ndarray,
    batches: Iterator[np.ndarray],
    network: torch.nn.Module,
    device: torch.device,
    progress: ProgressCallback | None,
    checkpoint: Checkpoint | None,
    cache: _Cache | None = None,
) -> np.ndarray:
    """``out[rows] = features`` of ``batches`` (the images of ``rows``, in order)."""
    start = 0
    try:
        for images in batches:
            if checkpoint is not None:
                checkpoint.check_stop()
            chunk = rows[start : start + len(images)]
            out[chunk] = embed(network, images, device)
            start += len(images)
            if cache is not None:
                cache.done[chunk] = True
                cache.save()
            if progress is not None:
                fraction = PROGRESS_SHARE * start / max(rows.size, 1)
                progress(Progress(FEATURES, start, rows.size, fraction))
    finally:
        if cache is not None:
            cache.save(force=True)
    return out
