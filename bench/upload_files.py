"""The large and hostile files ``bench.upload_scale`` sends, generated on disk as they are
written (never whole in memory): a zip of noise images, a wide CSV of a given size, a gzip
bomb, and an ``.npz`` of many rows in either memory order."""

from __future__ import annotations

import gzip
import io
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bench.seed import CLASSES

IMAGE_SIDE = 256
JPEG_EVERY = 8
CSV_FEATURES = 32
CSV_CLASSES = 20
# Feature rows are drawn from a pool of pre-formatted lines: generating gigabytes of text
# is then bound by the disk, not by float formatting.
_POOL = 4096
_LINES_PER_WRITE = 200_000


def noise_image(rng: np.random.Generator, index: int) -> tuple[str, bytes]:
    pixels = rng.integers(0, 256, (IMAGE_SIDE, IMAGE_SIDE, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    if index % JPEG_EVERY == 0:
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
        return "jpg", buffer.getvalue()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=0)
    return "png", buffer.getvalue()


def write_image_zip(path: Path, target_bytes: int, *, seed: int = 2026) -> dict[str, Any]:
    """Images in ``<class>/<n>.<png|jpg>`` until the archive reaches ``target_bytes``."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    images = 0
    written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        while written < target_bytes:
            suffix, data = noise_image(rng, images)
            archive.writestr(f"{CLASSES[images % len(CLASSES)]}/{images:06d}.{suffix}", data)
            written += len(data)
            images += 1
    return {
        "images": images,
        "zip_bytes": path.stat().st_size,
        "generate_seconds": round(time.perf_counter() - started, 1),
    }


def write_csv(path: Path, target_bytes: int, *, seed: int = 2026) -> dict[str, Any]:
    """``id,f0..f31,label`` rows (unique ids ``s<n>``, 20 classes) until ``target_bytes``."""
    rng = np.random.default_rng(seed)
    pool = [",".join(f"{v:.5f}" for v in row) for row in rng.random((_POOL, CSV_FEATURES))]
    started = time.perf_counter()
    rows = written = 0
    header = "id," + ",".join(f"f{j}" for j in range(CSV_FEATURES)) + ",label\n"
    with path.open("w", encoding="utf-8", newline="") as handle:
        written += handle.write(header)
        while written < target_bytes:
            block = "".join(
                f"s{i},{pool[(i * 7919) % _POOL]},c{i % CSV_CLASSES}\n"
                for i in range(rows, rows + _LINES_PER_WRITE)
            )
            written += handle.write(block)
            rows += _LINES_PER_WRITE
    return {
        "rows": rows,
        "file_bytes": path.stat().st_size,
        "generate_seconds": round(time.perf_counter() - started, 1),
    }


def write_gzip_bomb(path: Path, lines: int = 40_000_000) -> dict[str, Any]:
    """A ``.csv.gz`` of ``f1,label`` and ``lines`` two-column lines, as the issue's (233 KB
    expanding to 160 MB)."""
    started = time.perf_counter()
    block = b"0,a\n1,b\n" * 500_000
    per_block = block.count(b"\n")
    with gzip.open(path, "wb", compresslevel=9) as handle:
        handle.write(b"f1,label\n")
        for _ in range(lines // per_block):
            handle.write(block)
    return {
        "rows": lines,
        "file_bytes": path.stat().st_size,
        "expanded_bytes": 9 + lines // per_block * len(block),
        "generate_seconds": round(time.perf_counter() - started, 1),
    }


def write_npz(path: Path, rows: int, order: str, *, seed: int = 2026) -> dict[str, Any]:
    """``X`` ``(rows, 2)`` float32 in memory ``order`` (``C`` or ``F``), ``y`` int64 of ten
    classes, deflated like ``numpy.savez_compressed``."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    features = rng.integers(0, 16, (rows, 2)).astype(np.float32)
    arrays: dict[str, np.ndarray] = {
        "X": np.asfortranarray(features) if order == "F" else features,
        "y": rng.integers(0, 10, rows),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, value, allow_pickle=False)
    return {
        "rows": rows,
        "order": order,
        "file_bytes": path.stat().st_size,
        "generate_seconds": round(time.perf_counter() - started, 1),
    }
