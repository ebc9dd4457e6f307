"""labelaudit's detection engine: a pure library of arrays in, flags out.

It imports torch, numpy, pandas and Pillow only; never the service, Celery, a database or
environment variables.
"""

from .auditing import audit
from .checkpoint import TrainingInterrupted
from .config import LOSSES, AuditConfig, ConfigError
from .data import DataLimits, load_dataset, read_image_bytes
from .dataset import Dataset, DatasetError
from .progress import Progress, ProgressCallback
from .result import AuditResult, FlagResult

__all__ = [
    "LOSSES",
    "AuditConfig",
    "AuditResult",
    "ConfigError",
    "DataLimits",
    "Dataset",
    "DatasetError",
    "FlagResult",
    "Progress",
    "ProgressCallback",
    "TrainingInterrupted",
    "audit",
    "load_dataset",
    "read_image_bytes",
]
