"""The CSV exports keep every digit of the model's numbers."""

import csv
import io

from tests.seeding import write_audit


def test_suspects_carry_the_confidence_and_score_at_full_precision(client, database, reviewer):
    samples = [
        {"confidence": 0.000012345678901, "score": 0.999987654321099, "flagged": True},
        {"confidence": 0.3333333333333333, "score": 0.6666666666666666, "flagged": True},
    ]
    audit_id = write_audit(database, samples)
    answer = client.get(f"/audits/{audit_id}/export.csv?kind=suspects", headers=reviewer)
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    exported = sorted((float(row["confidence"]), float(row["score"])) for row in rows)
    assert exported == sorted((s["confidence"], s["score"]) for s in samples)
