"""``.npz`` files of arrays ``X`` (``(n, d)`` numbers or ``(n, H, W[, C])`` uint8 images),
``y`` (labels) and optional ``ids``. Nothing is unpickled, and an array is read only once
its header is known to describe no more data than its member holds; a table's ``X`` is read
in chunks of rows, so checking an upload holds one chunk at a time."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from .archives import ZIP_ERRORS, check_members
from .counting import too_many_rows
from .dataset import Kind
from .errors import DatasetError
from .labels import Locate, id_texts, label_texts, number_texts
from .limits import Limits
from .tables import check_finite, not_finite

# Bytes of an array read at a time. A read from a deflated member holds about three times
# this (zipfile's buffers), and checking converts and masks it: 4 MiB keep a check ~35 MiB.
_CHUNK_BYTES = 4 * 1024 * 1024
# The arrays an upload names (as numpy.savez names its keywords): the features, the labels,
# and optionally the sample ids.
FEATURES_ARRAY = "X"
LABELS_ARRAY = "y"
IDS_ARRAY = "ids"
# The most a number takes as NumPy text (float64 is '<U32'): sizes blocks of labels and ids.
_TEXT_BYTES = 128


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype[Any]


@dataclass(frozen=True)
class NpzArrays:
    """An npz's headers, checked, and readers of its labels and ids in blocks of rows.

    Attributes
    ----------
    features : NpyHeader
        The header of ``X``.
    kind : {"table", "image"}
    label_blocks : callable
        Yields ``(m,)`` str class names, block by block in row order.
    id_blocks : callable
        Yields ``(m,)`` str sample ids (``ids``, or the index), block by block in row order.
    named_ids : bool
        Whether the npz has ``ids`` (the index is unique without checking).
    """

    features: NpyHeader
    kind: Kind
    label_blocks: Callable[[], Iterator[np.ndarray]]
    id_blocks: Callable[[], Iterator[np.ndarray]]
    named_ids: bool


@contextmanager
def open_npz(path: Path, limits: Limits) -> Iterator[tuple[NpzArrays, Callable[[], IO[bytes]]]]:
    """Check an npz's members and headers; yield readers of ``y`` and ``ids`` with an
    opener of ``X``'s data (positioned after its header)."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_members(archive.infolist(), limits)
            # Named as numpy.load names them: the member name less ".npy".
            names = {name.removesuffix(".npy"): name for name in archive.namelist()}
            missing = [key for key in (FEATURES_ARRAY, LABELS_ARRAY) if key not in names]
            if missing:
                found = ", ".join(sorted(names)) or "none"
                raise DatasetError(
                    f"the .npz has no array(s) {', '.join(missing)}; it needs {FEATURES_ARRAY} "
                    f"(features), {LABELS_ARRAY} (labels) and optionally {IDS_ARRAY}; "
                    f"found {found}",
                    code="missing_arrays",
                )
            labels = _header_of(archive, names[LABELS_ARRAY], LABELS_ARRAY)
            header = _header_of(archive, names[FEATURES_ARRAY], FEATURES_ARRAY)
            kind = _check_shapes(header, labels.shape)
            rows = labels.shape[0]
            if rows > limits.max_rows:
                raise too_many_rows(limits, "the arrays")
            ids = _header_of(archive, names[IDS_ARRAY], IDS_ARRAY) if IDS_ARRAY in names else None
            if ids is not None and ids.shape != labels.shape:
                raise DatasetError(
                    f"array '{IDS_ARRAY}' has shape {ids.shape}; expected {labels.shape}",
                    code="bad_arrays",
                )

            def label_blocks() -> Iterator[np.ndarray]:
                return _text_blocks(archive, names[LABELS_ARRAY], LABELS_ARRAY, label_texts)

            def id_blocks() -> Iterator[np.ndarray]:
                if IDS_ARRAY in names:
                    return _text_blocks(archive, names[IDS_ARRAY], IDS_ARRAY, id_texts)
                return _index_blocks(rows)

            def open_features() -> IO[bytes]:
                handle = archive.open(names[FEATURES_ARRAY])
                _read_header(handle, archive.getinfo(names[FEATURES_ARRAY]), FEATURES_ARRAY)
                return handle

            arrays = NpzArrays(header, kind, label_blocks, id_blocks, ids is not None)
            yield arrays, open_features
    except (*ZIP_ERRORS, ValueError, OSError) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"cannot read the .npz: {exc}", code="unreadable_table") from None


def _header_of(archive: zipfile.ZipFile, member: str, key: str) -> NpyHeader:
    with archive.open(member) as handle:
        return _read_header(handle, archive.getinfo(member), key)


def _text_blocks(
    archive: zipfile.ZipFile, member: str, key: str, policy: Callable[..., np.ndarray]
) -> Iterator[np.ndarray]:
    """A 1-D label or id array as ``(m,)`` str blocks, read ``_CHUNK_BYTES`` at a time."""
    with archive.open(member) as handle:
        header = _read_header(handle, archive.getinfo(member), key)
        (rows,) = header.shape
        # Bounded by the text a block becomes (a number's is up to 128 bytes), not its bytes.
        per_block = max(1, _CHUNK_BYTES // max(4 * header.dtype.itemsize, _TEXT_BYTES))
        for first in range(0, rows, per_block):
            count = min(per_block, rows - first)
            values = np.frombuffer(handle.read(count * header.dtype.itemsize), header.dtype)

            def index(i: int, start: int = first) -> dict[str, int]:
                return {"index": start + i}

            yield _texts(values, index, policy)


def _index_blocks(rows: int) -> Iterator[np.ndarray]:
    """Sample ids where the npz has none: each sample's 0-based index, as text."""
    per_block = max(1, _CHUNK_BYTES // _TEXT_BYTES)
    for first in range(0, rows, per_block):
        yield np.arange(first, min(first + per_block, rows)).astype(str)


def _read_header(handle: IO[bytes], info: zipfile.ZipInfo, key: str) -> NpyHeader:
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle)
    if dtype.hasobject:
        raise DatasetError(
            f"array {key!r} holds pickled Python objects, which are never loaded; save it "
            "as numbers or strings",
            code="pickled_array",
        )
    declared = math.prod(shape) * dtype.itemsize
    if declared > info.file_size:
        raise DatasetError(
            f"array {key!r} declares shape {shape} ({declared} bytes) but its member holds "
            f"{info.file_size} bytes",
            code="bad_arrays",
        )
    return NpyHeader(shape, fortran_order, dtype)


def _check_shapes(header: NpyHeader, label_shape: tuple[int, ...]) -> Kind:
    """The dataset's kind from ``X``'s header, once it agrees with ``y``."""
    shape, dtype = header.shape, header.dtype
    if len(label_shape) != 1 or len(shape) == 0 or shape[0] != label_shape[0]:
        raise DatasetError(
            f"y must be 1-D and X must have one row per label; got X {shape} and y {label_shape}",
            code="bad_arrays",
        )
    if len(shape) in (3, 4) and dtype == np.uint8:
        if len(shape) == 4 and shape[3] not in (1, 3):
            raise DatasetError(
                f"images need 1 or 3 channels; X has shape {shape}", code="bad_arrays"
            )
        return "image"
    if len(shape) != 2:
        raise DatasetError(
            f"X must be (n, d) numbers or (n, H, W[, C]) uint8 images; got shape {shape} "
            f"and dtype {dtype}",
            code="bad_arrays",
        )
    if dtype.kind not in "biuf":
        raise DatasetError(f"X holds {dtype}, not numbers", code="bad_feature")
    if shape[1] == 0:
        raise DatasetError("X has no feature columns", code="no_features")
    return "table"


def _texts(values: np.ndarray, locate: Locate, policy: Callable[..., np.ndarray]) -> np.ndarray:
    """A ``(n,)`` label or id array as text: numbers by :func:`number_texts`, text by
    ``policy`` (the label or the id rule), bytes decoded as UTF-8."""
    what = "labels" if policy is label_texts else "ids"
    kind = values.dtype.kind
    if kind in "biuf":
        return number_texts(values, locate)
    if kind == "S":
        try:
            values = np.char.decode(values, "utf-8")
        except UnicodeDecodeError:
            raise DatasetError(
                f"the {what} hold bytes that are not UTF-8", code="bad_label"
            ) from None
    elif kind != "U":
        raise DatasetError(
            f"the {what} must be integers or strings; got {values.dtype}", code="bad_label"
        )
    return policy(values.astype(object), locate)


def feature_blocks(header: NpyHeader, handle: IO[bytes]) -> Iterator[np.ndarray]:
    """A table's ``X`` as ``(m, d)`` float32 blocks of consecutive rows, each finite."""
    rows, width = header.shape
    names = [f"x{j}" for j in range(width)]
    if header.fortran_order:
        # Column-major data is not whole rows until it is all read.
        data = np.frombuffer(handle.read(rows * width * header.dtype.itemsize), header.dtype)
        block = _as_float32(data.reshape((rows, width), order="F"))
        check_finite(block, names, 0)
        yield block
        return
    row_bytes = width * header.dtype.itemsize
    per_chunk = max(1, _CHUNK_BYTES // row_bytes)
    first = 0
    while first < rows:
        count = min(per_chunk, rows - first)
        data = np.frombuffer(handle.read(count * row_bytes), header.dtype)
        block = _as_float32(data.reshape(count, width))
        check_finite(block, names, first)
        yield block
        first += count


def check_features(header: NpyHeader, handle: IO[bytes]) -> Iterator[None]:
    """Refuse the first (row-major) value of a table's ``X`` that is not finite, reading
    ``_CHUNK_BYTES`` at a time whatever its memory order: column-major data is checked in
    pieces of columns, which hold no whole rows but need none to be checked. Yields after
    each piece, so that the caller may stop between them."""
    if not header.fortran_order:
        for _ in feature_blocks(header, handle):
            yield
        return
    rows, width = header.shape
    per_chunk = max(1, _CHUNK_BYTES // header.dtype.itemsize)
    first: tuple[int, int] | None = None
    for start in range(0, rows * width, per_chunk):
        count = min(per_chunk, rows * width - start)
        data = handle.read(count * header.dtype.itemsize)
        values = _as_float32(np.frombuffer(data, header.dtype))
        bad = start + np.flatnonzero(~np.isfinite(values))
        if bad.size:
            at_rows, at_columns = bad % rows, bad // rows
            earliest = int(np.lexsort((at_columns, at_rows))[0])
            found = int(at_rows[earliest]), int(at_columns[earliest])
            first = found if first is None else min(first, found)
        yield
    if first is not None:
        raise not_finite(first[0], f"x{first[1]}")


def _as_float32(values: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(np.float32)


def read_images(header: NpyHeader, handle: IO[bytes]) -> np.ndarray:
    """``X`` as ``(n, H, W, C)`` uint8 images."""
    data = np.frombuffer(handle.read(math.prod(header.shape)), np.uint8)
    stack = data.reshape(header.shape, order="F" if header.fortran_order else "C")
    return stack[..., None] if stack.ndim == 3 else stack
