"""How much memory an audit's training buffers take, and the budget they must fit.

Training keeps, per view (two in ``combined`` and ``checked`` mode, one otherwise), each
sample's probability vector summed over the flag window, ``(n, c)`` float32, and its
given-label probability after every epoch, ``(epochs, n)``. What else it and flagging hold
at once is a few more ``(n, c)`` arrays: an epoch's predictions and the rows they add
(training), the views' average and the confident joint's masked copy (flagging). The
window's length does not count: the window is kept as a running sum, not epoch by epoch.
Flagging also holds a few ``(c, c)`` float64 tables (the confident joint, its copy, the
confusion counts), which matter at thousands of classes: 10,000 classes take 0.8 GB each.
Torch-free, so the API refuses an upload with the same rule the worker checks before it
allocates.
"""

from __future__ import annotations

from .errors import DatasetError
from .limits import GIB
from .plan import Plan

FLOAT_BYTES = 4
# (n, c) float32 arrays held besides the views' window sums, at most, at any one time.
WORKING_ARRAYS = 3
# (c, c) float64 tables flagging holds at once: the confident joint, a copy, the confusion.
CLASS_TABLES = 3
TABLE_BYTES = 8
BUDGET_SETTING = "LABELAUDIT_MAX_TRAINING_MEMORY_BYTES"


def training_memory_bytes(n_samples: int, n_classes: int, plan: Plan) -> int:
    """Bytes of the probabilities an audit of ``n_samples`` of ``n_classes`` with ``plan``
    records and reads, at their peak (:mod:`worker.engine.history`,
    :mod:`worker.engine.flagging`)."""
    per_sample = n_classes * (plan.views + WORKING_ARRAYS) + plan.views * plan.epochs
    class_tables = CLASS_TABLES * n_classes * n_classes * TABLE_BYTES
    return n_samples * per_sample * FLOAT_BYTES + class_tables


def check_training_memory(n_samples: int, n_classes: int, plan: Plan, *, budget: int) -> None:
    """Raise ``dataset_too_large_to_train`` when training would need more than ``budget``
    bytes of probabilities."""
    needed = training_memory_bytes(n_samples, n_classes, plan)
    if needed <= budget:
        return
    raise DatasetError(
        f"{n_samples:,} samples of {n_classes:,} classes need {needed / GIB:.1f} GiB of "
        "training memory (samples x classes x views of probabilities, and classes x classes "
        f"tables), over the {budget / GIB:.1f} GiB budget ({BUDGET_SETTING}); use fewer "
        "classes or samples, or raise the budget on workers with the memory",
        code="dataset_too_large_to_train",
        samples=n_samples,
        classes=n_classes,
        needed_bytes=needed,
        budget_bytes=budget,
        setting=BUDGET_SETTING,
    )
