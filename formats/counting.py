"""Counting a dataset's rows and classes as its chunks stream past, against the limits.

Labels are counted per chunk with :func:`numpy.unique`, so no Python object is made per row:
memory grows with the number of classes (capped by ``max_classes``), never with the rows.
"""

from __future__ import annotations

import numpy as np

from .errors import DatasetError
from .labels import check_class_count, check_classes
from .limits import Limits


def too_many_rows(limits: Limits, what: str = "the table") -> DatasetError:
    """The refusal of a dataset past ``limits.max_rows``."""
    return DatasetError(
        f"{what} has more than {limits.max_rows} rows, over the limit (LABELAUDIT_MAX_ROWS)",
        code="too_many_rows",
        limit=limits.max_rows,
        setting="LABELAUDIT_MAX_ROWS",
    )


class ClassCounter:
    """Samples per class, added chunk by chunk.

    Parameters
    ----------
    limits : Limits
        ``max_classes`` is checked after every chunk, so a file of a million distinct labels
        is refused once the count passes the limit, not after it is read.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.counts: dict[str, int] = {}

    def add(self, labels: np.ndarray) -> None:
        """Count ``(m,)`` str labels."""
        names, counts = np.unique(labels, return_counts=True)
        for name, count in zip(names.tolist(), counts.tolist(), strict=True):
            self.counts[name] = self.counts.get(name, 0) + count
        check_class_count(len(self.counts), self.limits)

    def checked(self) -> dict[str, int]:
        """Samples per class in class order, once every class has two or more."""
        return check_classes(self.counts)
