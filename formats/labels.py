"""The label policy, applied by every reader.

A label is text as written: ``NA``, ``None``, ``null``, ``N/A``, ``0`` and ``01`` are class
names like any other. Leading and trailing white space is stripped (`` cat`` and ``cat`` are
one class); a cell that is empty once stripped is a missing label, which is an error. In a
typed numeric column (Parquet, ``.npz``) a class is named by its value, integral numbers as
integers, so ``1`` and ``1.0`` are both class ``1``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .errors import DatasetError, listing
from .limits import DEFAULT_LIMITS, MAX_ID_CHARS, MAX_LABEL_CHARS, Limits

# Where value i of an array is, as keyword arguments of DatasetError (``{"row": 3}``).
Locate = Callable[[int], dict[str, Any]]


def label_texts(values: np.ndarray, locate: Locate, *, what: str = "label") -> np.ndarray:
    """``(n,)`` labels as written (str or object, None/NaN for absent cells) as stripped str.

    Raises ``missing_label`` naming the first absent or blank one.
    """
    texts = ["" if _absent(v) else str(v).strip() for v in values.tolist()]
    for i, text in enumerate(texts):
        if not text:
            raise missing_label(locate(i), what=what)
    check_storable(texts, locate, what=what)
    return np.array(texts, dtype=str)


def missing_label(location: Mapping[str, Any], *, what: str = "label") -> DatasetError:
    """A missing label (or id, when ``what`` is ``"id"``) at ``location``."""
    where = ", ".join(f"{key} {value}" for key, value in location.items())
    code = "missing_id" if what == "id" else "missing_label"
    return DatasetError(f"{where} has no {what}", code=code, **location)


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def number_texts(values: np.ndarray, locate: Locate, *, code: str = "bad_label") -> np.ndarray:
    """``(n,)`` numbers as the class names (or ids) they stand for: integral values written
    as integers (``1.0`` is ``"1"``), others in their shortest form."""
    if values.dtype.kind != "f":
        return (
            values.astype(np.int64).astype(str) if values.dtype.kind == "b" else values.astype(str)
        )
    invalid = ~np.isfinite(values)
    if invalid.any():
        i = int(np.argmax(invalid))
        location = locate(i)
        where = ", ".join(f"{key} {value}" for key, value in location.items())
        raise DatasetError(
            f"{where}: {values[i]} (NaN or infinite) is not a valid label or id",
            code=code,
            **location,
        )
    if np.all(values == np.round(values)):
        return values.astype(np.int64).astype(str)
    return values.astype(str)


def class_order(names: list[str] | np.ndarray) -> list[str]:
    """Class names sorted: numerically when every one is an integer, else as text."""
    ordered = sorted(str(name) for name in names)
    if all(re.fullmatch(r"-?\d+", name) for name in ordered):
        ordered.sort(key=int)
    return ordered


def check_classes(counts: Mapping[str, int]) -> dict[str, int]:
    """Samples per class in :func:`class_order`; an audit needs two classes of two or more."""
    if len(counts) < 2:
        found = listing(counts) or "none"
        raise DatasetError(
            f"an audit needs at least 2 classes; the labels hold {found}",
            code="too_few_classes",
            classes=dict(counts),
        )
    single = [name for name in class_order(list(counts)) if counts[name] < 2]
    if single:
        raise DatasetError(
            f"class(es) {listing(single)} have fewer than 2 samples; each class needs 2 or more",
            code="single_sample_class",
            classes=single,
        )
    return {name: counts[name] for name in class_order(list(counts))}


def check_class_count(classes: int, limits: Limits) -> None:
    """Refuse more than ``limits.max_classes`` distinct labels."""
    if classes > limits.max_classes:
        raise DatasetError(
            f"the labels hold more than {limits.max_classes} classes, over the limit "
            "(LABELAUDIT_MAX_CLASSES)",
            code="too_many_classes",
            limit=limits.max_classes,
            setting="LABELAUDIT_MAX_CLASSES",
        )


def encode_labels(
    labels: np.ndarray, limits: Limits = DEFAULT_LIMITS
) -> tuple[tuple[str, ...], np.ndarray]:
    """``(n,)`` class names (str) as sorted class names and ``(n,)`` int64 indices into them."""
    names, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    check_class_count(len(names), limits)
    checked = check_classes({str(n): int(c) for n, c in zip(names, counts, strict=True)})
    class_names = tuple(checked)
    rank = {name: i for i, name in enumerate(class_names)}
    lookup = np.array([rank[str(n)] for n in names], dtype=np.int64)
    return class_names, lookup[inverse.reshape(-1)]


def id_texts(values: np.ndarray, locate: Locate) -> np.ndarray:
    """``(n,)`` sample ids as written: never stripped, since they must match the user's own
    data; an absent or blank one is ``missing_id``."""
    texts = ["" if _absent(v) else str(v) for v in values.tolist()]
    for i, text in enumerate(texts):
        if not text.strip():
            raise missing_label(locate(i), what="id")
    check_storable(texts, locate, what="id")
    return np.array(texts, dtype=str)


def check_storable(texts: Sequence[str], locate: Locate, *, what: str) -> None:
    """Refuse (``bad_text``, naming the first) a label, or id when ``what`` is ``"id"``,
    that holds a NUL character (no database stores one) or is longer than
    :data:`MAX_LABEL_CHARS` / :data:`MAX_ID_CHARS`.

    Checked on the strings, before any fixed-width array of them exists: its width is the
    longest value's, so one 20,000-character label would cost 80 KB for every row.
    """
    noun, limit = ("sample id", MAX_ID_CHARS) if what == "id" else ("label", MAX_LABEL_CHARS)
    for i, text in enumerate(texts):
        problem = (
            "holds a NUL character"
            if "\0" in text
            else f"is over {limit} characters"
            if len(text) > limit
            else None
        )
        if problem is not None:
            location = locate(i)
            where = ", ".join(f"{key} {value}" for key, value in location.items())
            shown = repr(text[:40]) + ("..." if len(text) > 40 else "")
            raise DatasetError(
                f"{where}: the {noun} {shown} {problem}", code="bad_text", **location
            )
