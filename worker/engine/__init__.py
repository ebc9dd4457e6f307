"""labelaudit's detection engine: a pure library of arrays in, flags out.

It imports torch, numpy and :mod:`formats` (which reads datasets into a
:class:`formats.Dataset`) only; never the service, Celery, a database or environment
variables.
"""

from formats.options import LOSSES, AuditConfig, ConfigError

from .auditing import audit
from .checkpoint import TrainingInterrupted
from .progress import Progress, ProgressCallback
from .result import AuditResult, FlagResult
from .tensors import max_image_side

__all__ = [
    "LOSSES",
    "AuditConfig",
    "AuditResult",
    "ConfigError",
    "FlagResult",
    "Progress",
    "ProgressCallback",
    "TrainingInterrupted",
    "audit",
    "max_image_side",
]
