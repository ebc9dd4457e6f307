"""labelaudit's detection engine: a pure library of arrays in, flags out.

It imports torch, numpy and :mod:`formats` (which reads datasets into a
:class:`formats.Dataset`) only; never the service, Celery, a database or environment
variables.
"""

from formats.options import LOSSES, AuditConfig, ConfigError
from formats.plan import Plan

from .auditing import audit
from .checkpoint import TrainingInterrupted
from .loading import load_for_audit
from .progress import Progress, ProgressCallback
from .result import AuditResult, FlagResult

__all__ = [
    "LOSSES",
    "AuditConfig",
    "AuditResult",
    "ConfigError",
    "FlagResult",
    "Plan",
    "Progress",
    "ProgressCallback",
    "TrainingInterrupted",
    "audit",
    "load_for_audit",
]
