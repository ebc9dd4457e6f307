import uuid

import pytest


@pytest.fixture
def finished_audit(database):
    """A succeeded table audit written as a worker would: eight samples with confidences
    0.05, 0.15, ... 0.75 (the first four flagged, k = 0.5) and two feature values each."""
    from service.audits.models import Audit, Sample

    audit_id = uuid.uuid4()
    with database.session_scope() as session:
        session.add(
            Audit(
                id=audit_id,
                name="Bolts <batch 7>",
                status="succeeded",
                config={"k": 0.5, "loss": "tgce", "epochs": 8},
                upload_filename="bolts.csv",
                upload_kind="csv",
                upload_size=100,
                dataset_kind="table",
                class_names=["bolt", "nut"],
                created_by="admin-alice",
                summary={
                    "samples": 8,
                    "flagged": 4,
                    "estimated_errors": {"bolt": 3, "nut": 1},
                    "confusion": [{"given": "bolt", "suggested": "nut", "count": 4}],
                    "seconds": 2.0,
                    "device": "cpu",
                    "feature_names": ["length_mm", "mass_g"],
                },
            )
        )
        session.flush()
        for row in range(8):
            session.add(
                Sample(
                    audit_id=audit_id,
                    row_index=row,
                    sample_id=f"s{row}",
                    given_label="bolt",
                    suggested_label="nut",
                    confidence=0.05 + 0.1 * row,
                    score=0.95 - 0.1 * row,
                    flagged=row < 4,
                    features=[10.0 + row, 2.5],
                )
            )
    return str(audit_id)
