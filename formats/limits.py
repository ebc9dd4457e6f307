"""The limits that protect every reader from hostile or accidental huge inputs: one type,
one set of defaults, shared by the CLI, the engine and the API (whose settings override them)."""

from __future__ import annotations

from dataclasses import dataclass, fields

GIB = 1024**3
# The longest sample id and class name (label) any reader accepts: what the service's
# database stores, so the CLI and the API refuse the same files. Checked on each value before
# it joins a fixed-width array, where one long value would widen every row's slot.
MAX_ID_CHARS = 1024
MAX_LABEL_CHARS = 255


@dataclass(frozen=True)
class Limits:
    """Upper bounds on what a dataset may hold.

    Attributes
    ----------
    max_expanded_bytes : int
        Total uncompressed size of a zip archive or ``.npz`` (the zip-bomb limit).
    max_members : int
        Members of a zip archive, or files of a directory.
    max_ratio : float
        Largest compression ratio of one archive member over 1 MiB (zip-bomb defence).
    max_image_pixels : int
        Pixels of one image, checked from its header before it is decoded.
    max_columns : int
        Columns of a table, checked before its rows are read.
    max_rows : int
        Rows (samples) of a table or array.
    max_classes : int
        Distinct labels (classes). The engine's confident joint is classes x classes and its
        training buffers grow with samples x classes, so the count is capped before training.
    max_training_bytes : int
        Memory the training buffers of an audit may take, which grow with samples x classes
        x views (:func:`formats.training_memory.training_memory_bytes`).
    """

    max_expanded_bytes: int = 16 * GIB
    max_members: int = 1_000_000
    max_ratio: float = 200.0
    max_image_pixels: int = 40_000_000
    max_columns: int = 100_000
    max_rows: int = 50_000_000
    max_classes: int = 10_000
    max_training_bytes: int = 2 * GIB

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
                raise ValueError(f"{field.name} must be a number >= 1; got {value!r}")


DEFAULT_LIMITS = Limits()
