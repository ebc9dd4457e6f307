"""labelaudit's dataset formats: everything about the datasets it accepts, in one place.

Detecting a file's format, reading CSV/Parquet tables, ``.npz`` arrays and image zips or
folders into arrays (:func:`load_dataset`), checking one cheaply with the same readers
(:func:`check_dataset`), the label policy (:mod:`.labels`), archive safety, the limits and
the errors. It imports NumPy, pandas, pyarrow and Pillow, never torch, so the API and the
engine both read datasets through it.
"""

from .checking import check_dataset
from .dataset import Dataset, Summary
from .errors import DatasetError
from .images import PILLOW_FORMATS, displayable, open_image
from .limits import DEFAULT_LIMITS, Limits
from .loading import FORMATS, detect_format, load_dataset, read_image_bytes

__all__ = [
    "DEFAULT_LIMITS",
    "FORMATS",
    "PILLOW_FORMATS",
    "Dataset",
    "DatasetError",
    "Limits",
    "Summary",
    "check_dataset",
    "detect_format",
    "displayable",
    "load_dataset",
    "open_image",
    "read_image_bytes",
]
