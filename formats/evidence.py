"""The evidence behind a flag, packed small enough to keep for every sample.

A million samples trained for 50 epochs leave 50 million given-label probabilities; as
float32 that is 200 MB, as one byte each (a resolution of 1/255, far finer than a reviewer
reads off a curve) 50 MB. The worker packs with these functions, the service unpacks, so
both read the same layout:

- history: one unsigned byte per epoch, ``round(255 * probability)``.
- top classes: per class, a little-endian uint16 class index and a byte of probability
  (3 bytes each; 9 for the top three).
"""

from __future__ import annotations

import struct
from typing import Literal, get_args

import numpy as np

# Which predictions decided a sample (its flag, and the evidence shown for it): the average
# of the model trained on every sample and the models that never saw it (``combined``
# mode), the trained model alone (``dynamics``, ``checked``), the models that never saw
# it (``crossval``, and a ``combined`` audit's classes whose flips the trained model learned
# as the truth), or its nearest neighbours' labels (``neighbours``).
DecidingView = Literal["average", "in-sample", "held-out", "neighbours"]
DECIDING_VIEWS: tuple[DecidingView, ...] = get_args(DecidingView)

QUANTA = 255
TOP_CLASS_LAYOUT = struct.Struct("<HB")
TOP_CLASS_DTYPE = np.dtype([("index", "<u2"), ("probability", "u1")])
MAX_CLASSES = int(np.iinfo(np.uint16).max) + 1


def quantise(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] (any shape) as bytes: ``round(255 * p)``, clipped."""
    values = np.clip(np.asarray(probabilities, dtype=np.float32), 0.0, 1.0)
    return np.rint(values * QUANTA).astype(np.uint8)


def history_blobs(given_history: np.ndarray) -> list[bytes]:
    """One blob per sample of its given-label probability after each epoch.

    Parameters
    ----------
    given_history : ndarray, (epochs, n)

    Returns
    -------
    list of bytes
        ``n`` blobs of ``epochs`` bytes each.
    """
    if given_history.ndim != 2:
        raise ValueError(f"given_history must be (epochs, n); got shape {given_history.shape}")
    per_sample = np.ascontiguousarray(quantise(given_history).T)
    return [row.tobytes() for row in per_sample]


# Each byte's probability, rounded to 4 decimals: a lookup is faster than dividing per value,
# and a page of suspects decodes thousands.
_PROBABILITY_OF_BYTE = tuple(round(value / QUANTA, 4) for value in range(QUANTA + 1))


def decode_history(blob: bytes) -> list[float]:
    """The probabilities of a history blob, one per epoch (rounded to 4 decimals)."""
    return [_PROBABILITY_OF_BYTE[value] for value in blob]


def top_class_blobs(indices: np.ndarray, probabilities: np.ndarray) -> list[bytes]:
    """One blob per sample of its most probable classes.

    Parameters
    ----------
    indices : ndarray, (n, t) int
        Class indices, most probable first; each below :data:`MAX_CLASSES`.
    probabilities : ndarray, (n, t)
        Their probabilities.

    Returns
    -------
    list of bytes
        ``n`` blobs of ``3 t`` bytes each.
    """
    if indices.shape != probabilities.shape or indices.ndim != 2:
        raise ValueError(
            f"indices and probabilities must both be (n, t); got {indices.shape} and "
            f"{probabilities.shape}"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= MAX_CLASSES):
        raise ValueError(f"class indices must be in [0, {MAX_CLASSES}) to be packed")
    packed = np.empty(indices.shape, dtype=TOP_CLASS_DTYPE)
    packed["index"] = indices
    packed["probability"] = quantise(probabilities)
    return [row.tobytes() for row in packed]


def decode_top_classes(blob: bytes) -> list[tuple[int, float]]:
    """``(class index, probability)`` pairs of a top-classes blob, most probable first."""
    return [
        (index, _PROBABILITY_OF_BYTE[value]) for index, value in TOP_CLASS_LAYOUT.iter_unpack(blob)
    ]
