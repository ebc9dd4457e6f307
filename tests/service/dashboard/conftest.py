import pytest

from tests.seeding import DEFAULT_SUMMARY, write_audit


@pytest.fixture
def finished_audit(database):
    """A succeeded table audit written as a worker would: eight samples with confidences
    0.05, 0.15, ... 0.75 (the first four flagged, k = 0.5) and two feature values each."""
    samples = [
        {
            "confidence": 0.05 + 0.1 * row,
            "score": 0.95 - 0.1 * row,
            "flagged": row < 4,
            "features": [10.0 + row, 2.5],
        }
        for row in range(8)
    ]
    summary = {
        **DEFAULT_SUMMARY,
        "samples": 8,
        "flagged": 4,
        "estimated_errors": {"bolt": 3, "nut": 1},
        "thresholds": {"bolt": 0.5, "nut": 0.5},
        "confusion": [{"given": "bolt", "suggested": "nut", "count": 4}],
        "seconds": 2.0,
        "feature_names": ["length_mm", "mass_g"],
    }
    audit_id = write_audit(
        database,
        samples,
        name="Bolts <batch 7>",
        config={"k": 0.5, "loss": "tgce", "epochs": 8},
        upload_filename="bolts.csv",
        upload_size=100,
        created_by="admin-alice",
        summary=summary,
    )
    return str(audit_id)
