"""An audit of the learned-flip fixture (tests/worker/engine/learned_flips.py) stored as a
worker stores one: the engine reads the recorded history, the worker turns the result into
an outcome, and the outcome is stored on a claimed audit."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from formats import Dataset
from formats.options import AuditConfig
from tests.seeding import write_audit
from tests.worker.engine.learned_flips import EPOCHS, LABELS, WINDOW, learned_flip_history

# Class 0's flips are Shirts labelled T-shirt.
CLASSES = ("T-shirt", "Shirt")


def store_learned_flip_audit(database: Any, data_dir: Path) -> uuid.UUID:
    """A succeeded audit of the fixture's 20 samples ``s0`` … ``s19``; ``s6`` … ``s9`` are the
    flips. Returns its id."""
    from service.audits import worker_attempts
    from service.storage import Storage
    from worker.engine.auditing import audit_recorded
    from worker.tasks import to_outcome

    dataset = Dataset(
        features=np.zeros((LABELS.size, 2), dtype=np.float32),
        labels=LABELS,
        class_names=CLASSES,
        sample_ids=np.array([f"s{row}" for row in range(LABELS.size)]),
        kind="table",
    )
    plan = AuditConfig(mode="combined", epochs=EPOCHS, window=WINDOW).plan(
        dataset.n_samples, is_image=False
    )
    result = audit_recorded(
        dataset, learned_flip_history(), plan, started=time.perf_counter(), device="cpu"
    )
    audit_id = write_audit(
        database,
        [],
        status="queued",
        config={"label_column": "label", "id_column": "id"},
        class_names=list(CLASSES),
    )
    with database.session_scope() as session:
        claim = worker_attempts.claim_audit(
            session, Storage(data_dir), audit_id, worker_host="test", lease_s=60
        )
        assert claim.job is not None
        assert worker_attempts.store_results(session, claim.job, to_outcome(result, None))
    return audit_id
