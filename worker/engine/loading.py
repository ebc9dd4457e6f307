"""Reading a dataset the way an audit with a given config trains on it."""

from __future__ import annotations

from pathlib import Path

from formats import DEFAULT_LIMITS, Dataset, Limits, load_dataset
from formats.options import AuditConfig

from .tensors import max_image_side


def load_for_audit(
    path: Path,
    config: AuditConfig,
    *,
    label_column: str = "label",
    id_column: str = "id",
    cache_dir: Path | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Dataset:
    """Read ``path`` for :func:`worker.engine.audit` with ``config``: images decoded at its
    ``image_size``, or left unset at their median side up to the limit of the device that
    will train (:data:`formats.defaults.MAX_IMAGE_SIDE`). The CLI, the worker and library
    callers read through it, so an audit never trains on images decoded at another size.

    Parameters
    ----------
    path : Path
        A table (``.csv``, ``.csv.gz``, ``.parquet``, ``.npz``) or images in class folders
        (a folder or ``.zip``).
    config : AuditConfig
    label_column, id_column : str
        A table's label and id columns (:func:`formats.load_dataset`).
    cache_dir : Path, optional
        Keep decoded images here, to read them again at once.
    limits : Limits
    """
    return load_dataset(
        path,
        label_column=label_column,
        id_column=id_column,
        image_size=config.image_size,
        max_image_side=max_image_side(config.device),
        cache_dir=cache_dir,
        limits=limits,
    )
