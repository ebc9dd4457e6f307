"""The checks an upload gets while its request is open, so that bad data answers 422.

The dataset rules are :mod:`formats`' (the worker loads with the same readers, so an
upload accepted here loads there); this module maps their errors to :class:`InvalidInput`
and adds what is about storing the dataset: no NUL characters and the column lengths.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import numpy as np

from formats import DatasetError, Limits, Summary, check_dataset

from ..errors import InvalidInput
from .models import MAX_LABEL_CHARS, MAX_SAMPLE_ID_CHARS


@contextmanager
def dataset_errors() -> Iterator[None]:
    """The one place a :class:`DatasetError` becomes the API's :class:`InvalidInput`: same
    code, same message, its file, row or member as details."""
    try:
        yield
    except DatasetError as exc:
        raise InvalidInput(str(exc), code=exc.code, details=exc.details or None) from None


def inspect_upload(
    path: Path, filename: str, *, label_column: str, id_column: str, limits: Limits
) -> Summary:
    """Check a stored upload, its format named by ``filename``'s ending, as the worker will
    load it; raise :class:`InvalidInput` naming the first problem."""
    if "\0" in filename:
        raise InvalidInput(f"the file name {filename!r} holds a NUL character", code="bad_filename")
    with dataset_errors():
        summary = check_dataset(
            path,
            name=PurePosixPath(filename.replace("\\", "/")).name,
            label_column=label_column,
            id_column=id_column,
            limits=limits,
        )
    for name in summary.class_counts:
        _check_storable([name], "class name", MAX_LABEL_CHARS)
    _check_storable(summary.sample_ids, "sample id", MAX_SAMPLE_ID_CHARS)
    return summary


def _check_storable(values: list[str] | np.ndarray, what: str, max_chars: int) -> None:
    """The database stores no NUL character, and labels and ids have a length limit."""
    texts = np.asarray(values, dtype=str)
    if texts.size == 0:
        return
    with_nul = next((value for value in texts.tolist() if "\0" in value), None)
    if with_nul is not None:
        raise InvalidInput(f"the {what} {with_nul!r} holds a NUL character", code="bad_text")
    lengths = np.char.str_len(texts)
    if lengths.max() > max_chars:
        value = str(texts[int(np.argmax(lengths))])
        raise InvalidInput(
            f"the {what} {value[:40]!r}... is over {max_chars} characters", code="bad_text"
        )
