"""A dataset's arrays prepared for training on a device."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from formats.defaults import MAX_IMAGE_SIDE
from formats.options import ConfigError

# Keep the whole dataset on the GPU when it takes less than this share of free memory.
GPU_RESIDENT_SHARE = 0.3


def resolve_device(requested: str) -> torch.device:
    """``auto`` picks CUDA when present; ``cuda`` without a GPU is a :class:`ConfigError`."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but no CUDA GPU is available")
    if requested in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def max_image_side(requested: str) -> int:
    """The largest side images are resized to, unless set, for the device that will train
    (:data:`formats.defaults.MAX_IMAGE_SIDE`)."""
    return MAX_IMAGE_SIDE[resolve_device(requested).type]


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'' if threads == 1 else 's'})"


@dataclass
class TrainingTensors:
    """Features and labels as tensors, with the per-batch conversion the model needs.

    ``data`` holds images as uint8 ``(n, H, W, C)`` (converted to float per batch, so a
    large set costs a quarter of its float size) or standardised features ``(n, d)``.
    """

    data: Tensor
    labels: Tensor
    labels_np: np.ndarray
    n_classes: int
    device: torch.device
    is_image: bool
    mean: Tensor
    std: Tensor

    @property
    def n_samples(self) -> int:
        return int(self.labels_np.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.data.shape[1])

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(channels, size)`` of the images."""
        return int(self.data.shape[3]), int(self.data.shape[1])

    def batch(self, index: Tensor) -> tuple[Tensor, Tensor]:
        """Model inputs and labels for the samples at ``index`` ``(b,)``, on the device."""
        rows = self.data[index.to(self.data.device)].to(self.device, non_blocking=True)
        labels = self.labels[index.to(self.labels.device)]
        if not self.is_image:
            return rows, labels
        images = rows.permute(0, 3, 1, 2).float().div_(255.0)
        return (images - self.mean) / self.std, labels

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()


def prepare_tensors(
    features: np.ndarray, labels: np.ndarray, n_classes: int, *, device: torch.device
) -> TrainingTensors:
    """Move a dataset's arrays into tensors for training.

    Parameters
    ----------
    features : ndarray
        ``(n, d)`` float features or ``(n, H, W, C)`` uint8 images.
    labels : ndarray, (n,) int
    n_classes : int
    device : torch.device
    """
    is_image = features.ndim == 4
    labels_np = np.asarray(labels, dtype=np.int64)
    if is_image:
        with warnings.catch_warnings():
            # The image cache is a read-only memory map, shared rather than copied; training
            # only ever reads it, so torch's warning about writes does not apply.
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            data = torch.from_numpy(np.ascontiguousarray(features, dtype=np.uint8))
        mean, std = _channel_statistics(features)
    else:
        table = np.asarray(features, dtype=np.float32)
        column_mean = table.mean(axis=0, dtype=np.float64)
        column_std = table.std(axis=0, dtype=np.float64)
        column_std[column_std < 1e-8] = 1.0
        data = torch.from_numpy(((table - column_mean) / column_std).astype(np.float32))
        mean, std = np.zeros(1, np.float32), np.ones(1, np.float32)
    label_tensor = torch.from_numpy(labels_np)
    if device.type == "cuda" and _fits_on_gpu(data, device):
        data, label_tensor = data.to(device), label_tensor.to(device)
    elif device.type == "cuda":
        data, label_tensor = data.pin_memory(), label_tensor.to(device)
    shape = (1, -1, 1, 1)
    return TrainingTensors(
        data=data,
        labels=label_tensor,
        labels_np=labels_np,
        n_classes=n_classes,
        device=device,
        is_image=is_image,
        mean=torch.as_tensor(mean, dtype=torch.float32).reshape(shape).to(device),
        std=torch.as_tensor(std, dtype=torch.float32).reshape(shape).to(device),
    )


def _channel_statistics(images: np.ndarray, *, sample: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    # A fixed stride sample is enough for normalisation and keeps a memmap from being read whole.
    step = max(1, images.shape[0] // sample)
    subset = np.asarray(images[::step], dtype=np.float32) / 255.0
    mean = subset.mean(axis=(0, 1, 2))
    std = np.maximum(subset.std(axis=(0, 1, 2)), 1e-3)
    return mean.astype(np.float32), std.astype(np.float32)


def _fits_on_gpu(data: Tensor, device: torch.device) -> bool:
    free, _ = torch.cuda.mem_get_info(device)
    return data.element_size() * data.nelement() < GPU_RESIDENT_SHARE * free
