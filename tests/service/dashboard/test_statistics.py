"""`GET /audits/{id}/statistics`: the confidence histogram and the flagged samples' reviews,
counted by the database; and the feature values a table sample's card shows."""

import uuid


def test_histogram_counts_every_sample_in_its_bin(client, reviewer, finished_audit):
    response = client.get(f"/audits/{finished_audit}/statistics?bins=4", headers=reviewer)
    assert response.status_code == 200, response.text
    statistics = response.json()
    assert set(statistics["thresholds"].values()) == {0.5}
    # Confidences 0.05, 0.15, ..., 0.75; the first four are flagged.
    assert statistics["confidence_bins"] == [
        {"lower": 0.0, "upper": 0.25, "flagged": 2, "unflagged": 0},
        {"lower": 0.25, "upper": 0.5, "flagged": 2, "unflagged": 1},
        {"lower": 0.5, "upper": 0.75, "flagged": 0, "unflagged": 2},
        {"lower": 0.75, "upper": 1.0, "flagged": 0, "unflagged": 1},
    ]
    default = client.get(f"/audits/{finished_audit}/statistics", headers=reviewer).json()
    assert len(default["confidence_bins"]) == 20
    assert sum(b["flagged"] + b["unflagged"] for b in default["confidence_bins"]) == 8


def test_confidence_one_falls_in_the_last_bin(client, reviewer, finished_audit, database):
    from sqlalchemy import update

    from service.audits.models import Sample

    with database.session_scope() as session:
        session.execute(update(Sample).where(Sample.sample_id == "s7").values(confidence=1.0))
    bins = client.get(f"/audits/{finished_audit}/statistics?bins=4", headers=reviewer).json()
    assert bins["confidence_bins"][-1]["unflagged"] == 1


def test_flagged_reviews_count_decisions_and_pending(client, reviewer, finished_audit):
    items = [
        {"sample_id": "s0", "action": "accept"},
        {"sample_id": "s1", "action": "exclude"},
        {"sample_id": "s6", "action": "keep"},  # not flagged: not counted
    ]
    review = client.post(
        f"/audits/{finished_audit}/reviews", json={"items": items}, headers=reviewer
    )
    assert review.status_code == 200
    statistics = client.get(f"/audits/{finished_audit}/statistics", headers=reviewer).json()
    assert statistics["flagged_reviews"] == {"pending": 2, "accept": 1, "exclude": 1}


def test_statistics_need_a_key_and_a_finished_audit(client, reviewer, finished_audit, database):
    from service.audits.models import Audit

    assert client.get(f"/audits/{finished_audit}/statistics").status_code == 401
    bad = client.get(f"/audits/{finished_audit}/statistics?bins=1", headers=reviewer)
    assert bad.status_code == 422
    with database.session_scope() as session:
        session.get(Audit, uuid.UUID(finished_audit)).status = "running"
    running = client.get(f"/audits/{finished_audit}/statistics", headers=reviewer)
    assert running.status_code == 409


def test_table_samples_show_their_key_feature_values(client, reviewer, finished_audit):
    sample = client.get(f"/audits/{finished_audit}/samples/s2", headers=reviewer).json()
    assert sample["features"] == {"length_mm": 12.0, "mass_g": 2.5}
    assert sample["image_url"] is None
