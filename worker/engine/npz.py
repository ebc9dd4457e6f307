"""Reading an ``.npz`` of arrays ``X``, ``y`` and optional ``ids`` into a :class:`Dataset`,
never unpickling (object arrays are refused)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from . import images
from .dataset import DataLimits, Dataset, DatasetError, encode_labels, float_strings
from .tables import check_unique_ids


def load_npz(path: Path, image_size: int | None, limits: DataLimits) -> Dataset:
    name = path.name
    try:
        with zipfile.ZipFile(path) as archive:
            images.check_zip_members(archive.infolist(), name, limits)
        with np.load(path, allow_pickle=False) as arrays:
            found = ", ".join(arrays.files) or "none"
            for required in ("X", "y"):
                if required not in arrays.files:
                    raise DatasetError(f"{name}: no array {required!r}; the arrays are: {found}")
            x = _npz_array(name, arrays, "X")
            y = _npz_array(name, arrays, "y")
            ids = _npz_array(name, arrays, "ids") if "ids" in arrays.files else None
    except (zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{name}: not a valid .npz archive ({exc})") from exc
    if y.ndim != 1:
        raise DatasetError(f"{name}: array 'y' must be 1-D (n,); got shape {y.shape}")
    if x.ndim == 0 or x.shape[0] != y.shape[0]:
        raise DatasetError(f"{name}: array 'X' has shape {x.shape} but 'y' has {y.shape[0]} labels")
    if y.shape[0] > limits.max_rows:
        raise DatasetError(f"{name}: more than {limits.max_rows} rows")
    if ids is None:
        sample_ids = np.arange(y.shape[0]).astype(str)
    elif ids.shape != y.shape:
        raise DatasetError(f"{name}: array 'ids' has shape {ids.shape}; expected {y.shape}")
    else:
        sample_ids = _array_strings(name, ids, "ids")
    check_unique_ids(
        sample_ids,
        lambda first, second: (
            f"{name}: duplicate id {str(sample_ids[second])!r} in 'ids' "
            f"at indices {first} and {second}"
        ),
    )
    class_names, labels = encode_labels(name, _array_strings(name, y, "y"))
    if x.ndim == 2:
        return Dataset(
            features=_npz_table(name, x),
            labels=labels,
            class_names=class_names,
            sample_ids=sample_ids,
            kind="table",
            feature_names=tuple(f"x{j}" for j in range(x.shape[1])),
        )
    return Dataset(
        features=_npz_images(name, x, image_size),
        labels=labels,
        class_names=class_names,
        sample_ids=sample_ids,
        kind="image",
    )


def _npz_array(name: str, arrays: Any, key: str) -> np.ndarray:
    try:
        return np.asarray(arrays[key])
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DatasetError(
                f"{name}: array {key!r} contains pickled objects, which are not loaded"
            ) from exc
        raise DatasetError(f"{name}: array {key!r} is not a valid .npy array ({exc})") from exc


def _npz_table(name: str, x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise DatasetError(f"{name}: array 'X' must be numeric; got dtype {x.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        features = x.astype(np.float32)
    finite = np.isfinite(features)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise DatasetError(f"{name}: array 'X' has a NaN or infinite value at X[{row}, {col}]")
    return features


def _npz_images(name: str, x: np.ndarray, image_size: int | None) -> np.ndarray:
    """``(n, H, W)`` or ``(n, H, W, C)`` uint8 as ``(n, S, S, C)``, C 1 or 3."""
    if x.ndim not in (3, 4) or x.dtype != np.uint8:
        raise DatasetError(
            f"{name}: array 'X' must be (n, d) numbers or (n, H, W[, C]) uint8 images; "
            f"got shape {x.shape} and dtype {x.dtype}"
        )
    stack = x[..., None] if x.ndim == 3 else x
    height, width, channels = stack.shape[1:]
    if channels not in (1, 3):
        raise DatasetError(f"{name}: images need 1 or 3 channels; got {channels}")
    size = image_size or height
    if height == width == size:
        return np.ascontiguousarray(stack)
    return images.resize_images(stack, size)


def _array_strings(name: str, values: np.ndarray, key: str) -> np.ndarray:
    """A ``(n,)`` label or id array as str, integral floats written as integers."""
    kind = values.dtype.kind
    if kind == "f":
        return float_strings(values, lambda i: f"{name}: array {key!r} at index {i}")
    if kind == "S":
        try:
            return np.char.decode(values, "utf-8").astype(str)
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{name}: array {key!r} holds bytes that are not UTF-8") from exc
    if kind not in "biuU":
        raise DatasetError(
            f"{name}: array {key!r} must hold integers or strings; got dtype {values.dtype}"
        )
    return values.astype(str)
