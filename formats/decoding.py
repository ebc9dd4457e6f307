"""Decoding an image dataset's index into a ``(n, S, S, C)`` uint8 array, optionally through
a memmap cache that a later load of the same unchanged files reuses without decoding."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image

from .images import ImageIndex, default_side, displayable, inspect, open_image, opener
from .limits import Limits

_CACHE_VERSION = 2


def decode_images(
    index: ImageIndex,
    *,
    image_size: int | None,
    max_side: int,
    cache_dir: Path | None,
    limits: Limits,
) -> np.ndarray:
    """Decode every image of ``index`` into a ``(n, S, S, C)`` uint8 array.

    ``S`` is ``image_size``, or when None :func:`default_side` with ``max_side``; ``C`` is 1
    when every image is grayscale and 3 when every image is colour. With ``cache_dir`` the
    result is a read-only memmap of ``cache_dir/<key>.u8``, reused by later calls for the
    same files and size.
    """
    if cache_dir is None:
        size, gray = _size_and_mode(index, image_size, max_side, limits)
        images = np.empty((len(index.paths), size, size, 1 if gray else 3), np.uint8)
        _decode_into(images, index, gray, limits)
        return images
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _cache_key(index, image_size or f"up to {max_side}")
    data_path = cache_dir / f"{key}.u8"
    meta_path = cache_dir / f"{key}.json"
    cached = _read_cache(index, data_path, meta_path)
    if cached is not None:
        return cached
    size, gray = _size_and_mode(index, image_size, max_side, limits)
    shape = (len(index.paths), size, size, 1 if gray else 3)
    handle, data_tmp = tempfile.mkstemp(dir=cache_dir, prefix=f"{key}.", suffix=".tmp")
    os.close(handle)
    meta_tmp = f"{data_tmp}.json"
    try:
        # Decoding into the file, not RAM, keeps a large set's footprint at one image.
        images = np.memmap(data_tmp, dtype=np.uint8, mode="w+", shape=shape)
        _decode_into(images, index, gray, limits)
        images.flush()
        del images
        meta = {"shape": shape, "paths": index.paths, "labels": index.labels}
        Path(meta_tmp).write_text(json.dumps(meta))
        # The sidecar goes last: a data file without its sidecar is never trusted.
        os.replace(data_tmp, data_path)
        os.replace(meta_tmp, meta_path)
    finally:
        for leftover in (data_tmp, meta_tmp):
            with suppress(FileNotFoundError):
                os.remove(leftover)
    return np.memmap(data_path, dtype=np.uint8, mode="r", shape=shape)


def _size_and_mode(
    index: ImageIndex, image_size: int | None, max_side: int, limits: Limits
) -> tuple[int, bool]:
    median_side, gray = inspect(index, limits=limits)
    return image_size or default_side(median_side, max_side=max_side), gray


def _cache_key(index: ImageIndex, image_size: int | str) -> str:
    parts = [_CACHE_VERSION, str(index.source.resolve()), index.fingerprint, image_size]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _read_cache(index: ImageIndex, data_path: Path, meta_path: Path) -> np.memmap | None:
    try:
        meta = json.loads(meta_path.read_text())
        shape = tuple(int(s) for s in meta["shape"])
        valid = (
            len(shape) == 4
            and tuple(meta["paths"]) == index.paths
            and tuple(meta["labels"]) == index.labels
            and data_path.stat().st_size == int(np.prod(shape))
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return np.memmap(data_path, dtype=np.uint8, mode="r", shape=shape) if valid else None


@dataclass(frozen=True)
class ImageSource:
    """Where an image dataset's original pixels are, for what reads them at another size
    than the decoded training copy (a pretrained backbone).

    Attributes
    ----------
    index : ImageIndex
    limits : Limits
    cache_dir : Path or None
        Where the dataset's decoded images are cached; what is computed from the originals
        is cached beside them.
    """

    index: ImageIndex
    limits: Limits
    cache_dir: Path | None

    def rows(self, paths: tuple[str, ...]) -> np.ndarray:
        """``(m,)`` int64: the index rows of the member ``paths``."""
        position = {path: row for row, path in enumerate(self.index.paths)}
        return np.array([position[path] for path in paths], dtype=np.int64)

    def cache_key(self, what: str) -> str:
        """A cache file name for ``what`` is computed from these exact files."""
        return _cache_key(self.index, what)

    def batches(self, rows: np.ndarray, side: int, batch: int) -> Iterator[np.ndarray]:
        """``(b, side, side, 3)`` uint8 RGB of the images at ``rows``, in order, ``batch``
        at a time; grayscale images are replicated to three channels."""
        with opener(self.index.source, self.index.is_zip) as open_member:
            for start in range(0, rows.size, batch):
                chunk = rows[start : start + batch]
                out = np.empty((chunk.size, side, side, 3), np.uint8)
                for i, row in enumerate(chunk.tolist()):
                    member = self.index.paths[row]
                    out[i] = _decode(open_member, member, side, False, self.limits)
                yield out


def _decode_into(out: np.ndarray, index: ImageIndex, gray: bool, limits: Limits) -> None:
    """Decode image ``i`` of ``index`` into ``out[i]``, an ``(n, S, S, C)`` uint8 array."""
    size = out.shape[1]
    with opener(index.source, index.is_zip) as open_member:
        for i, member in enumerate(index.paths):
            out[i] = _decode(open_member, member, size, gray, limits).reshape(out.shape[1:])


def _decode(
    open_member: Callable[[str], IO[bytes]], member: str, size: int, gray: bool, limits: Limits
) -> np.ndarray:
    """One image as ``(size, size)`` (gray) or ``(size, size, 3)`` uint8."""
    with open_image(open_member, member, limits) as image:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale, which is much faster.
        image.draft(None, (size, size))
        image.load()
        converted = displayable(image, gray=gray)
        resized = converted.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(resized)


def resize_images(stack: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(n, H, W, C)`` uint8 images to ``(n, size, size, C)`` like decoded ones."""
    out = np.empty((stack.shape[0], size, size, stack.shape[3]), np.uint8)
    for i, pixels in enumerate(stack):
        image = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
        resized = image.resize((size, size), Image.Resampling.BILINEAR)
        out[i] = np.asarray(resized).reshape(out.shape[1:])
    return out
