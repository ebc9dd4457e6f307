from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.seeding import DEFAULT_SUMMARY, write_audit

# The classes of the audits seed_audit writes.
SEEDED_CLASSES = ("bolt", "nut")


@pytest.fixture
def client(settings: Any, database: Any) -> Iterator[TestClient]:
    """The API on the test database and Redis (production mode, no local worker)."""
    from service.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin(make_key: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key('admin-alice', 'admin')}"}


@pytest.fixture
def reviewer(make_key: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key('reviewer-bob', 'reviewer')}"}


@pytest.fixture
def seed_audit(database: Any, settings: Any) -> Any:
    """``seed_audit(samples)``: a succeeded table audit with samples ``s0``, ``s1``, ... and
    its upload, as a worker leaves it (no worker needed); returns its id."""
    import uuid

    from service.storage import Storage

    def seed(samples: int = 12) -> uuid.UUID:
        audit_id = uuid.uuid4()
        upload = Storage(settings.data_dir).upload_path(audit_id, "csv")
        upload.parent.mkdir(parents=True)
        rows = "".join(f"s{row},{row},{SEEDED_CLASSES[row % 2]}\n" for row in range(samples))
        upload.write_text("id,f1,label\n" + rows)
        samples_written = [
            {
                "given_label": SEEDED_CLASSES[row % 2],
                "suggested_label": SEEDED_CLASSES[(row + 1) % 2],
                "confidence": row / samples,
                "score": 1 - row / samples,
                "flagged": row % 2 == 0,
            }
            for row in range(samples)
        ]
        summary = {
            **DEFAULT_SUMMARY,
            "samples": samples,
            "flagged": (samples + 1) // 2,
            "estimated_errors": {SEEDED_CLASSES[0]: 1},
            "thresholds": {SEEDED_CLASSES[0]: 0.5, SEEDED_CLASSES[1]: 0.5},
            "confusion": [{"given": SEEDED_CLASSES[0], "suggested": SEEDED_CLASSES[1], "count": 1}],
        }
        write_audit(
            database,
            samples_written,
            id=audit_id,
            config={"k": 0.5, "label_column": "label", "id_column": "id"},
            upload_size=upload.stat().st_size,
            class_names=list(SEEDED_CLASSES),
            summary=summary,
        )
        return audit_id

    return seed
