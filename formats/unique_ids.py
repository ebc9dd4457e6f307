"""Finding a repeated sample id with bounded memory, however many rows stream past.

Each id is hashed to 64 bits (pandas' SipHash, with a random key per check, so that no file
can be crafted to collide) and kept as a 16-byte (hash, row) record: in memory up to
``_SPILL_RECORDS``, beyond that partitioned by the hash's top bits into files on disk, each
sorted alone afterwards. Equal hashes only make candidates: the candidates' ids are read
again and compared as text, so a collision never refuses a valid file and the repeat
reported is exactly the one a set of all ids would find first.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import numpy as np
import pandas as pd

# Records held in memory before they go to disk (8 MiB), and the partitions on disk: a
# 50 M-row table makes 64 files of 12.5 MiB, each sorted in memory on its own.
_SPILL_RECORDS = 1 << 19
_PARTITIONS = 64
_PARTITION_SHIFT = np.uint64(64 - 6)
_RECORD = np.dtype([("hash", "<u8"), ("row", "<i8")])

# Reads the ids at some rows (sorted, 0-based) again: ``{row: id}``.
IdsAt = Callable[[np.ndarray], dict[int, str]]


class UniqueIds:
    """Ids added chunk by chunk, in row order; :meth:`first_repeat` finds the first repeat.

    Use as a context manager: the partition files, if any, are removed on exit.
    """

    def __init__(self) -> None:
        self._key = secrets.token_hex(8)
        self._rows = 0
        self._pending: list[np.ndarray] = []
        self._pending_records = 0
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._files: list[BinaryIO] = []

    def __enter__(self) -> UniqueIds:
        return self

    def __exit__(self, *_: object) -> None:
        for handle in self._files:
            handle.close()
        self._files = []
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def add(self, ids: np.ndarray) -> None:
        """Add the ``(m,)`` str ids of the next rows."""
        records = np.empty(len(ids), _RECORD)
        records["hash"] = pd.util.hash_array(
            ids.astype(object), hash_key=self._key, categorize=False
        )
        records["row"] = np.arange(self._rows, self._rows + len(ids))
        self._rows += len(ids)
        if self._files:
            self._spill(records)
            return
        self._pending.append(records)
        self._pending_records += len(records)
        if self._pending_records > _SPILL_RECORDS:
            self._folder = tempfile.TemporaryDirectory(prefix="labelaudit-ids-")
            self._files = [
                open(f"{self._folder.name}/{part}.bin", "w+b")  # noqa: SIM115 (closed on exit)
                for part in range(_PARTITIONS)
            ]
            for pending in self._pending:
                self._spill(pending)
            self._pending = []

    def first_repeat(self, ids_at: IdsAt) -> tuple[int, int, str] | None:
        """The first row whose id an earlier row has: ``(earlier row, row, id)``, or None.

        ``ids_at`` reads ids again; it is called once for a repeat and more only for a hash
        collision.
        """
        after = -1
        best: tuple[int, int, str] | None = None
        while (run := self._next_run(after)) is not None:
            if best is not None and run[1] >= best[1]:
                break
            pair = ids_at(run[:2])
            if pair[int(run[0])] == pair[int(run[1])]:
                # The run with the earliest second row, and a true repeat: nothing is earlier.
                return int(run[0]), int(run[1]), pair[int(run[0])]
            found = _earliest_repeat(run, ids_at(run))
            if found is not None and (best is None or found[1] < best[1]):
                best = found
            after = int(run[1])
        return best

    def _spill(self, records: np.ndarray) -> None:
        part = (records["hash"] >> _PARTITION_SHIFT).astype(np.intp)
        order = np.argsort(part, kind="stable")
        ordered = records[order]
        bounds = np.searchsorted(part[order], np.arange(_PARTITIONS + 1))
        for index, handle in enumerate(self._files):
            piece = ordered[bounds[index] : bounds[index + 1]]
            if len(piece):
                handle.write(piece.data.cast("B"))

    def _partitions(self) -> Iterator[np.ndarray]:
        if not self._files:
            yield np.concatenate(self._pending) if self._pending else np.empty(0, _RECORD)
            return
        for handle in self._files:
            handle.flush()
            handle.seek(0)
            yield np.frombuffer(handle.read(), _RECORD)
            handle.seek(0, 2)

    def _next_run(self, after: int) -> np.ndarray | None:
        """The rows (sorted) sharing one hash whose second row is the smallest past
        ``after``; None when no such run is left."""
        best: np.ndarray | None = None
        for records in self._partitions():
            # Stable: records were added in row order, so each run's rows stay sorted.
            ordered = records[np.argsort(records["hash"], kind="stable")]
            hashes, rows = ordered["hash"], ordered["row"]
            repeat = np.flatnonzero(hashes[1:] == hashes[:-1]) + 1
            if repeat.size == 0:
                continue
            # The second row of each run: a repeat whose predecessor starts the run.
            second = repeat[(repeat == 1) | (hashes[repeat - 2] != hashes[repeat - 1])]
            second = second[rows[second] > after]
            if second.size == 0:
                continue
            at = second[np.argmin(rows[second])]
            if best is None or rows[at] < best[1]:
                best = rows[hashes == hashes[at]].copy()
        return best


def _earliest_repeat(rows: np.ndarray, texts: dict[int, str]) -> tuple[int, int, str] | None:
    """Among rows whose hashes collided, the first true repeat of an id, by text."""
    seen: dict[str, int] = {}
    for row in rows.tolist():
        text = texts[row]
        if text in seen:
            return seen[text], row, text
        seen[text] = row
    return None


def ids_at(blocks: Iterable[np.ndarray], rows: np.ndarray) -> dict[int, str]:
    """The ids at ``rows`` (sorted, 0-based) from consecutive ``(m,)`` blocks of ids; reads
    no further than the last row wanted."""
    found: dict[int, str] = {}
    first = 0
    for block in blocks:
        wanted = rows[(rows >= first) & (rows < first + len(block))]
        found.update({int(row): str(block[row - first]) for row in wanted})
        first += len(block)
        if first > rows[-1]:
            break
    return found
