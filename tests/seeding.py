"""Writing audits and samples straight to the database, as a worker leaves them, for tests
that need a finished audit without running one."""

import uuid
from typing import Any

DEFAULT_SUMMARY = {
    "samples": 0,
    "flagged": 0,
    "estimated_errors": {},
    "thresholds": {},
    "confusion": [],
    "seconds": 1.0,
    "device": "cpu",
}


def write_audit(database: Any, samples: list[dict[str, Any]], **fields: Any) -> uuid.UUID:
    """Insert a succeeded table audit (``fields`` override its columns) and one sample per
    dict of ``samples`` (each overrides the defaults: ``s<row>``, bolt → nut, not flagged)."""
    from service.audits.models import Audit, Sample

    audit_id = fields.pop("id", None) or uuid.uuid4()
    columns = {
        "name": "seeded",
        "status": "succeeded",
        "config": {},
        "upload_filename": "seeded.csv",
        "upload_kind": "csv",
        "upload_size": 1,
        "dataset_kind": "table",
        "class_names": ["bolt", "nut"],
        "created_by": "test",
        "summary": {**DEFAULT_SUMMARY, "samples": len(samples)},
        **fields,
    }
    with database.session_scope() as session:
        session.add(Audit(id=audit_id, **columns))
        session.flush()
        for row, sample in enumerate(samples):
            values = {
                "row_index": row,
                "sample_id": f"s{row}",
                "given_label": "bolt",
                "suggested_label": "nut",
                "confidence": 0.1,
                "score": 0.8,
                "flagged": False,
                **sample,
            }
            session.add(Sample(audit_id=audit_id, **values))
    return audit_id
