"""Checking a dataset as :func:`~formats.loading.load_dataset` would load it, with the same
readers, in memory that does not grow with its rows: tables and ``.npz`` arrays stream in
chunks, labels are counted per chunk (:class:`~formats.counting.ClassCounter`), ids are
checked for repeats by their hashes (:class:`~formats.unique_ids.UniqueIds`), and no
feature is kept. What passes here loads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from . import images, npz
from .columns import chunk_rows
from .counting import ClassCounter
from .dataset import Summary, duplicate_id
from .labels import Locate
from .limits import DEFAULT_LIMITS, Limits
from .loading import FOLDER, format_of, index_of, naming, row_of
from .tables import TableChunk, scan_table
from .unique_ids import UniqueIds, ids_at

# Called between chunks; raises to abandon the check (the client went away, say).
Interrupt = Callable[[], None]


def _nothing(*_: object) -> None:
    return None


def check_dataset(
    source: str | os.PathLike[str],
    *,
    label_column: str = "label",
    id_column: str = "id",
    limits: Limits = DEFAULT_LIMITS,
    name: str | None = None,
    interrupt: Interrupt = _nothing,
) -> Summary:
    """Check a dataset as :func:`~formats.loading.load_dataset` would load it, keeping no
    features, ids or per-row labels: every image is read whole once without being resized.

    Parameters
    ----------
    interrupt : callable, optional
        Called between chunks and images; whatever it raises abandons the check.

    Returns
    -------
    Summary
        The dataset's format and kind, and samples per class.

    Raises
    ------
    DatasetError
        As :func:`~formats.loading.load_dataset` does, with the same codes and messages.
    """
    path = Path(source)
    name = path.name if name is None else name
    with naming(name):
        kind = format_of(path, name)
        if kind in ("zip", FOLDER):
            index = images.index_images(path, limits)
            images.inspect(index, limits=limits, verify=True, interrupt=interrupt)
            counter = ClassCounter(limits)
            for start in range(0, len(index.labels), chunk_rows(1)):
                counter.add(np.array(index.labels[start : start + chunk_rows(1)], dtype=str))
            return Summary(kind, "image", counter.checked())
        if kind == "npz":
            return _check_npz(path, limits, interrupt)
        return _check_table(path, kind, label_column, id_column, limits, interrupt)


def _check_table(
    path: Path,
    table_format: str,
    label_column: str,
    id_column: str,
    limits: Limits,
    interrupt: Interrupt,
) -> Summary:
    def chunks() -> Iterator[TableChunk]:
        return scan_table(
            path, table_format, label_column=label_column, id_column=id_column, limits=limits
        )[1]

    counter = ClassCounter(limits)
    with UniqueIds() as unique:
        for chunk in chunks():
            interrupt()
            counter.add(chunk.labels)
            if chunk.ids is not None:
                unique.add(chunk.ids)
        _refuse_repeats(
            unique, lambda: (c.ids for c in chunks() if c.ids is not None), row_of, interrupt
        )
    return Summary(table_format, "table", counter.checked())


def _check_npz(path: Path, limits: Limits, interrupt: Interrupt) -> Summary:
    counter = ClassCounter(limits)
    with npz.open_npz(path, limits) as (arrays, open_features), UniqueIds() as unique:
        for ids in arrays.id_blocks():
            interrupt()
            if arrays.named_ids:
                unique.add(ids)
        for labels in arrays.label_blocks():
            interrupt()
            counter.add(labels)
        if arrays.kind == "table":
            with open_features() as handle:
                for _ in npz.check_features(arrays.features, handle):
                    interrupt()
        _refuse_repeats(unique, arrays.id_blocks, index_of, interrupt)
        return Summary("npz", arrays.kind, counter.checked())


def _refuse_repeats(
    unique: UniqueIds,
    id_blocks: Callable[[], Iterator[np.ndarray]],
    locate: Locate,
    interrupt: Interrupt,
) -> None:
    """Refuse the first repeated id; the ids are read again (up to the candidates) only if
    their hashes repeat, and that pass stops when interrupted as the first does."""

    def polled() -> Iterator[np.ndarray]:
        for block in id_blocks():
            interrupt()
            yield block

    repeat = unique.first_repeat(lambda rows: ids_at(polled(), rows))
    if repeat is not None:
        raise duplicate_id(*repeat, locate)
